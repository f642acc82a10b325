"""Recording actions: building the program (with its index), who may watch, retention,
and what happens when the node stops recording by itself (disk low)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from meetings import jobs
from meetings.actions import room_state
from meetings.actions.audit import record as audit
from meetings.actions.notifications import notify
from meetings.db import utcnow
from meetings.errors import Forbidden, NotFound
from meetings.models import AgendaItem, Meeting, MeetingStatus, User
from meetings.models.live import AgendaMove, FloorTurn, LiveState, RoomEvent
from meetings.models.recording import Recording, RecordingStatus, SpeakerActivity
from meetings.permissions import can_attend, can_run_room, is_admin
from meetings.recording.ingest import STATE_BROKEN, ingest
from meetings.recording.program import ProgramSettings, SegmentRef, build_program
from meetings.recording.store import PROGRAM_DIR, PROGRAM_NAME, RecordingStore
from meetings.recording.timeline import Mark, Placed, Span, chapters, lay_out, place

logger = logging.getLogger(__name__)

DISK_LOW = "disk_low"
MESSAGES = {
    DISK_LOW: "Ổ đĩa lưu bản ghi sắp đầy: hệ thống đã dừng ghi hình cuộc họp. "
              "Cuộc họp vẫn tiếp tục bình thường.",
    "error": "Máy chủ truyền thông gặp lỗi khi ghi hình: đã dừng ghi hình. "
             "Cuộc họp vẫn tiếp tục bình thường.",
}

ProgressFn = Callable[[int], None]
Scope = Callable[[], AbstractContextManager[Session]]
STALE_BUILD = timedelta(minutes=15)  # a building status not touched since: the worker died
INTERRUPTED = ("Dựng bản ghi cuộc họp bị gián đoạn nhiều lần (máy xử lý dừng đột ngột); "
               "hãy bấm dựng lại hoặc báo quản trị hệ thống.")


class BuildTakenOver(RuntimeError):
    """Another run owns this build now (the sweep took this one for dead)."""


# --------------------------------------------------------------------------- build runs


def claim_build(session: Session, recording_id: int, stale_seconds: float) -> str | None:
    """Take the build for this run: nobody builds, or the run that did has made no progress
    for ``stale_seconds``. Returns the run's token (None: a live run owns it)."""
    token = uuid.uuid4().hex
    limit = utcnow() - timedelta(seconds=stale_seconds)
    result = session.execute(
        update(Recording).where(Recording.id == recording_id, or_(
            Recording.build_token == "", Recording.progress_at.is_(None),
            Recording.progress_at < limit))
        .values(build_token=token, build_runs=Recording.build_runs + 1, progress_at=utcnow(),
                status=RecordingStatus.BUILDING, error="")
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    session.commit()
    return token


def touch_build(session: Session, recording_id: int, token: str,
                progress: int | None = None) -> bool:
    """Record progress of the run holding ``token``; False when it no longer owns it."""
    values: dict[str, object] = {"progress_at": utcnow()}
    if progress is not None:
        values["progress"] = progress
    result = session.execute(update(Recording).where(Recording.id == recording_id,
                                                     Recording.build_token == token)
                             .values(**values).execution_options(synchronize_session=False))
    session.commit()
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def release_build(session: Session, recording_id: int, token: str) -> bool:
    """The run holding ``token`` ends (its outcome is written in the same transaction);
    False, and nothing is written, when another run took the build over."""
    result = session.execute(update(Recording).where(Recording.id == recording_id,
                                                     Recording.build_token == token)
                             .values(build_token="", build_runs=0, progress_at=utcnow())
                             .execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        return False
    return True


def sweep_builds(session: Session, stale_seconds: float = jobs.STALE_SECONDS,
                 max_runs: int = jobs.MAX_RUNS) -> dict[str, list[int]]:
    """Builds with no progress for ``stale_seconds`` (their worker died) are released and
    returned to be queued again, or failed with a reason after ``max_runs`` runs."""
    limit = utcnow() - timedelta(seconds=stale_seconds)
    out: dict[str, list[int]] = {"requeued": [], "failed": []}
    rows = list(session.execute(select(Recording.id, Recording.meeting_id, Recording.build_token,
                                       Recording.build_runs)
                                .where(Recording.build_token != "", Recording.progress_at < limit)))
    for recording_id, meeting_id, token, runs in rows:
        values: dict[str, object] = {"build_token": ""}
        if runs >= max_runs:
            values |= {"status": RecordingStatus.FAILED, "error": INTERRUPTED, "build_runs": 0}
        moved = session.execute(update(Recording).where(Recording.id == recording_id,
                                                        Recording.build_token == token)
                                .values(**values).execution_options(synchronize_session=False))
        if moved.rowcount == 1:  # type: ignore[attr-defined]
            out["failed" if runs >= max_runs else "requeued"].append(meeting_id)
    session.commit()
    if out["requeued"] or out["failed"]:
        logger.warning("programs without progress for %.0f s: re-queued %s, failed %s",
                       stale_seconds, out["requeued"], out["failed"])
    return out


# --------------------------------------------------------------------------- rights


def can_watch(session: Session, user: User, meeting: Meeting) -> bool:
    """Only people who could attend the meeting may watch its recording."""
    return can_attend(session, user, meeting)


def can_manage(session: Session, user: User, meeting: Meeting) -> bool:
    """Rebuild the program: who runs the room, or an administrator."""
    return is_admin(user) or can_run_room(session, user, meeting)


def watchable(session: Session, user: User, meeting_id: int) -> tuple[Meeting, Recording]:
    meeting = session.get(Meeting, meeting_id)
    if meeting is None or not can_watch(session, user, meeting):
        raise NotFound("Không tìm thấy bản ghi hoặc bạn không có quyền xem.")
    recording = session.scalar(select(Recording).where(Recording.meeting_id == meeting.id))
    if recording is None or recording.status == RecordingStatus.PURGED:
        raise NotFound("Cuộc họp này không có bản ghi.")
    return meeting, recording


def require_manager(session: Session, user: User, meeting: Meeting) -> None:
    if not can_manage(session, user, meeting):
        raise Forbidden("Chỉ chủ trì cuộc họp hoặc quản trị viên được dựng lại bản ghi.")


# --------------------------------------------------------------------------- index


def recorded_spans(recording: Recording) -> list[Span]:
    intervals = []
    for item in (recording.index or {}).get("sessions", []):
        if item.get("live"):
            continue
        intervals.append((datetime.fromisoformat(item["start"]), datetime.fromisoformat(item["end"])))
    return lay_out(intervals)


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {u.id: u.full_name for u in session.scalars(select(User).where(User.id.in_(ids)))}


def agenda_marks(session: Session, meeting: Meeting) -> list[Mark]:
    moves = session.scalars(select(AgendaMove).where(AgendaMove.meeting_id == meeting.id)
                            .order_by(AgendaMove.started_at, AgendaMove.id))
    items = {i.id: i for i in session.scalars(select(AgendaItem).where(AgendaItem.meeting_id == meeting.id))}
    marks = []
    for move in moves:
        item = items.get(move.agenda_item_id) if move.agenda_item_id else None
        label = f"{item.position}. {item.title}" if item else "Ngoài chương trình"
        marks.append(Mark(f"agenda:{move.agenda_item_id or 0}", label, move.started_at, move.ended_at))
    return marks


def floor_marks(session: Session, meeting: Meeting) -> list[Mark]:
    turns = list(session.scalars(select(FloorTurn).where(FloorTurn.meeting_id == meeting.id)
                                 .order_by(FloorTurn.started_at, FloorTurn.id)))
    names = _names(session, {t.user_id for t in turns})
    return [Mark(f"floor:{t.id}", names.get(t.user_id, ""), t.started_at,
                 t.ended_at or t.started_at + timedelta(hours=12), t.user_id) for t in turns]


def speech_marks(session: Session, recording: Recording) -> list[Mark]:
    rows = list(session.scalars(select(SpeakerActivity).where(SpeakerActivity.recording_id == recording.id)
                                .order_by(SpeakerActivity.started_at)))
    names = _names(session, {r.user_id for r in rows if r.user_id})
    return [Mark(f"speech:{r.id}", names.get(r.user_id or 0, r.participant), r.started_at, r.ended_at,
                 r.user_id) for r in rows]


def build_index(session: Session, meeting: Meeting, recording: Recording,
                spans: list[Span]) -> dict[str, list[Placed]]:
    return {
        "chapters": chapters(spans, agenda_marks(session, meeting)),
        "floor": place(spans, floor_marks(session, meeting)),
        "speech": place(spans, speech_marks(session, recording)),
    }


# --------------------------------------------------------------------------- program


def participant_labels(session: Session, participants: set[str]) -> dict[str, tuple[str, str]]:
    """{participant: (name, unit)} of the node's participant ids (user ids) for the
    program's name cards; ids that are not users are left out."""
    ids = {int(p) for p in participants if p and p.isdigit()}
    if not ids:
        return {}
    users = session.scalars(select(User).where(User.id.in_(ids)))
    return {str(u.id): (u.full_name, u.unit.name if u.unit is not None else "") for u in users}


def segment_refs(store: RecordingStore, recording: Recording,
                 labels: dict[str, tuple[str, str]] | None = None) -> list[SegmentRef]:
    refs = []
    labels = labels or {}
    base = store.meeting_dir(recording.meeting_id)
    for row in recording.segments:
        if row.state == STATE_BROKEN or row.ended_at is None:
            continue
        name, unit = labels.get(row.participant or "", ("", ""))
        refs.append(SegmentRef(base / row.session / row.file, row.slot, row.participant,
                               row.started_at.timestamp(), row.ended_at.timestamp(),
                               row.has_video, row.has_audio, name, unit))
    return refs


def build(session: Session, store: RecordingStore, meeting_id: int,
          settings: ProgramSettings | None = None, progress: ProgressFn | None = None,
          retention_days: int = 0, settle_seconds: float = 30.0,
          beat_scope: Scope | None = None,
          stale_seconds: float = jobs.STALE_SECONDS) -> Recording | None:
    """Ingest what the node wrote and build (or resume) the program and its index.
    Idempotent: with unchanged inputs the file is left as it is; while another run builds
    (progress within ``stale_seconds``) nothing is built; a run taken over by another
    writes nothing. Commits as it goes so that progress is visible; None when the meeting
    has no recording. ``beat_scope``: sessions for the heartbeat thread (the worker's)."""
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFound("Không tìm thấy cuộc họp.")
    recording = ingest(session, store, meeting, settle_seconds=settle_seconds)
    if recording is None:
        return None
    spans = recorded_spans(recording)
    if not spans:
        session.commit()
        return recording
    index = build_index(session, meeting, recording, spans)
    labels = participant_labels(session, {row.participant or "" for row in recording.segments})
    refs = segment_refs(store, recording, labels)
    token = claim_build(session, recording.id, stale_seconds)
    if token is None:
        session.commit()
        logger.info("program of meeting %s is being built by a live run; not built again",
                    meeting.id)
        return recording
    session.refresh(recording)  # the claim wrote status and progress time with SQL

    def on_part(done: int, total: int) -> None:
        percent = min(99, int(100 * done / total))
        if not touch_build(session, recording.id, token, progress=percent):
            raise BuildTakenOver(f"program of meeting {meeting.id}")
        if progress is not None:
            progress(percent)

    def beat() -> bool:
        assert beat_scope is not None
        with beat_scope() as own:
            return touch_build(own, recording.id, token)

    out = store.program_path(meeting.id)
    out.parent.mkdir(parents=True, exist_ok=True)
    keep_alive = (jobs.heartbeat(beat, jobs.heartbeat_every(stale_seconds), f"program-{meeting.id}")
                  if beat_scope is not None else nullcontext())
    try:
        with keep_alive:
            result = build_program(refs, spans, index["chapters"], out, settings,
                                   title=meeting.title, progress=on_part,
                                   done_hash=recording.program_inputs)
    except BuildTakenOver:
        session.rollback()
        logger.warning("program of meeting %s was taken over by another run", meeting.id)
        return recording
    except Exception as exc:
        logger.exception("program of meeting %s failed", meeting.id)
        session.rollback()
        if release_build(session, recording.id, token):
            session.refresh(recording)
            recording.status, recording.error = RecordingStatus.FAILED, f"{type(exc).__name__}: {exc}"[:2000]
            session.commit()
        raise
    if not release_build(session, recording.id, token):
        logger.warning("program of meeting %s was taken over by another run", meeting.id)
        return recording
    session.refresh(recording)  # the parts wrote progress with SQL
    live = any(s.get("live") for s in recording.index.get("sessions", []))
    recording.status = RecordingStatus.RECORDING if live else RecordingStatus.READY
    recording.program_file = f"{PROGRAM_DIR}/{PROGRAM_NAME}"
    recording.program_bytes = out.stat().st_size
    recording.program_seconds = result.seconds
    recording.program_inputs = result.inputs
    recording.progress = 100
    recording.index = dict(recording.index) | {k: [p.to_dict() for p in v] for k, v in index.items()}
    if not result.skipped:
        recording.built_at = utcnow()
    if retention_days > 0 and recording.expires_at is None:
        recording.expires_at = utcnow() + timedelta(days=retention_days)
    session.commit()
    if progress is not None:
        progress(100)
    return recording


# --------------------------------------------------------------------------- housekeeping


def purge_expired(session: Session, store: RecordingStore, now: datetime | None = None) -> list[int]:
    """Delete the files of recordings past their retention date; the rows stay (purged)."""
    now = now or utcnow()
    purged = []
    for recording in session.scalars(select(Recording).where(
            Recording.expires_at.is_not(None), Recording.expires_at <= now,
            Recording.status != RecordingStatus.PURGED)):
        freed = store.remove_meeting(recording.meeting_id)
        recording.status = RecordingStatus.PURGED
        recording.program_file, recording.program_bytes = "", 0
        audit(session, None, "recording.purge", object_type="recording", object_id=recording.id,
              meeting_id=recording.meeting_id, bytes=freed)
        purged.append(recording.meeting_id)
    session.flush()
    return purged


def pending_builds(session: Session, store: RecordingStore) -> list[int]:
    """Meetings that ended with recordings on disk and no program built from them yet."""
    ended = session.scalars(select(Meeting.id).where(Meeting.status.in_(
        [MeetingStatus.ENDED.value, MeetingStatus.MINUTES_ISSUED.value, MeetingStatus.ARCHIVED.value])))
    out = []
    for meeting_id in ended:
        if not store.sessions(meeting_id):
            continue
        recording = session.scalar(select(Recording).where(Recording.meeting_id == meeting_id))
        stale = utcnow() - STALE_BUILD
        if (recording is None
                or recording.status in (RecordingStatus.RECORDING, RecordingStatus.STOPPED)
                or (recording.status == RecordingStatus.BUILDING and recording.updated_at < stale)):
            out.append(meeting_id)  # a build whose worker died resumes from its parts
    return out


def node_stopped(session: Session, meeting_id: int, reason: str, free_bytes: int | None = None) -> bool:
    """The node stopped recording by itself (disk low, error): the room's recording flag
    goes off, the timeline says why, the chair (and co-chairs' chair) is told. The meeting
    goes on. False when the meeting is unknown."""
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        return False
    state = session.get(LiveState, meeting.id)
    now = utcnow()
    if state is not None and state.recording:
        state.recording, state.recording_changed_at = False, now
        room_state.bump(state)
    session.add(RoomEvent(meeting_id=meeting.id, kind="recording.stop", actor_id=None,
                          data={"reason": reason, "free_bytes": free_bytes}))
    recipients = {uid for uid in (meeting.chair_id, meeting.secretary_id) if uid}
    notify(session, recipients, "recording.stopped", MESSAGES.get(reason, MESSAGES["error"]),
           url=f"/meetings/{meeting.id}", meeting_id=meeting.id)
    audit(session, None, "recording.stopped_by_node", object_type="meeting", object_id=meeting.id,
          meeting_id=meeting.id, reason=reason, free_bytes=free_bytes)
    session.flush()
    return True


def speech_turns(session: Session, meeting_id: int) -> list[dict[str, object]]:
    """Who actually spoke and when (audio level above the voice threshold), for the
    minutes: [{"user_id", "name", "started_at", "ended_at", "seconds"}], in order."""
    rows = list(session.scalars(select(SpeakerActivity).where(SpeakerActivity.meeting_id == meeting_id)
                                .order_by(SpeakerActivity.started_at, SpeakerActivity.id)))
    names = _names(session, {r.user_id for r in rows if r.user_id})
    return [{"user_id": r.user_id, "name": names.get(r.user_id or 0, r.participant),
             "started_at": r.started_at, "ended_at": r.ended_at,
             "seconds": round((r.ended_at - r.started_at).total_seconds(), 1)} for r in rows]
