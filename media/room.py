"""A room on the node: participants, their published tracks, and who receives what.

The briefing rule: every subscriber receives the hall (the chair's publisher) and the
speaker slot (whoever holds the floor). Only the chair may point a slot at an arbitrary
participant (gallery, video only). Audio of participants who do not hold the floor is not
forwarded; nobody receives their own audio back.

Video layers: a publisher may send a main layer (640x480) and a small one (~320x240). A
slot takes the layer it wants — main for hall and speaker, small for gallery tiles, unless
the subscriber asked otherwise — capped by its subscriber's link level (main, small, or
audio: no video at all). A wanted layer that has stopped sending is replaced by the other
while it is silent.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from media.errors import BAD_REQUEST, FORBIDDEN, MediaError
from media.forwarding import LAYER_MAIN, LAYER_SMALL, TrackSource

logger = logging.getLogger(__name__)

ROLE_CHAIR = "chair"
ROLE_PARTICIPANT = "participant"
ROLES = (ROLE_CHAIR, ROLE_PARTICIPANT)

SLOT_HALL = "hall"
SLOT_SPEAKER = "speaker"
SLOT_NONE = "none"
GALLERY_PREFIX = "participant:"
DEFAULT_SLOTS = (SLOT_HALL, SLOT_SPEAKER)

LAYER_AUTO = "auto"
LAYER_PREFERENCES = (LAYER_AUTO, LAYER_MAIN, LAYER_SMALL)
LEVEL_MAIN = "main"
LEVEL_SMALL = "small"
LEVEL_AUDIO = "audio"
LEVELS = (LEVEL_AUDIO, LEVEL_SMALL, LEVEL_MAIN)  # lowest first

_ID_RE = re.compile(r"^[A-Za-z0-9_.:@-]{1,64}$")


def check_id(value: object, what: str) -> str:
    """Room, participant and peer ids: 1-64 characters of [A-Za-z0-9_.:@-]."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not _ID_RE.match(value):
        raise MediaError(BAD_REQUEST, f"invalid {what}")
    return value


def check_slot(value: object) -> str:
    if value in (SLOT_HALL, SLOT_SPEAKER, SLOT_NONE):
        return str(value)
    if isinstance(value, str) and value.startswith(GALLERY_PREFIX):
        check_id(value[len(GALLERY_PREFIX) :], "participant in slot")
        return value
    raise MediaError(
        BAD_REQUEST, "slot must be 'hall', 'speaker', 'none' or 'participant:<id>'"
    )


def check_layer(value: object) -> str:
    if value is None:
        return LAYER_AUTO
    if value in LAYER_PREFERENCES:
        return str(value)
    raise MediaError(BAD_REQUEST, "layer must be 'auto', 'main' or 'small'")


class LinkLevel(Protocol):
    """What a subscriber's link can take right now (see media/link.py)."""

    level: str


def pick_video(
    main: TrackSource | None, small: TrackSource | None, want: str | None, now: float
) -> TrackSource | None:
    """The video source for a wanted layer: that layer unless it is silent while the other
    one sends; the other one when the wanted layer is not published at all."""
    if want is None:
        return None
    first, second = (main, small) if want == LAYER_MAIN else (small, main)
    if first is None:
        return second
    if second is None or first.live(now) or not second.live(now):
        return first
    return second


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
    layer_pref: str = LAYER_AUTO
    link: LinkLevel | None = None  # None (the recorder): always the main level
    layer: str | None = None  # the layer it carries now (None: no video)

    def wanted_layer(self) -> str | None:
        level = self.link.level if self.link is not None else LEVEL_MAIN
        if level == LEVEL_AUDIO or self.name == SLOT_NONE:
            return None
        if level == LEVEL_SMALL:
            return LAYER_SMALL
        if self.layer_pref != LAYER_AUTO:
            return self.layer_pref
        return LAYER_SMALL if self.name.startswith(GALLERY_PREFIX) else LAYER_MAIN


