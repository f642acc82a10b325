"""Fixtures for the live room: Socket.IO test clients of logged-in users."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from meetings.models import Meeting
from tests.room.mirror import StateMirror


class RoomClient:
    """A Socket.IO test client on /room for one logged-in user, with acks returned."""

    def __init__(self, app: Any, api: Any, username: str) -> None:
        from web.extensions import socketio

        self.username = username
        self.api = api
        self.sio = socketio.test_client(app, namespace="/room", flask_test_client=api.client)
        self.mirror = StateMirror()
        self.gaps = 0
        assert self.sio.is_connected("/room")

    def call(self, event: str, data: Any = None) -> Any:
        args = () if data is None else (data,)
        ack = self.sio.emit(event, *args, namespace="/room", callback=True)
        if isinstance(ack, dict) and ack.get("ok") and isinstance(ack.get("state"), dict):
            self.mirror.full(ack["state"], ack=True)
        return ack

    def events(self, name: str | None = None) -> list[Any]:
        """Events received since the last call. Broadcast states and participant deltas are
        applied to the state this client keeps, as the browser client does
        (docs/protocol-room.md): each yields a `state` event with the whole state; the
        raw deltas are there too as `participants` / `state_delta` events."""
        got = self.sio.get_received("/room")
        out = []
        for e in got:
            data = e["args"][0] if e["args"] else None
            if e["name"] in ("state", "participants") and isinstance(data, dict):
                raw = "participants" if e["name"] == "participants" else (
                    "state" if "participants" in data else "state_delta")
                if name == raw and raw != "state":
                    out.append(data)
                self.mirror.event(e["name"], data)
                if self.mirror.gap:  # never expected in-process: count it, then catch up
                    self.gaps += 1
                    self.call("state")
                if name in (None, "state") and self.mirror.state is not None:
                    out.append(self.mirror.state)
                continue
            if name is None or e["name"] == name:
                out.append(data)
        return out

    def last_state(self) -> dict[str, Any]:
        states = self.events("state")
        assert states, f"{self.username} received no state"
        return states[-1]


@pytest.fixture
def live_meeting(db_session: Session, demo: Any, login: Any) -> int:
    """The demo briefing, opened by its chair."""
    chair = login("chutri")
    resp = chair.post(f"/api/v1/meetings/{demo.meeting_id}/status", json={"status": "live"})
    assert resp.status_code == 200, resp.get_json()
    return demo.meeting_id


@pytest.fixture
def room(app: Any, login: Any, live_meeting: int) -> Any:
    """room("chutri") -> a RoomClient of that user, not yet joined."""
    clients: list[RoomClient] = []

    def _room(username: str) -> RoomClient:
        client = RoomClient(app, login(username), username)
        clients.append(client)
        return client

    yield _room
    for c in clients:
        if c.sio.is_connected("/room"):
            c.sio.disconnect("/room")


def meeting_of(session: Session, meeting_id: int) -> Meeting:
    session.expire_all()
    meeting = session.get(Meeting, meeting_id)
    assert meeting is not None
    return meeting
