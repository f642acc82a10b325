// The chair puts the console's gallery page on the hall screens ("Lên màn hình", key G):
// the /room `show_gallery` event with the page's people; while it is on, paging the console
// (or people coming and going on the page) sends the new page. The hall screens show it
// (hall-screen.js) until the chair takes it off.

const room = window.__room;
const button = document.getElementById("g-show");

if (room && button) {
  const { client, ui } = room;
  let sending = false;

  const current = () => (client.state ? client.state.screen : null);
  const pageIds = () => (ui.console ? ui.console.pageIds.filter((id) => id !== null && id !== undefined) : []);
  const pages = () => {
    const n = client.state ? client.state.participants.length : 0;
    return Math.max(1, Math.ceil(n / 16));
  };

  async function send(on) {
    if (sending) return;
    sending = true;
    try {
      const ids = pageIds();
      const payload = on && ids.length ? { user_ids: ids, page: (ui.console.page || 0) + 1, pages: pages() } : { stop: true };
      const ack = await client.request("show_gallery", payload);
      if (ack && !ack.ok) {
        const box = document.getElementById("notice");
        box.textContent = ack.message || ack.error;
        box.classList.add("error");
        box.hidden = false;
      }
    } finally {
      sending = false;
    }
  }

  function sync() {
    const screen = current();
    button.setAttribute("aria-pressed", screen ? "true" : "false");
    if (!screen || sending) return;
    const ids = pageIds();
    const same = ids.length === screen.user_ids.length && ids.every((id, i) => id === screen.user_ids[i]);
    if (!same) send(ids.length > 0);
  }

  button.addEventListener("click", () => send(!current()));
  client.addEventListener("state", () => setTimeout(sync, 0)); // after the console has drawn
  for (const id of ["g-prev", "g-next"]) document.getElementById(id)?.addEventListener("click", () => setTimeout(sync, 0));
}
