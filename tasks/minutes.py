"""Minutes tasks: generate a Biên bản / Thông báo version, issue (PDF + digital signature),
the attendance report, and the daily reminder of overdue assigned tasks (beat).

Progress of a job is kept in a small JSON file beside the meeting's minutes
(``<storage>/minutes/<meeting>/jobs/<job>.json``, read by the web's job endpoint) and
pushed to the browsers as ``minutes_progress`` on the ``/minutes`` namespace, room
``minutes:<meeting id>``: ``{job, meeting_id, kind, percent, message, state, document_id,
error}`` with state ``queued|running|done|failed``.

A job survives the death of its worker: the task is acknowledged late and redelivered, a
running job touches its file every ``HEARTBEAT_SECONDS``, and the beat task ``sweep_jobs``
re-queues a job whose file has not moved for ``STALE_SECONDS`` (at most ``MAX_ATTEMPTS``
runs in all), then marks it failed with a reason the user sees. A job already done or
failed is never run again, so a redelivered message changes nothing.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from meetings import jobs
from meetings.actions import minutes as ma
from meetings.actions.signatory import SignatoryInput
from meetings.actions.signing_profiles import demo_seal, ensure_demo_profiles
from meetings.errors import DomainError
from meetings.minutes.builder import agency_for, place_name
from meetings.models import Meeting, User
from meetings.models.minutes import DocStatus, MinutesDocument
from meetings.office import ConversionError
from meetings.signing import (
    DemoCertificate,
    SigningConfig,
    SigningError,
    ensure_demo_certificate,
)
from tasks.celery_app import celery, job_stale_seconds, session_scope, settings
from tasks.push import emit

logger = logging.getLogger(__name__)

NAMESPACE = "/minutes"
_JOB_ID = re.compile(r"^[0-9a-f]{32}$")
HEARTBEAT_SECONDS = jobs.HEARTBEAT_SECONDS
STALE_SECONDS = jobs.STALE_SECONDS
MAX_ATTEMPTS = jobs.MAX_RUNS
FINISHED = ("done", "failed")
# Keys of a job file that every progress step keeps (what the sweep needs to run it again).
_KEPT = ("task", "args", "attempt")


def progress_room(meeting_id: int) -> str:
    return f"minutes:{meeting_id}"


# ------------------------------------------------------------------------------------------
# job files (shared with the web, which writes the first "queued" state and reads them)


def job_path(storage_dir: Path, meeting_id: int, job_id: str) -> Path:
    if not _JOB_ID.match(job_id):
        raise ValueError("bad job id")
    return storage_dir / "minutes" / str(meeting_id) / "jobs" / f"{job_id}.json"


def write_job(storage_dir: Path, meeting_id: int, job_id: str, state: dict[str, Any]) -> None:
    path = job_path(storage_dir, meeting_id, job_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    tmp.write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def read_job(storage_dir: Path, meeting_id: int, job_id: str) -> dict[str, Any] | None:
    try:
        data = json.loads(job_path(storage_dir, meeting_id, job_id).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


Scope = Callable[[], AbstractContextManager[Session]]
Push = Callable[..., None]


def _reporter(storage_dir: Path, meeting_id: int, job_id: str, base: dict[str, Any],
              push: Push = emit) -> Callable[..., dict[str, Any]]:
    """A function that records and pushes one progress step of this job."""
    prior = read_job(storage_dir, meeting_id, job_id) or {}
    kept = {k: prior[k] for k in _KEPT if k in prior}

    def report(percent: int, message: str, state: str = "running", **extra: Any) -> dict[str, Any]:
        payload = {**kept, **base, "job": job_id, "meeting_id": meeting_id, "percent": percent,
                   "message": message, "state": state, **extra}
        try:
            write_job(storage_dir, meeting_id, job_id, payload)
        except OSError:
            logger.exception("could not write job %s", job_id)
        push("minutes_progress", public(payload), room=progress_room(meeting_id),
             namespace=NAMESPACE)
        return payload
    return report


def public(state: dict[str, Any]) -> dict[str, Any]:
    """What browsers see of a job (not the task's arguments)."""
    return {k: v for k, v in state.items() if k not in _KEPT}


def _finished(storage_dir: Path, meeting_id: int, job_id: str) -> bool:
    """True when this job already ran to its end (a redelivered or re-queued message)."""
    state = read_job(storage_dir, meeting_id, job_id)
    if state is not None and state.get("state") in FINISHED:
        logger.info("job %s already %s; not run again", job_id, state["state"])
        return True
    return False


@contextmanager
def heartbeat(storage_dir: Path, meeting_id: int, job_id: str,
              every: float | None = None) -> Iterator[None]:
    """While the block runs (a long PDF conversion reports no percent), touch the job file
    so that the sweep can tell a slow job from one whose worker died."""
    stop = threading.Event()
    path = job_path(storage_dir, meeting_id, job_id)
    every = every or min(HEARTBEAT_SECONDS, stale_seconds() / 4)

    def beat() -> None:
        while not stop.wait(every):
            try:
                os.utime(path)
            except OSError:
                pass

    thread = threading.Thread(target=beat, name=f"job-heartbeat-{job_id[:8]}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def stale_jobs(storage_dir: Path, stale_seconds: float = STALE_SECONDS,
               now: float | None = None) -> list[tuple[Path, dict[str, Any]]]:
    """Jobs still queued or running whose file has not moved for ``stale_seconds``."""
    now = time.time() if now is None else now
    out: list[tuple[Path, dict[str, Any]]] = []
    for path in sorted((storage_dir / "minutes").glob("*/jobs/*.json")):
        try:
            age = now - path.stat().st_mtime
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("state") not in FINISHED and age >= stale_seconds:
            out.append((path, data))
    return out


def sweep(storage_dir: Path, stale_seconds: float = STALE_SECONDS, push: Push = emit,
          send: Callable[[str, list[Any]], None] | None = None) -> dict[str, list[str]]:
    """Re-queue each stale job (its worker died) or, after MAX_ATTEMPTS runs or when it
    cannot be run again, mark it failed with a reason the user sees."""
    send = send or (lambda name, args: celery.send_task(name, args=args))
    result: dict[str, list[str]] = {"requeued": [], "failed": []}
    for path, data in stale_jobs(storage_dir, stale_seconds):
        job_id, meeting_id = str(data.get("job", path.stem)), int(data.get("meeting_id", 0))
        attempt = int(data.get("attempt", 1))
        task, args = data.get("task"), data.get("args")
        if isinstance(task, str) and isinstance(args, list) and attempt < MAX_ATTEMPTS:
            state = {**data, "attempt": attempt + 1, "state": "queued", "percent": 0,
                     "message": "Tiến trình xử lý bị gián đoạn; đang chạy lại."}
            write_job(storage_dir, meeting_id, job_id, state)
            push("minutes_progress", public(state), room=progress_room(meeting_id),
                 namespace=NAMESPACE)
            send(task, args)
            result["requeued"].append(job_id)
            logger.warning("minutes job %s had no progress for %.0f s; re-queued (run %d)",
                           job_id, stale_seconds, attempt + 1)
        else:
            state = {**data, "state": "failed", "percent": 100, "error": "interrupted",
                     "message": "Tiến trình xử lý bị gián đoạn nhiều lần; vui lòng thử lại."}
            write_job(storage_dir, meeting_id, job_id, state)
            push("minutes_progress", public(state), room=progress_room(meeting_id),
                 namespace=NAMESPACE)
            result["failed"].append(job_id)
            logger.warning("minutes job %s had no progress for %.0f s; marked failed",
                           job_id, stale_seconds)
    return result


# ------------------------------------------------------------------------------------------
# signing material


def signing_config(meeting: Meeting, instance: Path | None = None,
                   env: dict[str, str] | None = None) -> SigningConfig | None:
    """The agency's certificate from the settings (GIAOBAN_SIGNING_P12 +
    GIAOBAN_SIGNING_PASSPHRASE, or GIAOBAN_SIGNING_KEY + GIAOBAN_SIGNING_CERT); otherwise
    the demo's own certificate in <instance>/signing. GIAOBAN_SIGNING=off: no signature."""
    extra = env if env is not None else settings.extra
    try:
        unit, agency = agency_for(meeting)
    except ValueError:
        return None
    place = place_name(unit)
    if extra.get("GIAOBAN_SIGNING", "").lower() in ("off", "0", "no"):
        return None
    seal = Path(extra["GIAOBAN_SIGNING_SEAL"]) if extra.get("GIAOBAN_SIGNING_SEAL") else None
    if extra.get("GIAOBAN_SIGNING_P12"):
        passphrase = extra.get("GIAOBAN_SIGNING_PASSPHRASE")
        return SigningConfig(pkcs12_path=Path(extra["GIAOBAN_SIGNING_P12"]),
                             pkcs12_passphrase=passphrase.encode() if passphrase else None,
                             location=place, image=seal)
    if extra.get("GIAOBAN_SIGNING_KEY") and extra.get("GIAOBAN_SIGNING_CERT"):
        chain = tuple(Path(p) for p in extra.get("GIAOBAN_SIGNING_CHAIN", "").split(":") if p)
        return SigningConfig(key_path=Path(extra["GIAOBAN_SIGNING_KEY"]),
                             cert_path=Path(extra["GIAOBAN_SIGNING_CERT"]), chain_paths=chain,
                             location=place, image=seal)
    demo = demo_certificate(meeting, instance)
    assert demo is not None
    return demo.config(place, image=demo_seal(" ".join(agency.name.split()), demo))


def demo_certificate(meeting: Meeting, instance: Path | None = None,
                     env: dict[str, str] | None = None) -> DemoCertificate | None:
    """The demo's own certificate authority when no certificate is configured (None when
    one is, or when signing is off)."""
    extra = env if env is not None else settings.extra
    if extra.get("GIAOBAN_SIGNING", "").lower() in ("off", "0", "no") or any(
            extra.get(k) for k in ("GIAOBAN_SIGNING_P12", "GIAOBAN_SIGNING_KEY")):
        return None
    try:
        _unit, agency = agency_for(meeting)
    except ValueError:
        return None
    folder = (instance or settings.instance_path) / "signing"
    return ensure_demo_certificate(" ".join(agency.name.split()), folder)


def trust_roots(instance: Path | None = None, env: dict[str, str] | None = None) -> list[Path]:
    """Certificates a validator of our signatures trusts (GIAOBAN_SIGNING_TRUST, ':'
    separated, else the demo root when it exists)."""
    extra = env if env is not None else settings.extra
    if extra.get("GIAOBAN_SIGNING_TRUST"):
        return [Path(p) for p in extra["GIAOBAN_SIGNING_TRUST"].split(":") if p]
    root = (instance or settings.instance_path) / "signing" / "demo-root-ca.pem"
    return [root] if root.exists() else []


# ------------------------------------------------------------------------------------------
# the tasks


def _load(session: Session, meeting_id: int, user_id: int) -> tuple[Meeting, User]:
    meeting, user = session.get(Meeting, meeting_id), session.get(User, user_id)
    if meeting is None or user is None:
        raise LookupError(f"meeting {meeting_id} or user {user_id} is gone")
    return meeting, user


def _storage(storage_dir: str | None) -> Path:
    return Path(storage_dir) if storage_dir else settings.storage_dir


def run_generate(meeting_id: int, user_id: int, kind: str, job_id: str,
                 storage_dir: str | None = None, pdf: bool = True,
                 signer: dict[str, Any] | None = None, *,
                 scope: Scope = session_scope, push: Push = emit) -> int | None:
    """A new draft version; on a failed PDF conversion the DOCX is still kept."""
    storage = _storage(storage_dir)
    if _finished(storage, meeting_id, job_id):
        return None
    report = _reporter(storage, meeting_id, job_id, {"kind": kind, "action": "generate"}, push)
    report(1, "Đã nhận yêu cầu")
    warning = ""
    chosen = SignatoryInput(**signer) if signer else None
    try:
        with heartbeat(storage, meeting_id, job_id), scope() as session:
            earlier = ma.made_by_job(session, job_id)
            if earlier is not None:  # a run of this job that was taken for dead made it
                doc_id = earlier.id
            else:
                meeting, user = _load(session, meeting_id, user_id)
                try:
                    doc = ma.generate_document(session, user, meeting, kind, storage, pdf=pdf,
                                               signer=chosen, progress=lambda p, m: report(p, m),
                                               job_id=job_id)
                except ConversionError as exc:
                    session.rollback()
                    logger.warning("minutes PDF of meeting %s failed: %s", meeting_id, exc)
                    warning = "Chưa tạo được bản PDF (LibreOffice); bản DOCX đã sẵn sàng."
                    meeting, user = _load(session, meeting_id, user_id)
                    doc = ma.generate_document(session, user, meeting, kind, storage, pdf=False,
                                               signer=chosen, progress=lambda p, m: report(p, m),
                                               job_id=job_id)
                doc_id = doc.id
    except IntegrityError:
        # Another run of this job (re-queued while this one was in fact alive) committed
        # its version first: that one is the job's result.
        with scope() as session:
            earlier = ma.made_by_job(session, job_id)
            if earlier is None:
                raise
            doc_id = earlier.id
        logger.warning("minutes job %s: another run made the version; this run's is dropped",
                       job_id)
    except DomainError as exc:
        report(100, exc.message, "failed", error=exc.code)
        return None
    except Exception as exc:
        report(100, "Lỗi hệ thống khi lập văn bản.", "failed", error="internal")
        logger.exception("generation of %s for meeting %s failed", kind, meeting_id)
        raise exc
    report(100, warning or "Hoàn thành", "done", document_id=doc_id, warning=warning)
    return doc_id


def run_issue(document_id: int, user_id: int, job_id: str, storage_dir: str | None = None,
              pdf: bool = True, *, scope: Scope = session_scope, push: Push = emit,
              instance: Path | None = None) -> int | None:
    """Number, final files, signature, distribution; all or nothing."""
    storage = _storage(storage_dir)
    with scope() as session:
        doc = session.get(MinutesDocument, document_id)
        meeting_id, kind = (doc.meeting_id, doc.kind) if doc is not None else (0, "")
    if _finished(storage, meeting_id, job_id):
        return None
    report = _reporter(storage, meeting_id, job_id, {"kind": kind, "action": "issue",
                                                     "document_id": document_id}, push)
    report(1, "Đang ban hành")
    try:
        with heartbeat(storage, meeting_id, job_id), scope() as session:
            # One issuance at a time per document: a second run of this job (re-queued
            # while the first was alive) waits here, then finds the document issued.
            doc = session.get(MinutesDocument, document_id, with_for_update=True)
            if doc is None:
                doc = ma.get_document(session, document_id)  # NotFound
            user = session.get(User, user_id)
            if user is None:
                raise LookupError(f"user {user_id} is gone")
            if doc.status == DocStatus.ISSUED.value and doc.number_text:
                logger.warning("document %s already issued; job %s ends done", document_id, job_id)
            else:
                _issue(session, doc, user, storage, instance, pdf, report)
            number = doc.number_text
    except DomainError as exc:
        report(100, exc.message, "failed", error=exc.code)
        return None
    except (ConversionError, SigningError) as exc:
        logger.warning("issuing document %s failed: %s", document_id, exc)
        report(100, "Không tạo hoặc ký được bản PDF; văn bản chưa được ban hành.", "failed",
               error="pdf")
        return None
    except Exception:
        report(100, "Lỗi hệ thống khi ban hành văn bản.", "failed", error="internal")
        logger.exception("issuing document %s failed", document_id)
        raise
    report(100, f"Đã ban hành số {number}", "done", number=number)
    return document_id


def _issue(session: Session, doc: MinutesDocument, user: User, storage: Path,
           instance: Path | None, pdf: bool, report: Callable[..., dict[str, Any]]) -> None:
    signing = signing_config(doc.meeting, instance) if pdf else None
    demo = demo_certificate(doc.meeting, instance) if pdf else None
    if demo is not None:  # the demo makes its own signers' material
        meeting = doc.meeting
        signers = [session.get(User, i) for i in (meeting.chair_id, meeting.secretary_id,
                                                  doc.signer_id) if i is not None]
        unit, _agency = agency_for(meeting)
        ensure_demo_profiles(session, [u for u in signers if u is not None], unit, demo)
    ma.issue_document(session, user, doc, storage, signing=signing, pdf=pdf,
                      progress=lambda p, m: report(p, m))


@celery.task(name="tasks.minutes.generate", acks_late=True)
def generate(meeting_id: int, user_id: int, kind: str, job_id: str,
             storage_dir: str | None = None, pdf: bool = True,
             signer: dict[str, Any] | None = None) -> int | None:
    return run_generate(meeting_id, user_id, kind, job_id, storage_dir, pdf, signer)


@celery.task(name="tasks.minutes.issue", acks_late=True)
def issue(document_id: int, user_id: int, job_id: str, storage_dir: str | None = None,
          pdf: bool = True) -> int | None:
    """Safe to run twice: an issued document refuses a second issuance (nothing changes)."""
    return run_issue(document_id, user_id, job_id, storage_dir, pdf)


@celery.task(name="tasks.minutes.sweep_jobs")
def sweep_jobs(storage_dir: str | None = None) -> dict[str, list[str]]:
    """Beat task: minutes jobs whose worker died are re-queued or failed (see the top)."""
    return sweep(_storage(storage_dir), stale_seconds())


def stale_seconds() -> float:
    """GIAOBAN_JOB_STALE_SECONDS (default 120): how long a job may go without progress."""
    return job_stale_seconds()


@celery.task(name="tasks.minutes.attendance")
def attendance(meeting_id: int, user_id: int, storage_dir: str | None = None) -> list[str]:
    """Write the attendance report (XLSX, DOCX) beside the minutes; returns the paths."""
    with session_scope() as session:
        meeting, user = _load(session, meeting_id, user_id)
        paths = ma.write_attendance_report(session, user, meeting, _storage(storage_dir))
    return [str(p) for p in paths]


@celery.task(name="tasks.minutes.remind_overdue")
def remind_overdue() -> list[int]:
    """Beat task: each overdue task is reminded once per day (claimed in the database)."""
    with session_scope() as session:
        return ma.remind_overdue_tasks(session)
