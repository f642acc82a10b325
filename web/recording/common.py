"""Shared helpers of the recording pages: the store, enqueueing a build, payloads."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import current_app

from media.recording.config import recordings_dir
from meetings.models import Meeting
from meetings.models.recording import Recording
from meetings.recording.store import RecordingStore

logger = logging.getLogger(__name__)

STATUS_LABELS = {
    "recording": "Đang ghi",
    "stopped": "Đã dừng ghi, chưa dựng tệp",
    "building": "Đang dựng tệp",
    "ready": "Sẵn sàng",
    "failed": "Dựng tệp lỗi",
    "purged": "Đã xóa theo thời hạn lưu trữ",
}


def store() -> RecordingStore:
    root = current_app.config.get("RECORDINGS_DIR") or recordings_dir()
    return RecordingStore(Path(root))


def enqueue_build(meeting_id: int) -> str:
    """Build in a Celery worker; in-process when RECORDING_BUILD_EAGER is set (tests,
    single-process demos). Returns "queued", "built" or "error"."""
    if current_app.config.get("RECORDING_BUILD_EAGER"):
        from meetings.recording import service
        from web.extensions import db

        service.build(db.session, store(), meeting_id,
                      current_app.config.get("RECORDING_PROGRAM_SETTINGS"), settle_seconds=0)
        return "built"
    try:
        from tasks.recording import build_program

        build_program.delay(meeting_id)
        return "queued"
    except Exception:  # broker down: nothing is lost, the housekeeping task retries
        logger.exception("could not enqueue the program of meeting %s", meeting_id)
        return "error"


def recording_dict(meeting: Meeting, recording: Recording) -> dict[str, Any]:
    index = recording.index or {}
    return {
        "meeting_id": meeting.id,
        "status": recording.status,
        "status_label": STATUS_LABELS.get(recording.status, recording.status),
        "progress": recording.progress,
        "recorded_seconds": round(recording.recorded_seconds, 3),
        "program_seconds": round(recording.program_seconds, 3),
        "program_bytes": recording.program_bytes,
        "stop_reason": recording.stop_reason,
        "segments": recording.segment_count,
        "chapters": index.get("chapters", []),
        "floor": index.get("floor", []),
        "speech": index.get("speech", []),
        "expires_at": recording.expires_at.isoformat() if recording.expires_at else None,
    }
