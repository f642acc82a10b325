"""A meeting published by headless Chromium (fake camera and microphone, through the real
app and giaoban-media.js) and recorded by a real node: the hall and speaker slots hold what
the meeting saw: the hall audio-only when recording starts and again at the end, floor
turns to an endpoint with video and to one whose camera comes on late, the hall's main layer
stopping while its small layer goes on; the program shows a name card where a slot has
sound but no picture. Completeness figures go to test-artifacts/recording-completeness.json
(docs/performance.md).
"""

from __future__ import annotations

import asyncio
import bisect
import dataclasses
import json
import time
from collections import defaultdict
from pathlib import Path

import pytest
from chromium_kit import PUBLISH_JS, SlotMedia, picture_stats, program_pictures, read_slots
from media_testkit import node_config, run, serve, wait_for

from core.recording_manifest import list_sessions
from media.control import ControlLink
from meetings.models import User
from meetings.recording import service
from meetings.recording.card import name_card
from meetings.recording.program import ProgramSettings
from meetings.recording.store import RecordingStore
from tests.browser import CHROMIUM_ARGS, LOGIN_JS
from web.media_link.state import STATE
from web.media_link.store import MemoryStore

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

SETTINGS = ProgramSettings(width=320, height=240, fps=10, part_seconds=10.0, preset="ultrafast")
# What the recording must carry is measured against what the node received from each
# publisher (a sink on its sources), not against the clock: a loaded machine makes
# Chromium send fewer frames, and that is not the recorder's doing.
# After a change (recording start, video on, layer switch, floor turn) the slot may wait
# this long for its first picture: the recorder asks for a key frame at once and again
# every second while it waits (RecorderInput); the node waits 1 s before feeding a slot
# from the small layer; Chromium answers a PLI with its next frame. A few retries' worth.
SETTLE = 3.0
# A received frame counts as recorded when the recording has a frame this close to it
# (the recorder's clock follows RTP timestamps from the first frame's arrival).
FRAME_GAP = 0.5
AUDIO_GAP = 0.25


@pytest.fixture(autouse=True)
def fresh_store() -> None:
    STATE.memory = MemoryStore()


class Timeline:
    def __init__(self) -> None:
        self.marks: dict[str, float] = {}

    def mark(self, name: str) -> None:
        self.marks[name] = time.time()

    def __getitem__(self, name: str) -> float:
        return self.marks[name]


class SentLog:
    """Wall-clock arrival of every frame the node received, per (participant, kind): a sink
    added to the sources' sink sets directly (no key frame request, nothing changed)."""

    def __init__(self) -> None:
        self.times: dict[tuple[str, str], list[float]] = defaultdict(list)

    def watch(self, participant) -> None:
        for source in (participant.video, getattr(participant, "video_small", None), participant.audio):
            if source is not None:
                source.sinks.add(_Tap(self.times[(participant.id, source.kind)]))


class _Tap:
    def __init__(self, times: list[float]) -> None:
        self.times = times

    def push(self, frame) -> None:
        self.times.append(time.time())


def carried(recorded: list[float], sent: list[float], a: float, b: float, gap: float) -> float:
    """Share of the frames received in [a, b] with a recorded frame within ``gap``."""
    wanted = [t for t in sent if a <= t <= b]
    if not wanted:
        return 1.0
    hits = 0
    for t in wanted:
        i = bisect.bisect_left(recorded, t - gap)
        hits += i < len(recorded) and recorded[i] <= t + gap
    return hits / len(wanted)


async def _page(browser, url: str, username: str, password: str):
    context = await browser.new_context(bypass_csp=True)  # the CSP has its own test
    page = await context.new_page()
    await page.goto(url + "/api/v1/auth/csrf")
    assert await page.evaluate(LOGIN_JS, [username, password]) == 200
    return page


