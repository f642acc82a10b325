"""A meeting published by headless Chromium (fake camera and microphone, through the real
app and giaoban-media.js) and recorded by a real node: the hall and speaker slots hold what
the meeting saw, through an audio-only period of the hall, a floor turn and a speaker whose
camera comes on late; the program shows a name card where a slot has sound but no picture.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path

import pytest
from chromium_kit import PUBLISH_JS, SlotMedia, picture_stats, program_pictures, read_slots
from media_testkit import node_config, run, serve, wait_for

from media.control import ControlLink
from media.recording.manifest import list_sessions
from meetings.models import User
from meetings.recording import service
from meetings.recording.program import ProgramSettings
from meetings.recording.store import RecordingStore
from tests.browser import CHROMIUM_ARGS, LOGIN_JS
from web.media_link.state import STATE
from web.media_link.store import MemoryStore

pytestmark = pytest.mark.browser

SETTINGS = ProgramSettings(width=320, height=240, fps=10, part_seconds=10.0, preset="ultrafast")
# How long after a source starts sending video its first picture may reach the recording:
# the recorder asks the publisher for a key frame at once and again every second while it
# waits (RecorderInput); Chromium answers a PLI with its next frame (~50 ms at 20 fps).
# Generous on a loaded 2-core machine: a few retries.
PICTURE_DELAY = 3.0
# A video frame "covers" the moment until this long after it (Chromium's fake camera
# sends ~20 fps; a loaded machine delays and bunches frames).
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


async def _page(browser, url: str, username: str, password: str):
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(url + "/api/v1/auth/csrf")
    assert await page.evaluate(LOGIN_JS, [username, password]) == 200
    return page


async def _meeting(app, demo, url: str, tl: Timeline) -> dict[str, object]:
    from playwright.async_api import async_playwright

    config = dataclasses.replace(node_config(web_url=url), secret=app.config["MEDIA_SECRET"])
    link = ControlLink(config)  # its recorder as in production, configured by the environment
    await link.connect(attempts=1)
    mid = demo.meeting_id
    room = str(mid)
    info: dict[str, object] = {}
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
            assert "peerId" in info[key], info[key]  # type: ignore[operator]
        ids = {"chair": str(demo["chutri"]), "a": str(demo["kythuat.01"]),
               "b": str(demo["kythuat.02"])}

        def sending(who: str) -> bool:
            p = node.rooms[room].participants.get(ids[who])
            return p is not None and p.video is not None and p.video.frames > 20

        await wait_for(lambda: room in node.rooms and sending("chair") and sending("a"),
                       timeout=30)
        # the hall falls back to audio-only before the recording starts (a weak link)
        tl.mark("hall_off")
        await chair.evaluate("window.__setVideo(false)")
        await asyncio.sleep(1)
        ack = await chair.evaluate("window.__room('set_recording', {on: true})")
        assert ack["ok"] and ack["media"] == "ok", ack
        await wait_for(lambda: room in node.recorders, timeout=10)
        tl.mark("start")
        await asyncio.sleep(5)
        tl.mark("hall_on")
        await chair.evaluate("window.__setVideo(true)")
        await asyncio.sleep(4)

        # floor to A (video), then to B (audio-only), whose camera comes on later
        ack = await chair.evaluate(f"window.__room('give_floor', {{user_id: {ids['a']}}})")
        assert ack["ok"] and ack["media"] == "ok", ack
        tl.mark("floor_a")
        await asyncio.sleep(4)
        ack = await chair.evaluate(f"window.__room('give_floor', {{user_id: {ids['b']}}})")
        assert ack["ok"], ack
        tl.mark("floor_b")
        await asyncio.sleep(4)
        tl.mark("b_on")
        await ep_b.evaluate("window.__setVideo(true)")
        await asyncio.sleep(5)
        tl.mark("floor_end")
        ack = await chair.evaluate("window.__room('take_floor', {})")
        assert ack["ok"], ack
        await asyncio.sleep(2)

        # the hall goes audio-only again, longer than a segment
        tl.mark("hall_off2")
        await chair.evaluate("window.__setVideo(false)")
        await asyncio.sleep(8)
        tl.mark("stop")
        ack = await chair.evaluate("window.__room('set_recording', {on: false})")
        assert ack["ok"], ack
        await wait_for(lambda: room not in node.recorders, timeout=30)
        info["ids"] = ids
        info["sent"] = {k: await p.evaluate("window.__sentFrames()")
                        for k, p in (("chair", chair), ("a", ep_a), ("b", ep_b))}
    finally:
        await browser.close()
        await pw.stop()
        await link.close()
    return info


def _check_slot_video(name: str, slot: SlotMedia, spans: list[tuple[float, float]]) -> None:
    for a, b in spans:
        share = slot.covered(slot.video, a + PICTURE_DELAY, b, FRAME_GAP)
        assert share >= 0.9, f"{name}: video in {share:.0%} of [{a:.1f}, {b:.1f}]"


def _check_no_video(name: str, slot: SlotMedia, a: float, b: float) -> None:
    # the last frames before a switch may still be arriving: half a second of slack
    inside = [t for t in slot.video if a + 0.5 < t < b]
    assert not inside, f"{name}: {len(inside)} pictures while no video was sent"


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
    tl = Timeline()
    with serve(app) as url:
        info = run(_meeting(app, demo, url, tl), timeout=240)
    sessions = list_sessions(tmp_path, str(demo.meeting_id))
    assert len(sessions) == 1
    journal = sessions[0]
    slots = read_slots(journal)
    assert {"hall", "speaker"} <= set(slots), (list(slots), info)
    hall, speaker = slots["hall"], slots["speaker"]
    ids = info["ids"]
    start, stop = tl["start"], tl["stop"]

    # the hall: in segments the whole time, audio throughout, video wherever it was sent
    assert hall.segment_seconds(start + 1.0, stop) >= 0.95 * (stop - start - 1.0), hall.segments
    assert hall.covered(hall.audio, start + 1.0, stop, AUDIO_GAP) >= 0.9
    _check_slot_video("hall", hall, [(tl["hall_on"], tl["hall_off2"])])
    _check_no_video("hall", hall, start, tl["hall_on"])
    _check_no_video("hall", hall, tl["hall_off2"], stop)
    assert {p for _, _, p in hall.segments} == {ids["chair"]}

    # the speaker: A with video, then B audio-only, then B with video
    floor = (tl["floor_a"] + 1.0, tl["floor_end"])
    assert speaker.segment_seconds(*floor) >= 0.95 * (floor[1] - floor[0]), speaker.segments
    assert speaker.covered(speaker.audio, *floor, AUDIO_GAP) >= 0.9
    assert speaker.covered(speaker.by_participant.get(ids["a"], []), tl["floor_a"] + PICTURE_DELAY,
                           tl["floor_b"], FRAME_GAP) >= 0.9
    assert speaker.covered(speaker.by_participant.get(ids["b"], []), tl["b_on"] + PICTURE_DELAY,
                           tl["floor_end"], FRAME_GAP) >= 0.9
    _check_no_video("speaker", speaker, tl["floor_b"], tl["b_on"])
    b_audio_only = [s for s in speaker.segments if s[2] == ids["b"] and s[0] < tl["b_on"]]
    assert b_audio_only, speaker.segments

    # the program: the chair's name card while the hall was audio-only and nobody spoke
    recording = service.build(db_session, RecordingStore(tmp_path), demo.meeting_id, SETTINGS,
                              settle_seconds=0)
    assert recording is not None and recording.program_file
    program = RecordingStore(tmp_path).program_path(demo.meeting_id)
    pictures = program_pictures(program)
    origin = journal.wall
    chair_name = db_session.get(User, demo["chutri"]).full_name
    assert chair_name

    def at(t_wall: float) -> dict[str, float]:
        t = t_wall - origin
        frame = min(pictures, key=lambda p: abs(p[0] - t))[1]
        return picture_stats(frame)

    camera = at(tl["hall_on"] + PICTURE_DELAY + 0.5)
    for moment in ((start + tl["hall_on"]) / 2, tl["hall_off2"] + 4.0, tl["floor_b"] + 2.5):
        card = at(moment)
        assert card["mean"] > 25, (moment - origin, card)  # not black
        assert 0.005 < card["bright"] < 0.3, (moment - origin, card)  # light text on a card
        assert abs(card["mean"] - camera["mean"]) > 3 or abs(card["bright"] - camera["bright"]) > 0.02
