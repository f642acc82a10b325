// giaoban live room: the electronic voting panel ("biểu quyết").
//
//   import { mountVotes } from "/static/js/room-votes.js";
//   const panel = mountVotes(room.socket, document.getElementById("vote-panel"), joinAck.state);
//   room.addEventListener("rejoined", () => panel.refresh());
//
// `socket` is the room's Socket.IO connection on /room (already joined), `state` the
// room state of the join acknowledgement (meeting.chair_id, you.user_id, participants,
// current_item; optional `strings` to translate). Events (docs/protocol-room.md, "Votes"):
// open_vote, cast_ballot, close_vote, vote_counts, votes; pushed: vote_opened,
// vote_counts (chair), vote_result (everyone).
// The chair opens a vote (default options or custom; named or secret; per person or per
// endpoint), watches the live count and closes it. Participants get vote buttons.
// Results are shown to all. Text from users is always inserted as text, never as HTML.

const DEFAULTS = {
  title: "Biểu quyết",
  question: "Nội dung biểu quyết",
  options: "Phương án",
  defaultOptions: "Tán thành / Không tán thành / Không ý kiến",
  customOptions: "Phương án khác (mỗi dòng một phương án)",
  secret: "Bỏ phiếu kín",
  perEndpoint: "Mỗi điểm cầu một phiếu",
  open: "Mở biểu quyết",
  close: "Kết thúc biểu quyết",
  voted: "Bạn đã biểu quyết.",
  votedEndpoint: "Điểm cầu đã biểu quyết.",
  endpointOnly: "Biểu quyết theo điểm cầu: cán bộ kỹ thuật điểm cầu biểu quyết thay điểm cầu.",
  cast: "đã biểu quyết",
  of: "trên",
  result: "Kết quả",
  secretTag: "kín",
  namedTag: "công khai",
  none: "Chưa có biểu quyết nào.",
  error: "Lỗi",
  base: "Tỷ lệ tính trên",
  basePresent: "Thành viên có mặt",
  baseAll: "Tổng số thành viên",
  rule: "Thông qua khi",
  ruleMajority: "Quá nửa tán thành",
  ruleTwoThirds: "Từ 2/3 tán thành",
};

function injectStyle() {
  // a stylesheet file, not a <style> element: the Content-Security-Policy allows no inline style
  if (document.getElementById("room-votes-style")) return;
  const link = document.createElement("link");
  link.id = "room-votes-style";
  link.rel = "stylesheet";
  link.href = new URL("../css/votes.css", import.meta.url).href;
  document.head.append(link);
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined && v !== false) node.setAttribute(k, v === true ? "" : v);
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function ask(socket, event, data) {
  return new Promise((resolve) => {
    let done = false;
    const timer = setTimeout(() => { if (!done) { done = true; resolve({ ok: false, error: "timeout", message: "Hết thời gian chờ" }); } }, 10000);
    socket.emit(event, data ?? {}, (ack) => { if (!done) { done = true; clearTimeout(timer); resolve(ack || { ok: false }); } });
  });
}

/** Bars of a count per option; `voters` lists (named votes) under each option. */
function bars(labels, counts, voters) {
  const total = counts.reduce((a, b) => a + b, 0) || 1;
  const list = el("ul", { class: "vote-bars" });
  labels.forEach((label, i) => {
    const n = counts[i] || 0;
    const li = el("li", { "data-option": String(i) },
      el("span", { class: "vote-label" }, label), " ",
      el("meter", { min: "0", max: String(total), value: String(n) }), " ",
      el("strong", { class: "vote-count" }, String(n)));
    if (voters && voters[i] && voters[i].length) li.append(el("div", { class: "vote-voters" }, voters[i].join(", ")));
    list.append(li);
  });
  return list;
}

export class VotePanel {
  constructor(socket, container, state) {
    this.socket = socket;
    this.container = container;
    this.S = { ...DEFAULTS, ...(state && state.strings) };
    this.votes = new Map();
    this.loaded = false;
    this.update(state);
    this.handlers = {
      vote_opened: (msg) => { this.votes.set(msg.vote.id, { ...msg.vote, voted: false }); this.render(); },
      vote_counts: (c) => { const v = this.votes.get(c.vote_id); if (v) { v.live = c; this.render(); } },
      vote_result: (r) => { const v = this.votes.get(r.id) || { id: r.id, question: r.question, options: r.options.map((o) => o.label) }; v.status = "closed"; v.result = r; this.votes.set(r.id, v); this.render(); },
      state: () => { if (!this.loaded) this.refresh(); },
    };
    for (const [event, fn] of Object.entries(this.handlers)) socket.on(event, fn);
    this.refresh();
  }

  update(state) {
    if (!state) return;
    this.state = state;
    const you = state.you || {};
    this.userId = you.user_id;
    this.isChair = Boolean(state.meeting && you.user_id && state.meeting.chair_id === you.user_id);
    const me = (state.participants || []).find((p) => p.user_id === you.user_id);
    this.endpointId = me ? me.endpoint_id : null;
    this.currentItem = state.current_item ? state.current_item.id : null;
  }

  async refresh() {
    const ack = await ask(this.socket, "votes");
    if (!ack.ok) return;
    this.loaded = true;
    this.votes = new Map(ack.votes.map((v) => [v.id, v]));
    this.render();
  }

  destroy() {
    for (const [event, fn] of Object.entries(this.handlers)) this.socket.off(event, fn);
    this.container.replaceChildren();
  }

  message(text, cls = "error") {
    this.lastMessage = { text: text || "", cls };
    const box = this.container.querySelector(".vote-message");
    if (box) { box.textContent = text || ""; box.className = `vote-message ${cls}`; }
  }