async def _meeting(app, demo, url: str, tl: Timeline, sent: SentLog) -> dict:
    from playwright.async_api import async_playwright

    config = dataclasses.replace(node_config(web_url=url), secret=app.config["MEDIA_SECRET"])
    link = ControlLink(config)  # its recorder as in production, configured by the environment
    await link.connect(attempts=1)
    mid = demo.meeting_id
    room = str(mid)
    info: dict = {}
    pw = await async_playwright().start()
    browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
    try:
        chair = await _page(browser, url, "chutri", demo.password)
        ep_a = await _page(browser, url, "kythuat.01", demo.password)
        ep_b = await _page(browser, url, "kythuat.02", demo.password)
        node = link.node
        info["chair"] = await chair.evaluate(PUBLISH_JS, [mid, True, None])
        info["a"] = await ep_a.evaluate(PUBLISH_JS, [mid, True, demo["endpoint:dc-xa-01"]])
        # endpoint B joins with its camera off (audio-only from the start)
        info["b"] = await ep_b.evaluate(PUBLISH_JS, [mid, False, demo["endpoint:dc-xa-02"]])
        for key in ("chair", "a", "b"):
            assert "peerId" in info[key], info[key]
        ids = {"chair": str(demo["chutri"]), "a": str(demo["kythuat.01"]),
               "b": str(demo["kythuat.02"])}
        info["ids"] = ids

        def sending(who: str) -> bool:
            p = node.rooms[room].participants.get(ids[who])
            return p is not None and p.video is not None and p.video.frames > 20

        await wait_for(lambda: room in node.rooms and sending("chair") and sending("a")
                       and node.rooms[room].participants.get(ids["b"]) is not None, timeout=30)
        for who in ids.values():
            sent.watch(node.rooms[room].participants[who])

        async def step(name: str, page, js: str, then: float) -> dict | int | None:
            tl.mark(name)
            result = await page.evaluate(js)
            tl.mark(name + "_done")
            if isinstance(result, dict):
                assert result.get("ok", True), (name, result)
            await asyncio.sleep(then)
            return result

        # the hall falls back to audio-only before the recording starts (a weak link)
        await step("hall_off", chair, "window.__setVideo(false)", 1)
        ack = await step("start", chair, "window.__room('set_recording', {on: true})", 0)
        assert ack["media"] == "ok", ack
        await wait_for(lambda: room in node.recorders, timeout=10)
        await asyncio.sleep(5)
        await step("hall_on", chair, "window.__setVideo(true)", 4)
        # floor to A (video), then to B (audio-only), whose camera comes on later
        ack = await step("floor_a", chair, f"window.__room('give_floor', {{user_id: {ids['a']}}})", 4)
        assert ack["media"] == "ok", ack
        await step("floor_b", chair, f"window.__room('give_floor', {{user_id: {ids['b']}}})", 4)
        await step("b_on", ep_b, "window.__setVideo(true)", 5)
        await step("floor_end", chair, "window.__room('take_floor', {})", 2)
        # the hall's main layer stops while its small layer goes on (contract item 7)
        if info["chair"]["senders"] >= 2:
            await step("main_off", chair, "window.__setMain(false)", 5)
            await step("main_on", chair, "window.__setMain(true)", 3)
        # the hall goes audio-only again, for longer than a segment
        await step("hall_off2", chair, "window.__setVideo(false)", 8)
        await step("stop", chair, "window.__room('set_recording', {on: false})", 0)
        await wait_for(lambda: room not in node.recorders, timeout=30)
    finally:
        await browser.close()
        await pw.stop()
        await link.close()
    return info


def _no_video(name: str, slot: SlotMedia, a: float, b: float) -> None:
    # the last frames before a switch may still be arriving: half a second of slack
    inside = [t for t in slot.video if a + 0.5 < t < b]
    assert not inside, f"{name}: {len(inside)} pictures while no video was sent"


class Check:
    """The recording against what the node received, per slot and stretch of time."""

    def __init__(self, tl: Timeline, sent: SentLog, slots: dict[str, SlotMedia], ids: dict) -> None:
        self.tl, self.sent, self.slots, self.ids = tl, sent, slots, ids
        self.changes = sorted(v for k, v in tl.marks.items() if not k.endswith("_done"))

    def settled(self, times: list[float]) -> list[float]:
        """Received frames not within SETTLE after a change of the meeting."""
        out = []
        for t in times:
            i = bisect.bisect_right(self.changes, t) - 1
            if i < 0 or t - self.changes[i] > SETTLE:
                out.append(t)
        return out

    def share(self, slot: str, kind: str, who: str, a: float, b: float, settle: bool = True) -> float:
        sent = self.sent.times[(self.ids[who], kind)]
        sent = self.settled(sent) if settle else sent
        media = self.slots[slot]
        recorded = media.video if kind == "video" else media.audio
        return carried(recorded, sent, a, b, FRAME_GAP if kind == "video" else AUDIO_GAP)

    def first_picture(self, slot: str, who: str, after: float) -> float | None:
        """Seconds from the first video frame the node received after ``after`` to the
        first one of the slot's recording after it."""
        sent = [t for t in self.sent.times[(self.ids[who], "video")] if t >= after]
        recorded = [t for t in self.slots[slot].video if t >= after]
        return round(recorded[0] - sent[0], 3) if sent and recorded else None


