"""The secretary's workspace and the minutes workflow.

Notes per agenda item (optimistic concurrency: a save names the version it edits; an older
version is a conflict, never a silent overwrite), assigned tasks and their follow-up
(``meetings.actions.minutes_tasks``, re-exported here), and the Biên bản / Thông báo
documents: generate (every version kept) -> submit -> approve or
return -> issue (number from a per-agency, per-year counter, PDF, digital signature,
distribution). Rights: only the meeting's secretary edits and generates, only its chair
approves, an issued document never changes.

Actions flush; the caller (web request or Celery task) commits.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from meetings.actions import audit
from meetings.actions.minutes_common import ISSUED_LOCKED as ISSUED_LOCKED
from meetings.actions.minutes_common import ONLY_CHAIR as ONLY_CHAIR
from meetings.actions.minutes_common import ONLY_SECRETARY as ONLY_SECRETARY
from meetings.actions.minutes_common import issued_kinds as issued_kinds
from meetings.actions.minutes_common import require_chair, require_secretary
from meetings.actions.minutes_tasks import TaskInput as TaskInput
from meetings.actions.minutes_tasks import add_task as add_task
from meetings.actions.minutes_tasks import is_overdue as is_overdue
from meetings.actions.minutes_tasks import local_today as local_today
from meetings.actions.minutes_tasks import parse_task as parse_task
from meetings.actions.minutes_tasks import remind_overdue_tasks as remind_overdue_tasks
from meetings.actions.minutes_tasks import set_task_status as set_task_status
from meetings.actions.minutes_tasks import unit_tasks as unit_tasks
from meetings.actions.minutes_tasks import update_task as update_task
from meetings.actions.notifications import notify, notify_invitees
from meetings.actions.signatory import SignatoryInput
from meetings.actions.signatory import resolve as resolve_signatory
from meetings.actions.signing_profiles import signature_plan
from meetings.db import utcnow
from meetings.errors import Conflict, NotFound, ValidationFailed
from meetings.minutes import serialize
from meetings.minutes.builder import agency_for, build_minutes_data
from meetings.minutes.files import Progress, write_files
from meetings.minutes.numbering import format_number
from meetings.minutes.richtext import sanitize
from meetings.minutes.thong_bao import signatory
from meetings.models import TRANSITIONS, AgendaItem, Meeting, MeetingStatus, User
from meetings.models.minutes import (
    GENERAL_KEY,
    DocKind,
    DocStatus,
    DocumentCounter,
    MinuteNote,
    MinutesDocument,
    item_key,
)
from meetings.permissions import (
    can_view_meeting,
    is_meeting_chair,
    is_meeting_secretary,
    is_organiser,
    require,
)
from meetings.signing import SigningConfig
from meetings.validation import Fields

logger = logging.getLogger(__name__)

MAX_HTML = 200_000
_secretary, _chair = require_secretary, require_chair

# ------------------------------------------------------------------------------------------
# notes


class NoteConflict(Conflict):
    """Someone saved this item since the version the editor started from."""

    def __init__(self, note: MinuteNote) -> None:
        super().__init__("Nội dung đã được người khác cập nhật. Hãy xem bản mới và gộp lại.")
        self.current = note_dict(note)

    def as_dict(self) -> dict[str, object]:
        return super().as_dict() | {"current": self.current}


def note_dict(note: MinuteNote) -> dict[str, Any]:
    return {"key": note.key, "agenda_item_id": note.agenda_item_id, "version": note.version,
            "notes_html": note.notes_html, "conclusions_html": note.conclusions_html,
            "recipients": list(note.recipients or []),
            "updated_at": note.updated_at.isoformat() if note.updated_at else None,
            "updated_by_id": note.updated_by_id}


def list_notes(session: Session, actor: User, meeting: Meeting) -> list[MinuteNote]:
    """Organisers (the chair sees the notes live, the secretary writes them)."""
    require(is_organiser(actor, meeting))
    return list(session.scalars(select(MinuteNote).where(MinuteNote.meeting_id == meeting.id)
                                .order_by(MinuteNote.id)))


@dataclass(frozen=True)
class NoteInput:
    expected_version: int
    notes_html: str | None = None
    conclusions_html: str | None = None
    recipients: tuple[str, ...] | None = None


def parse_note(data: Mapping[str, Any]) -> NoteInput:
    f = Fields(data)
    version = f.integer("version", required=True, minimum=0)
    notes = f.text("notes_html", max_len=MAX_HTML) if f.has("notes_html") else None
    conclusions = (f.text("conclusions_html", max_len=MAX_HTML)
                   if f.has("conclusions_html") else None)
    recipients = None
    if f.has("recipients"):
        raw = data.get("recipients")
        if not isinstance(raw, list) or not all(isinstance(r, str) and len(r) <= 300
                                                for r in raw):
            f.add_error("recipients", "Danh sách nơi nhận không hợp lệ.")
        else:
            recipients = tuple(r.strip() for r in raw if r.strip())
    f.done()
    return NoteInput(version or 0, notes, conclusions, recipients)


def save_note(session: Session, actor: User, meeting: Meeting, agenda_item_id: int | None,
              data: NoteInput) -> MinuteNote:
    """Save notes/conclusions of one agenda item (None: the meeting-wide note)."""
    _secretary(actor, meeting)
    if DocKind.BIEN_BAN.value in issued_kinds(session, meeting):
        raise Conflict("Biên bản đã ban hành: không sửa ghi chép được nữa.")
    if agenda_item_id is not None:
        item = session.get(AgendaItem, agenda_item_id)
        if item is None or item.meeting_id != meeting.id:
            raise NotFound("Không tìm thấy mục chương trình.")
    if data.recipients is not None and agenda_item_id is not None:
        raise ValidationFailed("Nơi nhận thuộc phần chung của cuộc họp.",
                               {"recipients": "Chỉ nhập ở phần chung."})
    values: dict[str, Any] = {"updated_at": utcnow(), "updated_by_id": actor.id}
    for name in ("notes_html", "conclusions_html"):
        value = getattr(data, name)
        if value is not None:
            if len(value) > MAX_HTML:
                raise ValidationFailed("Nội dung quá dài.", {name: "Quá dài."})
            values[name] = sanitize(value)
    if data.recipients is not None:
        values["recipients"] = list(data.recipients)
    key = item_key(agenda_item_id) if agenda_item_id is not None else GENERAL_KEY
    note = session.scalar(select(MinuteNote).where(MinuteNote.meeting_id == meeting.id,
                                                   MinuteNote.key == key))
    if note is None:
        if data.expected_version != 0:
            raise Conflict("Phiên bản ghi chép không khớp.")
        note = MinuteNote(meeting_id=meeting.id, key=key, agenda_item_id=agenda_item_id,
                          version=1, **{"notes_html": "", "conclusions_html": "",
                                        "recipients": []} | values)
        try:
            with session.begin_nested():
                session.add(note)
                session.flush()
        except IntegrityError:  # the other secretary created it a moment ago
            existing = session.scalar(select(MinuteNote).where(
                MinuteNote.meeting_id == meeting.id, MinuteNote.key == key))
            assert existing is not None
            raise NoteConflict(existing) from None
    else:
        moved = session.execute(
            update(MinuteNote)
            .where(MinuteNote.id == note.id, MinuteNote.version == data.expected_version)
            .values(version=MinuteNote.version + 1, **values)
            .execution_options(synchronize_session=False))
        session.refresh(note)
        if not moved.rowcount:
            raise NoteConflict(note)
    audit.record(session, actor, "minutes.note", object_type="minute_note", object_id=note.id,
                 meeting_id=meeting.id, version=note.version)
    return note


# ------------------------------------------------------------------------------------------
# minute documents: generate -> submit -> approve / return -> issue


def _kind(kind: str) -> DocKind:
    try:
        return DocKind(kind)
    except ValueError:
        raise ValidationFailed("Loại văn bản không hợp lệ.", {"kind": "BB hoặc TB."}) from None


def _relative(storage_dir: Path, path: Path | None) -> str:
    return str(path.relative_to(storage_dir)) if path is not None else ""


def document_path(storage_dir: Path, doc: MinutesDocument, which: str = "docx") -> Path | None:
    """Absolute path of a stored file ("docx", "pdf" or "signed")."""
    rel = {"docx": doc.docx_path, "pdf": doc.pdf_path, "signed": doc.signed_pdf_path}[which]
    return storage_dir / rel if rel else None


def _folder(storage_dir: Path, meeting: Meeting) -> Path:
    return storage_dir / "minutes" / str(meeting.id)


GENERATABLE = {MeetingStatus.LIVE.value, MeetingStatus.ENDED.value,
               MeetingStatus.MINUTES_ISSUED.value}


def generate_document(session: Session, actor: User, meeting: Meeting, kind: str,
                      storage_dir: Path, *, pdf: bool = True,
                      recipients: Sequence[str] | None = None,
                      signer: SignatoryInput | None = None,
                      progress: Progress | None = None,
                      job_id: str | None = None) -> MinutesDocument:
    """A new draft version built from the meeting's record (earlier versions are kept).
    ``signer``: who signs a Thông báo and with what authority (default: as in the previous
    version, else the chair directly). ``job_id``: the job making it; a second run of one
    job fails on the unique ``job_id`` instead of making a second version."""
    k = _kind(kind)
    _secretary(actor, meeting)
    if meeting.status not in GENERATABLE:
        raise Conflict("Chỉ lập biên bản khi cuộc họp đang diễn ra hoặc đã kết thúc.")
    if k.value in issued_kinds(session, meeting):
        raise Conflict(ISSUED_LOCKED)
    if progress:
        progress(5, "Đang tổng hợp dữ liệu cuộc họp")
    try:
        data = build_minutes_data(session, meeting, recipients=recipients)
    except ValueError as exc:
        raise ValidationFailed("Cuộc họp chưa đủ thông tin để lập văn bản.",
                               {"meeting": str(exc)}) from exc
    version = int(session.scalar(select(func.max(MinutesDocument.version)).where(
        MinutesDocument.meeting_id == meeting.id, MinutesDocument.kind == k.value)) or 0) + 1
    previous = session.scalar(select(MinutesDocument).where(
        MinutesDocument.meeting_id == meeting.id, MinutesDocument.kind == k.value,
        MinutesDocument.version == version - 1))
    signer_id, chosen = resolve_signatory(session, meeting, k.value, signer, previous)
    if chosen is not None:
        data = dataclasses.replace(data, notice=dataclasses.replace(data.notice,
                                                                    signatory=chosen))
    files = write_files(k.value, data, _folder(storage_dir, meeting), f"{k.value}-v{version}",
                        pdf=pdf, progress=progress)
    doc = MinutesDocument(meeting_id=meeting.id, kind=k.value, version=version,
                          status=DocStatus.DRAFT.value, data_json=serialize.dumps(data),
                          docx_path=_relative(storage_dir, files.docx),
                          pdf_path=_relative(storage_dir, files.pdf), created_by_id=actor.id,
                          signer_id=signer_id,
                          signer_authority=chosen.authority if chosen else "",
                          signer_principal=chosen.principal if chosen else "",
                          signer_title=chosen.title if chosen else "", job_id=job_id)
    session.add(doc)
    session.flush()
    audit.record(session, actor, "minutes.generate", object_type="minutes_document",
                 object_id=doc.id, meeting_id=meeting.id, kind=k.value, version=version)
    return doc


def made_by_job(session: Session, job_id: str) -> MinutesDocument | None:
    """The version a generation job already made, if any."""
    return session.scalar(select(MinutesDocument).where(MinutesDocument.job_id == job_id))


def get_document(session: Session, doc_id: int) -> MinutesDocument:
    doc = session.get(MinutesDocument, doc_id)
    if doc is None:
        raise NotFound("Không tìm thấy văn bản.")
    return doc


def list_documents(session: Session, actor: User, meeting: Meeting) -> list[MinutesDocument]:
    """Organisers see every version; other invitees only what was issued."""
    require(can_view_meeting(session, actor, meeting))
    stmt = select(MinutesDocument).where(MinutesDocument.meeting_id == meeting.id)
    if not is_organiser(actor, meeting):
        stmt = stmt.where(MinutesDocument.status == DocStatus.ISSUED.value)
    return list(session.scalars(stmt.order_by(MinutesDocument.kind, MinutesDocument.version)))


def can_view_document(session: Session, actor: User, doc: MinutesDocument) -> bool:
    meeting = doc.meeting
    if is_organiser(actor, meeting):
        return True
    return doc.status == DocStatus.ISSUED.value and can_view_meeting(session, actor, meeting)


def _not_issued(doc: MinutesDocument) -> None:
    if doc.status == DocStatus.ISSUED.value:
        raise Conflict(ISSUED_LOCKED)


def _latest(session: Session, doc: MinutesDocument) -> None:
    newest = session.scalar(select(func.max(MinutesDocument.version)).where(
        MinutesDocument.meeting_id == doc.meeting_id, MinutesDocument.kind == doc.kind))
    if newest != doc.version:
        raise Conflict("Đã có phiên bản mới hơn; hãy dùng phiên bản mới nhất.")


def submit_document(session: Session, actor: User, doc: MinutesDocument) -> MinutesDocument:
    _secretary(actor, doc.meeting)
    _not_issued(doc)
    _latest(session, doc)
    if doc.status not in (DocStatus.DRAFT.value, DocStatus.RETURNED.value):
        raise Conflict("Văn bản đã được trình.")
    doc.status = DocStatus.SUBMITTED.value
    doc.submitted_at = utcnow()
    session.flush()
    if doc.meeting.chair_id:
        notify(session, {doc.meeting.chair_id}, "minutes_submitted",
               f"Trình duyệt {_label(doc)}: {doc.meeting.title}",
               f"/meetings/{doc.meeting_id}/minutes/{doc.id}", doc.meeting_id)
    audit.record(session, actor, "minutes.submit", object_type="minutes_document",
                 object_id=doc.id, meeting_id=doc.meeting_id)
    return doc


def _label(doc: MinutesDocument) -> str:
    return "biên bản" if doc.kind == DocKind.BIEN_BAN.value else "thông báo kết luận"


def approve_document(session: Session, actor: User, doc: MinutesDocument) -> MinutesDocument:
    _chair(actor, doc.meeting)
    _not_issued(doc)
    if doc.status != DocStatus.SUBMITTED.value:
        raise Conflict("Chỉ phê duyệt văn bản đã được trình.")
    doc.status = DocStatus.APPROVED.value
    doc.decided_by_id, doc.decided_at, doc.comment = actor.id, utcnow(), ""
    session.flush()
    if doc.meeting.secretary_id:
        notify(session, {doc.meeting.secretary_id}, "minutes_approved",
               f"Chủ tọa đã duyệt {_label(doc)}: {doc.meeting.title}",
               f"/meetings/{doc.meeting_id}/minutes/{doc.id}", doc.meeting_id)
    audit.record(session, actor, "minutes.approve", object_type="minutes_document",
                 object_id=doc.id, meeting_id=doc.meeting_id,
                 signatory=list(signature_lines(doc)))
    return doc


def signature_lines(doc: MinutesDocument) -> tuple[str, ...]:
    """The signature block(s) as they will print: what the chair checks at approval."""
    data = serialize.loads(doc.data_json)
    if doc.kind == DocKind.BIEN_BAN.value:
        return ("THƯ KÝ", data.secretary.name, "CHỦ TỌA", data.chair.name)
    who = signatory(data, data.notice)
    return (*who.lines, who.name)


def return_document(session: Session, actor: User, doc: MinutesDocument,
                    comment: str) -> MinutesDocument:
    _chair(actor, doc.meeting)
    _not_issued(doc)
    if doc.status != DocStatus.SUBMITTED.value:
        raise Conflict("Chỉ trả lại văn bản đã được trình.")
    comment = (comment or "").strip()
    if not comment or len(comment) > 5000:
        raise ValidationFailed("Nhập lý do trả lại.", {"comment": "Bắt buộc (tối đa 5000 ký tự)."})
    doc.status = DocStatus.RETURNED.value
    doc.decided_by_id, doc.decided_at, doc.comment = actor.id, utcnow(), comment
    session.flush()
    if doc.meeting.secretary_id:
        notify(session, {doc.meeting.secretary_id}, "minutes_returned",
               f"Chủ tọa trả lại {_label(doc)}: {comment[:200]}",
               f"/meetings/{doc.meeting_id}/minutes/{doc.id}", doc.meeting_id)
    audit.record(session, actor, "minutes.return", object_type="minutes_document",
                 object_id=doc.id, meeting_id=doc.meeting_id, comment=comment)
    return doc


def allocate_number(session: Session, unit_id: int, year: int) -> int:
    """Next number of the agency's register for ``year``; the counter only moves up."""
    exists = session.scalar(select(DocumentCounter.id).where(
        DocumentCounter.unit_id == unit_id, DocumentCounter.year == year).with_for_update())
    if exists is None:
        try:
            with session.begin_nested():
                session.add(DocumentCounter(unit_id=unit_id, year=year, last_number=0))
                session.flush()
        except IntegrityError:
            pass  # created concurrently; the UPDATE below serializes us
    session.execute(update(DocumentCounter)
                    .where(DocumentCounter.unit_id == unit_id, DocumentCounter.year == year)
                    .values(last_number=DocumentCounter.last_number + 1)
                    .execution_options(synchronize_session=False))
    number = session.scalar(select(DocumentCounter.last_number).where(
        DocumentCounter.unit_id == unit_id, DocumentCounter.year == year))
    assert number is not None
    return int(number)


