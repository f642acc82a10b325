"""The room state as a client keeps it from full states and deltas (docs/protocol-room.md):
the same rules as web/static/js/room-client.js, for Python test clients and benchmarks."""

from __future__ import annotations

import copy
from typing import Any

DELTA_KEYS = ("prev", "participants_delta")
HISTORY = 256  # deltas kept after applying them, to replay over an older whole state


def sort_participants(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The server's order: by join time, then presence id."""
    return sorted(entries, key=lambda p: (p["joined_at"], p["presence_id"]))


def apply_delta(participants: list[dict[str, Any]], upsert: list[dict[str, Any]],
                remove: list[int]) -> list[dict[str, Any]]:
    by_user = {p["user_id"]: p for p in participants}
    for uid in remove:
        by_user.pop(uid, None)
    for entry in upsert:
        by_user[entry["user_id"]] = entry
    return sort_participants(list(by_user.values()))


class StateMirror:
    """Feed it every `state` / `participants` event and every acknowledged state; `state`
    is the reconstructed full state. `gap` is true while a message waits for a missing one
    (the client should then ask for the whole state after a short wait)."""

    def __init__(self) -> None:
        self.state: dict[str, Any] | None = None
        self.pending: dict[int, tuple[str, dict[str, Any]]] = {}  # prev -> (event, message)
        self.history: dict[int, tuple[str, dict[str, Any]]] = {}  # applied, by prev (last HISTORY)
        self.applied = 0
        self.refetched = 0

    @property
    def version(self) -> int | None:
        return None if self.state is None else int(self.state["version"])

    @property
    def gap(self) -> bool:
        return bool(self.pending)

    def full(self, state: dict[str, Any], *, ack: bool = False) -> None:
        """A whole state: an acknowledgement always wins; a broadcast one if not older. The
        deltas already applied that are newer than it are applied again (an answer read
        before them can arrive after them)."""
        if ack or self.state is None or state["version"] >= self.state["version"]:
            self.state = dict(state)
            for prev, step in self.history.items():
                if step[1]["version"] > state["version"]:
                    self.pending.setdefault(prev, step)
            self._drain()

    def event(self, name: str, message: dict[str, Any]) -> None:
        if name == "state" and "participants" in message:
            self.full(message)
            return
        if self.state is not None and message["version"] <= self.state["version"]:
            return  # already in what we have
        self.pending[int(message["prev"])] = (name, message)
        self._drain()

    def _drain(self) -> None:
        while self.state is not None:
            version = self.state["version"]
            for prev in [p for p, (_, m) in self.pending.items() if m["version"] <= version]:
                del self.pending[prev]
            step = self.pending.pop(version, None)
            if step is None:
                return
            self._apply(*step)
            self.history[version] = step
            while len(self.history) > HISTORY:
                del self.history[next(iter(self.history))]

    def _apply(self, name: str, message: dict[str, Any]) -> None:
        assert self.state is not None
        self.applied += 1
        if name == "participants":
            upsert, remove = message["upsert"], message["remove"]
            rest: dict[str, Any] = {"version": message["version"]}
        else:
            upsert = message["participants_delta"]["upsert"]
            remove = message["participants_delta"]["remove"]
            rest = {k: v for k, v in message.items() if k not in DELTA_KEYS}
        participants = apply_delta(self.state.get("participants", []), upsert, remove)
        self.state = {**self.state, **copy.copy(rest), "participants": participants}
