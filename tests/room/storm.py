"""Join storms on /room: many python-socketio clients (asyncio) that log in, join one
meeting within a few seconds and keep the state as the browser client does (tests/room/
mirror.py: deltas in version order, the whole state again after a gap). Used by
tests/room/test_room_join_storm.py (small) and bench/room_storm.py (full size)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import requests
import socketio

from tests.room.mirror import StateMirror

logger = logging.getLogger(__name__)

GAP_TIMEOUT = 1.5  # seconds a client waits for a missing delta (as room-client.js)


def login_cookie(base: str, username: str, password: str, user_agent: str, attempts: int = 3) -> str:
    """Log in through the API; the session cookie for a Socket.IO connection. A connection
    the loaded server dropped is tried again (as a user would)."""
    for attempt in range(1, attempts + 1):
        try:
            return _login_cookie(base, username, password, user_agent)
        except requests.ConnectionError:
            if attempt == attempts:
                raise
            time.sleep(attempt)
    raise AssertionError("unreachable")


def _login_cookie(base: str, username: str, password: str, user_agent: str) -> str:
    s = requests.Session()
    s.headers["User-Agent"] = user_agent
    token = s.get(base + "/api/v1/auth/csrf", timeout=30).json()["csrf_token"]
    r = s.post(base + "/api/v1/auth/login", json={"username": username, "password": password},
               headers={"X-CSRFToken": token}, timeout=60)
    if r.status_code != 200:
        raise RuntimeError(f"login {username}: {r.status_code} {r.text[:200]}")
    return "; ".join(f"{c.name}={c.value}" for c in s.cookies)


@dataclass
class StormClient:
    base: str
    username: str
    cookie: str
    user_agent: str
    mirror: StateMirror = field(default_factory=StateMirror)
    join_sent: float = 0.0
    first_state: float = 0.0  # the join acknowledgement (the whole state) arrived
    ack: dict[str, Any] | None = None
    floor_log: list[tuple[float, int | None]] = field(default_factory=list)  # (at, holder) when it changed
    bytes_in: int = 0  # JSON bytes of the broadcasts received
    messages_in: int = 0
    refetches: int = 0
    reconnects: int = 0  # connections lost before the join, opened again
    drops: list[tuple[float, str]] = field(default_factory=list)  # (at, reason): lost after joining
    log: list[tuple[str, dict[str, Any]]] | None = None  # every message, when kept (debugging)
    sio: socketio.AsyncClient | None = None
    _gap_task: asyncio.Task[None] | None = None
    _closing: bool = False

    async def connect(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.sio.on("state", self._on("state"), namespace="/room")
        self.sio.on("participants", self._on("participants"), namespace="/room")
        self.sio.on("disconnect", self._on_disconnect, namespace="/room")
        await self.sio.connect(self.base, namespaces=["/room"], transports=["websocket"], wait_timeout=60,
                               headers={"Cookie": self.cookie, "User-Agent": self.user_agent})

    def _on(self, name: str) -> Any:
        async def handler(message: dict[str, Any]) -> None:
            now = time.time()
            if self.log is not None:
                self.log.append((name, message))
            self.messages_in += 1
            self.bytes_in += len(json.dumps(message, ensure_ascii=False).encode())
            if name == "state":
                self._floor(message.get("floor"), now)
            self.mirror.event(name, message)
            self._watch_gap()
        return handler

    async def _on_disconnect(self, reason: Any = None) -> None:
        if self.ack is not None and not self._closing:  # a joined client lost its connection
            self.drops.append((time.time(), str(reason)))
            logger.warning("%s lost its connection after joining: %s", self.username, reason)

    def _floor(self, floor: dict[str, Any] | None, at: float) -> None:
        holder = floor["user_id"] if floor else None
        if not self.floor_log or self.floor_log[-1][1] != holder:
            self.floor_log.append((at, holder))

    @property
    def floor_seen(self) -> dict[int, float]:
        """Floor holder -> when this client first saw them hold it."""
        seen: dict[int, float] = {}
        for at, holder in self.floor_log:
            if holder is not None:
                seen.setdefault(holder, at)
        return seen

    def floor_latency(self, sent: float, holder: int) -> float | None:
        """Seconds from `sent` to the first state after it naming `holder`, if any came."""
        for at, who in self.floor_log:
            if at >= sent and who == holder:
                return at - sent
        return None

    def _watch_gap(self) -> None:
        if self.mirror.gap and self.mirror.state is not None and self._gap_task is None:
            self._gap_task = asyncio.get_running_loop().create_task(self._refetch_after_gap())

    async def _refetch_after_gap(self) -> None:
        try:
            version = self.mirror.version
            await asyncio.sleep(GAP_TIMEOUT)
            if self.sio is None or not self.sio.connected:
                return  # closed meanwhile (the bench's clients leave at the end)
            if self.mirror.gap and self.mirror.version == version:
                self.refetches += 1
                await self.request_state()
        finally:
            self._gap_task = None
        self._watch_gap()

    async def request_state(self) -> None:
        assert self.sio is not None
        ack = await self.sio.call("state", {}, namespace="/room", timeout=60)
        if ack.get("ok"):
            self.mirror.full(ack["state"], ack=True)

    async def join(self, meeting_id: int) -> bool:
        assert self.sio is not None
        if not self.sio.connected:  # dropped while waiting (a loaded server missed pings)
            self.reconnects += 1
            await self.sio.disconnect()
            await self.connect()
        self.join_sent = time.time()
        ack = await self.sio.call("join", {"meeting_id": meeting_id}, namespace="/room", timeout=120)
        self.first_state = time.time()
        self.ack = ack
        if ack.get("ok"):
            state = ack["state"]
            self._floor(state.get("floor"), self.first_state)
            self.mirror.full(state, ack=True)
            self._watch_gap()
            return True
        return False

    async def close(self) -> None:
        self._closing = True
        if self._gap_task is not None:
            self._gap_task.cancel()
        if self.sio is not None:
            await self.sio.disconnect()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def invite_delegates(session: Any, meeting_id: int, count: int, password: str,
                     prefix: str = "daibieu.storm") -> list[str]:
    """`count` delegate users created with the domain actions and invited to the meeting."""
    from sqlalchemy import select

    from meetings.actions import meetings as meeting_actions
    from meetings.actions import org
    from meetings.models import Meeting, User

    meeting = session.get(Meeting, meeting_id)
    admin = session.scalar(select(User).where(User.username == "admin"))
    names: list[str] = []
    new_ids: list[int] = []
    # one salted hash for all of them: hashing is deliberately slow (seconds each on a
    # loaded machine); the accounts are otherwise made by the domain action
    real_hash = org.hash_password
    digest = real_hash(password)
    org.hash_password = lambda _password: digest  # type: ignore[assignment]
    try:
        for n in range(1, count + 1):
            data = org.parse_user({"username": f"{prefix}{n:03d}", "full_name": f"Đại biểu thử tải {n:03d}",
                                   "position": "Đại biểu", "role": "delegate",
                                   "unit_id": meeting.host_unit_id, "password": password}, creating=True)
            user = org.create_user(session, admin, data)
            names.append(user.username)
            new_ids.append(user.id)
    finally:
        org.hash_password = real_hash  # type: ignore[assignment]
    invitations = meeting_actions.parse_invitations({
        "unit_ids": [u.unit_id for u in meeting.invited_units],
        "endpoint_ids": [e.endpoint_id for e in meeting.invited_endpoints],
        "user_ids": [p.user_id for p in meeting.invited_people] + new_ids,
    })
    meeting_actions.set_invitations(session, admin, meeting, invitations)
    session.commit()
    return names


async def storm(bases: list[str], meeting_id: int, names: list[str], password: str, user_agent: str,
                spread: float, floor_changes: Any = None) -> list[StormClient]:
    """Log everyone in, connect, then send the joins spread evenly over `spread` seconds
    (client i on bases[i % len(bases)]). `floor_changes(clients)`, if given, runs alongside
    (a coroutine: the chair's part). Returns the clients, connected."""
    loop = asyncio.get_running_loop()
    sem = asyncio.Semaphore(8)

    async def make(i: int, name: str) -> StormClient:
        base = bases[i % len(bases)]
        async with sem:
            cookie = await loop.run_in_executor(None, login_cookie, base, name, password, user_agent)
            client = StormClient(base, name, cookie, user_agent)
            await client.connect()
        return client

    clients = list(await asyncio.gather(*(make(i, n) for i, n in enumerate(names))))
    start = loop.time()

    async def join(i: int, client: StormClient) -> None:
        await asyncio.sleep(max(0.0, start + spread * i / max(1, len(clients)) - loop.time()))
        await client.join(meeting_id)

    tasks = [join(i, c) for i, c in enumerate(clients)]
    if floor_changes is not None:
        tasks.append(floor_changes(clients))
    await asyncio.gather(*tasks)
    return clients