@dataclass
class Participant:
    id: str
    role: str
    video: TrackSource | None = None
    audio: TrackSource | None = None
    video_small: TrackSource | None = None
    peer_ids: set[str] = field(default_factory=set)


class Room:
    def __init__(self, room_id: str) -> None:
        self.id = room_id
        self.participants: dict[str, Participant] = {}
        self.chair_id: str | None = None
        self.speaker_id: str | None = None
        # key: peer id (or "recorder"), value: that subscriber's slots in order
        self.bindings: dict[str, list[SlotBinding]] = {}
        # called after every rebind (media/relay.py: what a relay announces and supplies)
        self.listeners: list[Callable[[], None]] = []

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
        self,
        participant_id: str,
        video: TrackSource | None,
        audio: TrackSource | None,
        video_small: TrackSource | None = None,
    ) -> None:
        participant = self.participants[participant_id]
        participant.video = video
        participant.audio = audio
        participant.video_small = video_small
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

    def owner_of(self, slot: str) -> Participant | None:
        if slot == SLOT_HALL:
            owner_id = self.chair_id
        elif slot == SLOT_SPEAKER:
            owner_id = self.speaker_id
        elif slot.startswith(GALLERY_PREFIX):
            owner_id = slot[len(GALLERY_PREFIX) :]
        else:
            owner_id = None
        return self.participants.get(owner_id) if owner_id is not None else None

    def sources_for(
        self,
        slot: str,
        subscriber_id: str,
        want: str | None = LAYER_MAIN,
        now: float | None = None,
    ) -> tuple[TrackSource | None, TrackSource | None]:
        """(video, audio) sources a slot receives right now, video of layer ``want``."""
        owner = self.owner_of(slot)
        if owner is None:
            return None, None
        now = time.monotonic() if now is None else now
        video = pick_video(owner.video, owner.video_small, want, now)
        audio = owner.audio
        if slot.startswith(GALLERY_PREFIX) or owner.id == subscriber_id:
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

    def change_slots(self, key: str, changes: list[tuple[int, str, str]]) -> None:
        """Apply ``(index, slot, layer preference)`` changes to one subscriber at once; all
        are checked first, so a refused change changes nothing."""
        bindings = self.bindings.get(key)
        if bindings is None:
            raise MediaError(BAD_REQUEST, "no such slot")
        for index, slot, _layer in changes:
            if not 0 <= index < len(bindings):
                raise MediaError(BAD_REQUEST, "no such slot")
            self.check_may_bind(slot, bindings[index].is_chair)
        for index, slot, layer in changes:
            bindings[index].name = slot
            bindings[index].layer_pref = layer
        self.rebind()

    def change_slot(self, key: str, index: int, slot: str, layer: str = LAYER_AUTO) -> None:
        self.change_slots(key, [(index, slot, layer)])

    def rebind(self, now: float | None = None) -> None:
        """Point every slot at its current sources (no renegotiation)."""
        now = time.monotonic() if now is None else now
        for bindings in self.bindings.values():
            for binding in bindings:
                want = binding.wanted_layer() if binding.video is not None else None
                video, audio = self.sources_for(binding.name, binding.subscriber_id, want, now)
                binding.layer = video.layer if video is not None else None
                if binding.video is not None:
                    binding.video.set_source(video)
                if binding.audio is not None:
                    binding.audio.set_source(audio)
        for listener in tuple(self.listeners):
            listener()

    def describe(self) -> dict[str, object]:
        return {
            "room": self.id,
            "chair": self.chair_id,
            "speaker": self.speaker_id,
            "participants": {
                p.id: {
                    "role": p.role,
                    "video": p.video.codec_name if p.video else None,
                    "layers": [s.layer for s in (p.video, p.video_small) if s is not None],
                    "audio": p.audio.codec_name if p.audio else None,
                    "peers": sorted(p.peer_ids),
                }
                for p in self.participants.values()
            },
        }
