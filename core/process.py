"""Process plumbing shared by the entry points."""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import threading
import time

logger = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1


def signal_on_parent_death(sig: int) -> None:
    """Linux ``prctl(PR_SET_PDEATHSIG)``: this process gets ``sig`` when the thread that
    started it dies (even by SIGKILL). Raises OSError when the kernel refuses."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG)")


def die_with_parent() -> None:
    """Linux: this process gets SIGKILL when its parent dies. gunicorn's worker (where the
    web app and every open WebSocket live) would otherwise outlive a master killed by
    `kill -9`: browsers would stay connected to an orphan that supervisor no longer sees,
    instead of reconnecting to the new web process."""
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    try:
        signal_on_parent_death(signal.SIGKILL)
    except (OSError, AttributeError) as exc:
        logger.warning("cannot tie this process to its parent: %s", exc)
        return
    if os.getppid() != parent:  # the parent died before the call
        os.kill(os.getpid(), signal.SIGKILL)


def exit_when_orphaned(every: float = 1.0) -> threading.Thread:
    """Watch the parent from a thread; when it dies (this process is re-parented), end at
    once: with the dead parent's whole process group when the parent led one (as under
    supervisor or systemd: its other children and their LibreOffice go too), else alone.

    For Celery's pool processes: after `kill -9` of the worker they would otherwise finish
    their job as orphans that supervisor does not see. (PR_SET_PDEATHSIG is tied to the
    thread that forked, which for a re-spawned pool process is a pool thread that ends
    before the pool's processes on a warm shutdown.)"""
    parent = os.getppid()
    group_of_parent = os.getpgrp() == parent

    def watch() -> None:
        while True:
            time.sleep(every)
            if os.getppid() != parent:
                logger.error("parent %d died; this process (%d) ends", parent, os.getpid())
                if group_of_parent:
                    os.killpg(parent, signal.SIGKILL)
                os.kill(os.getpid(), signal.SIGKILL)

    thread = threading.Thread(target=watch, name="orphan-watch", daemon=True)
    thread.start()
    return thread
