"""A room on the node: participants, their published tracks, and who receives what.

The briefing rule: every subscriber receives the hall (the chair's publisher) and the
speaker slot (whoever holds the floor). Only the chair may point a slot at an arbitrary
participant (gallery, video only). Audio of participants who do not hold the floor is not
forwarded; nobody receives their own audio back.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Protocol

from media.errors import BAD_REQUEST, FORBIDDEN, MediaError
from media.forwarding import TrackSource

logger = logging.getLogger(__name__)

ROLE_CHAIR = "chair"
ROLE_PARTICIPANT = "participant"
ROLES = (ROLE_CHAIR, ROLE_PARTICIPANT)

SLOT_HALL = "hall"
SLOT_SPEAKER = "speaker"
GALLERY_PREFIX = "participant:"
DEFAULT_SLOTS = (SLOT_HALL, SLOT_SPEAKER)

_ID_RE = re.compile(r"^[A-Za-z0-9_.:@-]{1,64}$")


def check_id(value: object, what: str) -> str:
    """Room, participant and peer ids: 1-64 characters of [A-Za-z0-9_.:@-]."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not _ID_RE.match(value):
        raise MediaError(BAD_REQUEST, f"invalid {what}")
    return value


def check_slot(value: object) -> str:
    if value in (SLOT_HALL, SLOT_SPEAKER):
        return str(value)
    if isinstance(value, str) and value.startswith(GALLERY_PREFIX):
        check_id(value[len(GALLERY_PREFIX) :], "participant in slot")
        return value
    raise MediaError(BAD_REQUEST, "slot must be 'hall', 'speaker' or 'participant:<id>'")


class SlotSink(Protocol):
    """What a slot binding drives: a subscriber's forwarding track or a recorder input."""

    def set_source(self, source: TrackSource | None) -> None: ...


@dataclass
class SlotBinding:
    """One slot of one subscriber (or of the recorder): which sinks follow which slot."""

    name: str
    subscriber_id: str
    is_chair: bool
    video: SlotSink | None = None
    audio: SlotSink | None = None


@dataclass
class Participant:
    id: str
    role: str
    video: TrackSource | None = None
    audio: TrackSource | None = None
    peer_ids: set[str] = field(default_factory=set)


class Room:
    def __init__(self, room_id: str) -> None:
        self.id = room_id
        self.participants: dict[str, Participant] = {}
        self.chair_id: str | None = None
        self.speaker_id: str | None = None
        # key: peer id (or "recorder"), value: that subscriber's slots in order
        self.bindings: dict[str, list[SlotBinding]] = {}

    # -- participants ------------------------------------------------------------

    def join(self, participant_id: str, role: str) -> Participant:
        if role not in ROLES:
            raise MediaError(BAD_REQUEST, "role must be 'chair' or 'participant'")
        participant = self.participants.get(participant_id)
        if participant is None:
            participant = Participant(participant_id, role)
            self.participants[participant_id] = participant
        participant.role = role
        if role == ROLE_CHAIR:
            self.chair_id = participant_id
        elif self.chair_id == participant_id:
            self.chair_id = None
        return participant

    def leave_if_idle(self, participant_id: str) -> None:
        participant = self.participants.get(participant_id)
        if participant is not None and not participant.peer_ids:
            del self.participants[participant_id]
            if self.chair_id == participant_id:
                self.chair_id = None

    def set_published(
        self, participant_id: str, video: TrackSource | None, audio: TrackSource | None
    ) -> None:
        participant = self.participants[participant_id]
        participant.video = video
        participant.audio = audio
        self.rebind()

    def set_speaker(self, participant_id: str | None) -> None:
        self.speaker_id = participant_id
        self.rebind()

    @property
    def empty(self) -> bool:
        return not self.participants and not self.bindings

    # -- slots ---------------------------------------------------------------------

    def check_may_bind(self, slot: str, is_chair: bool) -> None:
        if slot.startswith(GALLERY_PREFIX) and not is_chair:
            raise MediaError(FORBIDDEN, "only the chair may subscribe to a chosen participant")

    def sources_for(
        self, slot: str, subscriber_id: str
    ) -> tuple[TrackSource | None, TrackSource | None]:
        """(video, audio) sources a slot receives right now."""
        gallery = slot.startswith(GALLERY_PREFIX)
        if slot == SLOT_HALL:
            owner_id = self.chair_id
        elif slot == SLOT_SPEAKER:
            owner_id = self.speaker_id
        else:
            owner_id = slot[len(GALLERY_PREFIX) :]
        owner = self.participants.get(owner_id) if owner_id is not None else None
        if owner is None:
            return None, None
        video = owner.video
        audio = owner.audio
        if gallery or owner.id == subscriber_id:
            audio = None
        return video, audio

    def add_bindings(self, key: str, bindings: list[SlotBinding]) -> None:
        for binding in bindings:
            self.check_may_bind(binding.name, binding.is_chair)
        self.bindings[key] = bindings
        self.rebind()

    def remove_bindings(self, key: str) -> list[SlotBinding]:
        bindings = self.bindings.pop(key, [])
        for binding in bindings:
            for sink in (binding.video, binding.audio):
                if sink is not None:
                    sink.set_source(None)
        return bindings

    def change_slot(self, key: str, index: int, slot: str) -> None:
        bindings = self.bindings.get(key)
        if bindings is None or not 0 <= index < len(bindings):
            raise MediaError(BAD_REQUEST, "no such slot")
        binding = bindings[index]
        self.check_may_bind(slot, binding.is_chair)
        binding.name = slot
        self.rebind()

    def rebind(self) -> None:
        """Point every slot at its current sources (no renegotiation)."""
        for bindings in self.bindings.values():
            for binding in bindings:
                video, audio = self.sources_for(binding.name, binding.subscriber_id)
                if binding.video is not None:
                    binding.video.set_source(video)
                if binding.audio is not None:
                    binding.audio.set_source(audio)

    def describe(self) -> dict[str, object]:
        return {
            "room": self.id,
            "chair": self.chair_id,
            "speaker": self.speaker_id,
            "participants": {
                p.id: {
                    "role": p.role,
                    "video": p.video.codec_name if p.video else None,
                    "audio": p.audio.codec_name if p.audio else None,
                    "peers": sorted(p.peer_ids),
                }
                for p in self.participants.values()
            },
        }