def _source_lines(journal) -> list[dict]:
    lines = [json.loads(line) for line in (journal.directory / "journal.jsonl").read_text().splitlines()]
    return [rec for rec in lines if rec.get("e") == "source"]


def _switched_at(journal, slot: str, participant: str) -> float:
    """When the node bound the recorder's slot to the participant's video (wall clock)."""
    return next(journal.wall + rec["t"] for rec in _source_lines(journal)
                if rec["slot"] == slot and rec["kind"] == "video" and rec["participant"] == participant)


def _switch_delays(journal, speaker: SlotMedia) -> list[float]:
    """Seconds from each switch of the speaker slot to a participant (the node rebinding
    the recorder) to the first recorded picture of that participant."""
    out = []
    for rec in _source_lines(journal):
        if rec["slot"] == "speaker" and rec["kind"] == "video" and rec["participant"]:
            t = journal.wall + rec["t"]
            later = [x for x in speaker.by_participant.get(rec["participant"], []) if x >= t]
            if later:
                out.append(round(later[0] - t, 3))
    return out


def _figures(check: Check, tl: Timeline, info: dict, journal) -> dict:
    """Recording completeness of this run (docs/performance.md)."""
    hall, speaker = check.slots["hall"], check.slots["speaker"]
    start, stop = journal.wall, tl["stop"]  # from the node's start of the recorder
    floor = (_switched_at(journal, "speaker", info["ids"]["a"]), tl["floor_end"])
    figures = {
        "recorded_seconds": round(stop - start, 1),
        "hall_in_segments": round(hall.segment_seconds(start, stop) / (stop - start), 3),
        "speaker_in_segments_while_floor_held": round(
            speaker.segment_seconds(*floor) / (floor[1] - floor[0]), 3),
        "hall_audio_frames_recorded": round(check.share("hall", "audio", "chair", start, stop, False), 3),
        "hall_video_frames_recorded": round(check.share("hall", "video", "chair", start, stop, False), 3),
        "speaker_audio_frames_recorded": round(
            (check.share("speaker", "audio", "a", floor[0], tl["floor_b"], False)
             + check.share("speaker", "audio", "b", tl["floor_b_done"], floor[1], False)) / 2, 3),
        "speaker_video_frames_recorded": round(
            (check.share("speaker", "video", "a", floor[0], tl["floor_b"], False)
             + check.share("speaker", "video", "b", tl["floor_b_done"], floor[1], False)) / 2, 3),
        "first_picture_s": {
            "hall_video_back": check.first_picture("hall", "chair", tl["hall_on"]),
            "speaker_a_floor": check.first_picture("speaker", "a", tl["floor_a_done"]),
            "speaker_b_camera_on": check.first_picture("speaker", "b", tl["b_on"]),
            "speaker_switch_to_a": _switch_delays(journal, speaker)[:1],
        },
        "publish_layers": {k: info[k].get("layers") for k in ("chair", "a", "b")},
    }
    if "main_off" in tl.marks:
        figures["small_layer_segment_after_main_off_s"] = next(
            (round(s[0] - tl["main_off_done"], 3) for s in hall.sizes
             if s[0] > tl["main_off"] and s[1] < 640), None)
    return figures


