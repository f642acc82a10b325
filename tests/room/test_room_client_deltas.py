"""The browser's protocol module (web/static/js/room-client.js) in headless Chromium against
the real app: it keeps the participant list from the deltas others' joins, changes and
leaves send, its "state" events still carry the whole state, and after a lost delta it
fetches the whole state again."""

from __future__ import annotations

import time

from meetings.actions import room_state
from tests.browser import LOGIN_JS, chromium, serve
from tests.room.conftest import meeting_of
from tests.servers import SioUser

SETUP_JS = """async ([meetingId]) => {
  const m = await import('/static/js/room-client.js');
  const c = new m.RoomClient({gapTimeoutMs: 300});
  window.__c = c;
  window.__events = [];
  window.__stateRequests = 0;
  window.__drop = 0;
  const request = c.request.bind(c);
  c.request = (event, data) => { if (event === 'state') window.__stateRequests++; return request(event, data); };
  const onBroadcast = c._onBroadcast.bind(c);
  c._onBroadcast = (name, msg) => { if (window.__drop > 0) { window.__drop--; return; } onBroadcast(name, msg); };
  c.addEventListener('state', (e) => window.__events.push(Array.isArray(e.detail.participants)));
  await c.connect();
  const ack = await c.join({meeting_id: meetingId});
  return ack.ok;
}"""


def _wait(page, predicate_js, arg=None, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if page.evaluate(predicate_js, arg):
            return
        time.sleep(0.1)
    raise AssertionError(f"never true: {predicate_js}")


def _server_list(db_session, demo):
    db_session.expire_all()
    out = room_state.snapshot(db_session, meeting_of(db_session, demo.meeting_id), None)["participants"]
    db_session.commit()
    return out


def test_the_browser_client_keeps_the_list_from_deltas_and_refetches_after_a_gap(
        app, live_meeting, demo, db_session):
    with serve(app) as url, chromium() as browser:
        page = browser.new_context().new_page()
        page.goto(url + "/login")
        assert page.evaluate(LOGIN_JS, ["chutri", demo.password]) == 200
        assert page.evaluate(SETUP_JS, [demo.meeting_id]) is True
        others = []
        try:
            for name in ("kythuat.02", "kythuat.03", "kythuat.04", "thuky"):
                user = SioUser(url, name)
                assert user.call("join", {"meeting_id": demo.meeting_id})["ok"]
                others.append(user)
            assert others[1].call("update_self", {"quality": "poor"})["ok"]
            assert others[2].call("leave")["ok"]
            server = _server_list(db_session, demo)
            assert len(server) == 4  # the chair and three still in
            _wait(page, "(want) => JSON.stringify(window.__c.state.participants) === want",
                  page.evaluate("(s) => JSON.stringify(s)", server))
            assert page.evaluate("window.__stateRequests") == 0  # deltas only, no refetch
            assert all(page.evaluate("window.__events"))  # every "state" event: the whole state

            # a lost delta: the next one waits, then the whole state is fetched again
            page.evaluate("window.__drop = 1")
            assert others[2].call("join", {"meeting_id": demo.meeting_id})["ok"]  # lost
            assert others[0].call("update_self", {"muted": True})["ok"]  # cannot apply yet
            server = _server_list(db_session, demo)
            assert len(server) == 5
            _wait(page, "(want) => JSON.stringify(window.__c.state.participants) === want",
                  page.evaluate("(s) => JSON.stringify(s)", server))
            assert page.evaluate("window.__stateRequests") == 1
            assert page.evaluate("window.__c._pending.size") == 0
        finally:
            for user in others:
                user.close()
