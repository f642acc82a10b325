"""Fixtures for the minutes web layer: the demo briefing live (and ended), organisers and
delegates logged in, /room clients (from tests/room/conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.room.conftest import RoomClient, live_meeting, meeting_of, room  # noqa: F401


@pytest.fixture
def eager(app: Any) -> Any:
    """Minutes jobs run in the request (no worker); PDF only where a test asks for it."""
    app.config.update(MINUTES_TASKS_EAGER=True, MINUTES_PDF=False)
    return app


def agenda_ids(api: Any, meeting_id: int) -> list[int]:
    resp = api.get(f"/api/v1/meetings/{meeting_id}/agenda")
    assert resp.status_code == 200, resp.get_json()
    return [i["id"] for i in resp.get_json()["agenda"]]


def end(api: Any, meeting_id: int) -> None:
    resp = api.post(f"/api/v1/meetings/{meeting_id}/status", json={"status": "ended"})
    assert resp.status_code == 200, resp.get_json()