@pytest.mark.slow
def test_chromium_meeting_is_recorded_whole(app, demo, login, db_session, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIAOBAN_RECORDINGS_DIR", str(tmp_path))
    monkeypatch.setenv("GIAOBAN_RECORDING_SEGMENT_SECONDS", "5")
    monkeypatch.setenv("GIAOBAN_RECORDING_MIN_FREE_MB", "0")
    chair_api = login("chutri")
    resp = chair_api.post(f"/api/v1/meetings/{demo.meeting_id}/status", json={"status": "live"})
    assert resp.status_code == 200, resp.get_json()
    app.config["RECORDINGS_DIR"] = str(tmp_path)
    tl, sent = Timeline(), SentLog()
    with serve(app) as url:
        info = run(_meeting(app, demo, url, tl, sent), timeout=240)
    sessions = list_sessions(tmp_path, str(demo.meeting_id))
    assert len(sessions) == 1
    journal = sessions[0]
    slots = read_slots(journal)
    assert {"hall", "speaker"} <= set(slots), (list(slots), info)
    hall, speaker = slots["hall"], slots["speaker"]
    ids = info["ids"]
    check = Check(tl, sent, slots, ids)
    figures = _figures(check, tl, info, journal)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "recording-completeness.json").write_text(json.dumps(figures, indent=1))
    start, stop = tl["start_done"], tl["stop"]

    # the hall: in segments the whole time, its audio throughout, its video wherever sent
    assert hall.segment_seconds(start + 1.0, stop) >= 0.95 * (stop - start - 1.0), hall.segments
    assert {p for _, _, p in hall.segments} == {ids["chair"]}
    assert check.share("hall", "audio", "chair", start + 1.0, stop) >= 0.95, figures
    assert check.share("hall", "video", "chair", start, stop) >= 0.9, figures
    assert len([t for t in sent.times[(ids["chair"], "video")] if tl["hall_on"] < t < tl["hall_off2"]]) > 50
    _no_video("hall", hall, start, tl["hall_on"])
    _no_video("hall", hall, tl["hall_off2_done"], stop)
    if "main_off" in tl.marks:  # the small layer stood in for the stopped main layer
        sizes = [s for s in hall.sizes if tl["main_off"] < s[0] < tl["main_on"]]
        assert sizes and all(w < 640 for _, w, _ in sizes), (tl["main_off"], hall.sizes)

    # the speaker: A with video, then B audio-only, then B with video
    floor = (_switched_at(journal, "speaker", ids["a"]) + 0.5, tl["floor_end"])
    assert speaker.segment_seconds(*floor) >= 0.95 * (floor[1] - floor[0]), speaker.segments
    for who, a, b in (("a", tl["floor_a_done"], tl["floor_b"]), ("b", tl["floor_b_done"], tl["floor_end"])):
        assert check.share("speaker", "audio", who, a, b) >= 0.95, (who, figures)
        assert check.share("speaker", "video", who, a, b) >= 0.9, (who, figures)
    _no_video("speaker", speaker, _switched_at(journal, "speaker", ids["b"]), tl["b_on"])
    assert [s for s in speaker.segments if s[2] == ids["b"] and s[0] < tl["b_on"]], speaker.segments
    assert [t for t in sent.times[(ids["b"], "video")] if t > tl["b_on"]], "B sent no video"

    # the program: name cards where a slot had sound but no picture
    recording = service.build(db_session, RecordingStore(tmp_path), demo.meeting_id, SETTINGS,
                              settle_seconds=0)
    assert recording is not None and recording.program_file
    program = RecordingStore(tmp_path).program_path(demo.meeting_id)
    pictures = program_pictures(program)
    origin = journal.wall

    def at(t_wall: float) -> dict[str, float]:
        t = t_wall - origin
        frame = min(pictures, key=lambda p: abs(p[0] - t))[1]
        return picture_stats(frame)

    def luma_difference(t_wall: float, who: str) -> float:
        """Mean luma difference from ``who``'s name card, over the top half (clear of the
        hall's inset in the bottom-right corner)."""
        user = db_session.get(User, int(ids[who]))
        card = name_card(user.full_name, user.unit.name if user.unit else "", SETTINGS.width,
                         SETTINGS.height).reformat(format="gray")
        frame = min(pictures, key=lambda p: abs(p[0] - (t_wall - origin)))[1].reformat(format="gray")
        a, b = bytes(card.planes[0]), bytes(frame.planes[0])
        half = card.planes[0].line_size * card.height // 2
        return sum(abs(x - y) for x, y in zip(a[:half:5], b[:half:5], strict=True)) / len(a[:half:5])

    assert luma_difference((start + tl["hall_on"]) / 2, "chair") < 8
    assert luma_difference(tl["hall_off2_done"] + 4.0, "chair") < 8
    assert luma_difference(tl["floor_b_done"] + 2.5, "b") < 8
    assert luma_difference(tl["floor_b_done"] + 2.5, "chair") > 8  # B's card, not the chair's
    camera = at(tl["hall_on"] + SETTLE + 0.5)
    for moment in ((start + tl["hall_on"]) / 2, tl["hall_off2_done"] + 4.0, tl["floor_b_done"] + 2.5):
        card = at(moment)
        assert card["mean"] > 25, (moment - origin, card)  # not black
        assert 0.005 < card["bright"] < 0.3, (moment - origin, card)  # light text on a card
        assert abs(card["mean"] - camera["mean"]) > 3 or abs(card["bright"] - camera["bright"]) > 0.02