  openForm() {
    const S = this.S;
    const form = el("form", { class: "vote-open" });
    const question = el("textarea", { name: "question", rows: "2", required: true, maxlength: "1000", "aria-label": S.question, placeholder: S.question });
    const custom = el("textarea", { name: "options", rows: "3", placeholder: S.customOptions, "aria-label": S.customOptions });
    const secret = el("input", { type: "checkbox", name: "secret" });
    const perEndpoint = el("input", { type: "checkbox", name: "per_endpoint" });
    // the base of the percentages and the rule that decides the outcome (issue 13)
    const base = el("select", { name: "base", "aria-label": S.base },
      el("option", { value: "present" }, S.basePresent), el("option", { value: "all" }, S.baseAll));
    const rule = el("select", { name: "rule", "aria-label": S.rule },
      el("option", { value: "majority" }, S.ruleMajority), el("option", { value: "two_thirds" }, S.ruleTwoThirds));
    form.append(question,
      el("div", { class: "muted" }, `${S.options}: ${S.defaultOptions}`), custom,
      el("label", {}, secret, " ", S.secret), " ",
      el("label", {}, perEndpoint, " ", S.perEndpoint), " ",
      el("label", {}, `${S.base} `, base), " ", el("label", {}, `${S.rule} `, rule), " ",
      el("button", { type: "submit" }, S.open));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const options = custom.value.split("\n").map((s) => s.trim()).filter(Boolean);
      const payload = { question: question.value, secret: secret.checked, per_endpoint: perEndpoint.checked,
                        base: base.value, rule: rule.value };
      if (options.length) payload.options = options;
      if (this.currentItem) payload.agenda_item_id = this.currentItem;
      const ack = await ask(this.socket, "open_vote", payload);
      if (!ack.ok) { this.message(Object.values(ack.fields || {}).join(" ") || ack.message || S.error); return; }
      form.reset();
      this.votes.set(ack.vote.id, { ...ack.vote, voted: false });
      this.render();
    });
    return form;
  }

  openVote(v) {
    const S = this.S;
    const box = el("div", { class: "vote open", "data-vote": String(v.id) },
      el("div", { class: "vote-question" }, v.question, " ",
        el("small", { class: "muted" }, `(${v.secret ? S.secretTag : S.namedTag})`)));
    if (this.isChair) {
      const live = v.live || { counts: v.options.map(() => 0), cast: 0, eligible: v.eligible };
      box.append(bars(v.options, live.counts),
        el("div", { class: "vote-tally" }, `${live.cast} ${S.cast}${live.eligible ? ` ${S.of} ${live.eligible}` : ""}`));
      const close = el("button", { type: "button", class: "vote-close" }, S.close);
      close.addEventListener("click", async () => {
        const ack = await ask(this.socket, "close_vote", { vote_id: v.id });
        if (!ack.ok) this.message(ack.message || S.error);
      });
      box.append(close);
    }
    if (v.voted) {
      box.append(el("div", { class: "ok" }, v.per_endpoint ? S.votedEndpoint : S.voted));
    } else if (v.per_endpoint && !this.endpointId) {
      box.append(el("div", { class: "muted" }, S.endpointOnly));
    } else {
      const row = el("div", { class: "vote-buttons" });
      v.options.forEach((label, i) => {
        const b = el("button", { type: "button", class: "vote-option", "data-option": String(i) }, label);
        b.addEventListener("click", async () => {
          for (const x of row.querySelectorAll("button")) x.disabled = true;
          const ack = await ask(this.socket, "cast_ballot", { vote_id: v.id, option: i });
          if (ack.ok) { v.voted = true; this.render(); return; }
          this.message(ack.message || S.error);
          if (ack.error === "conflict") { this.refresh(); return; } // voted already, or closed
          for (const x of row.querySelectorAll("button")) x.disabled = false;
        });
        row.append(b, " ");
      });
      box.append(row);
    }
    return box;
  }

  closedVote(v) {
    const S = this.S;
    const r = v.result;
    const box = el("div", { class: "vote closed", "data-vote": String(v.id) },
      el("div", { class: "vote-question" }, `${S.result}: ${v.question}`));
    if (r) {
      box.append(bars(r.options.map((o) => o.label), r.options.map((o) => o.count), r.secret ? null : r.options.map((o) => o.voters)),
        el("div", { class: "vote-tally" }, `${r.cast} ${S.cast}${r.eligible ? ` ${S.of} ${r.eligible}` : ""}`));
      // the outcome as the minutes state it: "… Nội dung được thông qua." / "… không được …"
      if (r.outcome) box.append(el("div", { class: `vote-outcome ${r.passed ? "ok" : "error"}` }, r.outcome));
    }
    return box;
  }

  render() {
    const S = this.S;
    const note = this.lastMessage || { text: "", cls: "" };
    const root = el("div", { class: "vote-panel" }, el("h3", {}, S.title),
      el("div", { class: `vote-message ${note.cls}`, role: "status" }, note.text));
    if (this.isChair) root.append(this.openForm());
    const all = [...this.votes.values()].sort((a, b) => b.id - a.id);
    for (const v of all.filter((x) => x.status === "open")) root.append(this.openVote(v));
    for (const v of all.filter((x) => x.status === "closed")) root.append(this.closedVote(v));
    if (!all.length) root.append(el("p", { class: "muted" }, S.none));
    // keep what the chair is typing in the open form across re-renders
    const typing = this.container.querySelector("form.vote-open");
    if (typing && this.isChair) root.querySelector("form.vote-open").replaceWith(typing);
    this.container.replaceChildren(root);
  }
}

export function mountVotes(socket, container, state) {
  if (!container) return null;
  injectStyle();
  return new VotePanel(socket, container, state);
}
