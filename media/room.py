"""A room on the node: participants, their published tracks, and who receives what.

The briefing rule: every subscriber receives the hall (the chair's publisher) and the
speaker slot (whoever holds the floor). A slot pointed at a chosen participant (gallery,
video only) needs the web's grant: the web knows who may see whom (the meeting's chair:
anyone; everybody else: the people the chair put on the hall screens) and sends a
:class:`Grant` with every command that binds slots. The node keeps no rule of its own
beyond "no grant, no participant slot", and remembers the newest hall-screen page it was
told of (its version: the web's screen.* room event id), so a page taken off the screens
cuts the slots of everyone bound to people no longer on it. Audio of participants who do
not hold the floor is not forwarded; nobody receives their own audio back.

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


@dataclass(frozen=True)
class Grant:
    """Which participant slots the web lets one subscriber bind, sent with its command.

    ``any``: any participant (the meeting's chair). Otherwise ``screen``: the participants
    on the hall screens as of ``version`` (the web's latest screen.* room event id, 0 when
    there was none); None: no participant slots at all."""

    any: bool = False
    screen: frozenset[str] | None = None
    version: int = -1


NO_GRANT = Grant()
MAX_SCREEN = 16


def check_grant(value: object) -> Grant:
    """``{"any": true}`` or ``{"screen": [participant ids], "version": n}``; None (absent):
    no grant."""
    if value is None:
        return NO_GRANT
    if not isinstance(value, dict) or not set(value) <= {"any", "screen", "version"}:
        raise MediaError(BAD_REQUEST, "grant must be {any: true} or {screen: [ids], version}")
    if value.get("any") is True and set(value) == {"any"}:
        return Grant(any=True)
    screen, version = value.get("screen"), value.get("version")
    if (
        set(value) != {"screen", "version"}
        or not isinstance(screen, list)
        or len(screen) > MAX_SCREEN
        or not isinstance(version, int)
        or isinstance(version, bool)
        or version < 0
    ):
        raise MediaError(BAD_REQUEST, "grant must be {any: true} or {screen: [ids], version}")
    return Grant(screen=frozenset(check_id(x, "participant on screen") for x in screen), version=version)


def gallery_owner(slot: str) -> str | None:
    return slot[len(GALLERY_PREFIX) :] if slot.startswith(GALLERY_PREFIX) else None


@dataclass
class SlotBinding:
    """One slot of one subscriber (or of the recorder): which sinks follow which slot.
    ``is_chair`` is the subscriber's role when it was opened, for information only: what
    it may bind is the web's :class:`Grant` (kept by the room)."""

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
        # key: as above, value: the web's grant with that subscriber's latest command
        self.grants: dict[str, Grant] = {}
        # the hall screens' gallery page as the web last told it (version -1: never told)
        self.screen: frozenset[str] = frozenset()
        self.screen_version = -1
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

    def _screen_with(self, grant: Grant) -> frozenset[str]:
        """The hall screens' page, counting a grant that carries a newer one."""
        if grant.screen is not None and grant.version > self.screen_version:
            return grant.screen
        return self.screen

    def may_bind(self, slot: str, grant: Grant) -> bool:
        owner = gallery_owner(slot)
        if owner is None or grant.any:
            return True
        return grant.screen is not None and owner in self._screen_with(grant)

    def check_may_bind(self, slot: str, grant: Grant) -> None:
        if not self.may_bind(slot, grant):
            raise MediaError(
                FORBIDDEN,
                "a chosen participant needs the web's grant (the chair, or on the hall screens)",
            )

    def set_screen(self, version: int, participant_ids: frozenset[str]) -> list[str]:
        """The web's newer hall-screen page: slots of subscribers without an ``any`` grant
        bound to people no longer on it are cut (to ``none``). An older version than the
        one known changes nothing (commands from several web processes may cross). Returns
        the keys of the subscribers whose slots were cut."""
        cut = self._apply_screen(version, participant_ids)
        if cut:
            self.rebind()
        return cut

    def _apply_screen(self, version: int, participant_ids: frozenset[str]) -> list[str]:
        if version <= self.screen_version:
            return []
        self.screen_version, self.screen = version, participant_ids
        return [key for key in self.bindings if self._cut_unallowed(key)]

    def _cut_unallowed(self, key: str) -> bool:
        grant = self.grants.get(key, NO_GRANT)
        cut = False
        for binding in self.bindings.get(key, []):
            if not self.may_bind(binding.name, grant):
                binding.name = SLOT_NONE
                cut = True
        return cut

    def _accept_grant(self, key: str, grant: Grant) -> list[str]:
        """Keep a subscriber's grant (its latest command's); a newer screen page it carries
        becomes the room's. Returns the keys whose slots that cut."""
        self.grants[key] = grant
        if grant.screen is not None:
            return self._apply_screen(grant.version, grant.screen)
        return []

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

    def add_bindings(self, key: str, bindings: list[SlotBinding], grant: Grant = NO_GRANT) -> list[str]:
        """Bind a new subscriber's slots. Callers check them first (``check_may_bind``,
        before opening the peer); one the screens moved away from meanwhile is bound to
        ``none``. Returns the keys (this one included) whose slots were cut."""
        self.bindings[key] = bindings
        cut = self._accept_grant(key, grant)
        if self._cut_unallowed(key) and key not in cut:
            cut.append(key)
        self.rebind()
        return cut

    def remove_bindings(self, key: str) -> list[SlotBinding]:
        self.grants.pop(key, None)
        bindings = self.bindings.pop(key, [])
        for binding in bindings:
            for sink in (binding.video, binding.audio):
                if sink is not None:
                    sink.set_source(None)
        return bindings

    def change_slots(
        self, key: str, changes: list[tuple[int, str, str]], grant: Grant = NO_GRANT
    ) -> list[str]:
        """Apply ``(index, slot, layer preference)`` changes to one subscriber at once under
        the web's grant for this command; all are checked first, so a refused change
        changes nothing. The grant replaces the subscriber's previous one: its other slots
        the grant no longer covers are cut. Returns the keys whose slots were cut."""
        bindings = self.bindings.get(key)
        if bindings is None:
            raise MediaError(BAD_REQUEST, "no such slot")
        for index, slot, _layer in changes:
            if not 0 <= index < len(bindings):
                raise MediaError(BAD_REQUEST, "no such slot")
            self.check_may_bind(slot, grant)
        for index, slot, layer in changes:
            bindings[index].name = slot
            bindings[index].layer_pref = layer
        cut = self._accept_grant(key, grant)
        if self._cut_unallowed(key) and key not in cut:
            cut.append(key)
        self.rebind()
        return cut

    def change_slot(
        self, key: str, index: int, slot: str, layer: str = LAYER_AUTO, grant: Grant = NO_GRANT
    ) -> list[str]:
        return self.change_slots(key, [(index, slot, layer)], grant)

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
            "screen": {"version": self.screen_version, "participants": sorted(self.screen)},
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