def issue_document(session: Session, actor: User, doc: MinutesDocument, storage_dir: Path, *,
                   signing: SigningConfig | None = None, pdf: bool = True,
                   progress: Progress | None = None) -> MinutesDocument:
    """Number, final DOCX and PDF from the approved snapshot, signatures, distribution.

    With ``signing`` (the agency's fallback certificate; None: signing is switched off)
    every signer must have a certificate and an image: that is checked first, so a
    refusal numbers nothing and leaves no file."""
    meeting = doc.meeting
    require(actor.active and (is_meeting_secretary(actor, meeting)
                              or is_meeting_chair(actor, meeting)), ONLY_SECRETARY)
    _not_issued(doc)
    if doc.status != DocStatus.APPROVED.value:
        raise Conflict("Chỉ ban hành văn bản đã được chủ tọa phê duyệt.")
    if doc.kind in issued_kinds(session, meeting):
        raise Conflict("Cuộc họp đã có văn bản loại này được ban hành.")
    try:
        unit, _agency = agency_for(meeting)
    except ValueError as exc:
        raise ValidationFailed("Cuộc họp chưa có cơ quan ban hành.", {"meeting": str(exc)}) from exc
    data = serialize.loads(doc.data_json)
    plan = None
    if pdf and signing is not None:
        plan = signature_plan(session, doc, data, unit, agency_fallback=signing,
                              location=signing.location)
    issued_on = local_today()
    number = allocate_number(session, unit.id, issued_on.year)
    if doc.kind == DocKind.BIEN_BAN.value:
        data = dataclasses.replace(data, number=number, year=issued_on.year)
    else:
        data = dataclasses.replace(data, notice=dataclasses.replace(
            data.notice, number=number, year=issued_on.year, issued_on=issued_on))
    stem = f"{doc.kind}-{number:02d}-{issued_on.year}"
    files = write_files(doc.kind, data, _folder(storage_dir, meeting), stem, pdf=pdf,
                        signers=(list(plan.people), plan.agency) if plan else None,
                        progress=progress)
    doc.status = DocStatus.ISSUED.value
    doc.issuing_unit_id, doc.year, doc.number = unit.id, issued_on.year, number
    doc.number_text = format_number(number, doc.kind, data.agency.abbreviation)
    doc.data_json = serialize.dumps(data)
    doc.docx_path = _relative(storage_dir, files.docx)
    doc.pdf_path = _relative(storage_dir, files.pdf)
    doc.signed_pdf_path = _relative(storage_dir, files.signed_pdf)
    doc.issued_by_id, doc.issued_at = actor.id, utcnow()
    session.flush()
    if (doc.kind == DocKind.BIEN_BAN.value and MeetingStatus.MINUTES_ISSUED
            in TRANSITIONS[MeetingStatus(meeting.status)]):
        meeting.status = MeetingStatus.MINUTES_ISSUED.value
    notify_invitees(session, meeting, "minutes_issued",
                    f"Đã ban hành {_label(doc)} số {doc.number_text}: {meeting.title}",
                    f"/meetings/{meeting.id}/minutes/{doc.id}")
    audit.record(session, actor, "minutes.issue", object_type="minutes_document",
                 object_id=doc.id, meeting_id=meeting.id, number=doc.number_text,
                 signed=bool(files.signed_pdf),
                 signatures=[slot.field for slot in plan.people] + ["CoQuan"] if plan else [])
    return doc


def write_attendance_report(session: Session, actor: User, meeting: Meeting,
                            storage_dir: Path) -> tuple[Path, Path]:
    """Attendance report (XLSX and DOCX) from the join/leave records; organisers only."""
    from meetings.minutes.attendance import attendance_docx, attendance_xlsx
    from meetings.minutes.builder import build_attendance

    require(is_organiser(actor, meeting))
    try:
        data = build_attendance(session, meeting)
    except ValueError as exc:
        raise ValidationFailed("Cuộc họp chưa có cơ quan chủ trì.", {"meeting": str(exc)}) from exc
    folder = _folder(storage_dir, meeting)
    folder.mkdir(parents=True, exist_ok=True)
    xlsx, docx_path = folder / "diem-danh.xlsx", folder / "diem-danh.docx"
    attendance_xlsx(data).save(xlsx)
    attendance_docx(data).save(str(docx_path))
    return xlsx, docx_path
