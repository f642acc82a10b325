"""Fixtures for the live room: Socket.IO test clients of logged-in users."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from meetings.models import Meeting


class RoomClient:
    """A Socket.IO test client on /room for one logged-in user, with acks returned."""

    def __init__(self, app: Any, api: Any, username: str) -> None:
        from web.extensions import socketio

        self.username = username
        self.api = api
        self.sio = socketio.test_client(app, namespace="/room", flask_test_client=api.client)
        assert self.sio.is_connected("/room")

    def call(self, event: str, data: Any = None) -> Any:
        args = () if data is None else (data,)
        return self.sio.emit(event, *args, namespace="/room", callback=True)

    def events(self, name: str | None = None) -> list[Any]:
        """Events received since the last call. Broadcast states that left out an unchanged
        participant list get it back, as the browser client does (docs/protocol-room.md)."""
        got = self.sio.get_received("/room")
        out = []
        for e in got:
            data = e["args"][0] if e["args"] else None
            if e["name"] == "state" and isinstance(data, dict):
                if "participants" in data:
                    self._participants = (data["participants_digest"], data["participants"])
                else:
                    digest, known = getattr(self, "_participants", (None, None))
                    assert digest == data["participants_digest"], "state without a list I know"
                    data = {**data, "participants": known}
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
