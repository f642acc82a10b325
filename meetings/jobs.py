"""Keeping long jobs honest: a job that runs records progress (``progress_at``) on each
step, and a heartbeat while one step runs long (a LibreOffice conversion, an ffmpeg part),
so that a beat sweep can tell a slow job from one whose worker died.

Each kind of job keeps its own state (a document version, a recording, a minutes job
file); what they share is here: the thresholds and the heartbeat thread. A run owns its
job through a token taken when it starts (``claim``); the heartbeat and the final write
check the token, so a run that another run took over (the sweep re-queued it while it was
in fact alive) writes nothing: one result, never two.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

logger = logging.getLogger(__name__)

STALE_SECONDS = 120.0  # a running job with no progress for this long is swept
MAX_RUNS = 3  # runs in all before the sweep marks the job failed
HEARTBEAT_SECONDS = 20.0
INTERRUPTED_VI = ("Tiến trình xử lý bị gián đoạn nhiều lần (máy xử lý dừng đột ngột); "
                  "vui lòng thử lại hoặc báo quản trị hệ thống.")


def heartbeat_every(stale_seconds: float) -> float:
    """How often a running job beats: four beats within the threshold."""
    return max(0.2, min(HEARTBEAT_SECONDS, stale_seconds / 4))


class Beat:
    """What a heartbeat saw: ``lost`` once the job was taken over by another run."""

    def __init__(self) -> None:
        self.lost = threading.Event()


@contextmanager
def heartbeat(touch: Callable[[], bool], every: float, name: str = "job") -> Iterator[Beat]:
    """Call ``touch`` every ``every`` seconds while the block runs. ``touch`` records the
    job's progress time and answers False when this run no longer owns the job; the beat
    then stops and ``Beat.lost`` is set. A failing touch (database briefly away) is logged
    and tried again at the next beat."""
    beat, stop = Beat(), threading.Event()

    def run() -> None:
        while not stop.wait(every):
            try:
                if not touch():
                    logger.warning("%s was taken over by another run", name)
                    beat.lost.set()
                    return
            except Exception:
                logger.exception("heartbeat of %s failed", name)

    thread = threading.Thread(target=run, name=f"heartbeat-{name}", daemon=True)
    thread.start()
    try:
        yield beat
    finally:
        stop.set()
        thread.join(timeout=10)
