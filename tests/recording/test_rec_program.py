"""The program builder resumes an interrupted build from the parts already encoded."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import av
import pytest
from rec_kit import decode_all, synthetic_recording

from core.recording_manifest import read_journal
from meetings.recording.program import ProgramSettings, SegmentRef, build_program
from meetings.recording.timeline import lay_out

SETTINGS = ProgramSettings(width=320, height=240, fps=10, part_seconds=2.0, preset="ultrafast")


class Interrupted(Exception):
    pass


def test_interrupted_build_resumes_from_encoded_parts(tmp_path: Path) -> None:
    directory = synthetic_recording(tmp_path, "9", [(0.0, "hall", "1"), (2.0, "speaker", "2")], 6.0)
    journal = read_journal(directory)
    assert journal is not None
    refs = [SegmentRef(directory / s.file, s.slot, s.participant or "", journal.wall + s.t0,
                       journal.wall + (s.t1 or s.t0), s.video is not None, s.audio is not None)
            for s in journal.segments]
    start = datetime.fromtimestamp(journal.wall, UTC)
    end = datetime.fromtimestamp(journal.wall + journal.end_t, UTC)
    spans = lay_out([(start, end)])
    out = tmp_path / "program" / "program.mp4"
    out.parent.mkdir()

    def stop_after_two(done: int, total: int) -> None:
        if done == 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        build_program(refs, spans, [], out, SETTINGS, progress=stop_after_two)
    assert not out.exists()
    (work,) = out.parent.glob("work-*")
    parts = sorted(work.glob("part-*.mkv"))
    assert [p.name for p in parts] == ["part-00001.mkv", "part-00002.mkv"]
    kept = {p.name: p.stat().st_mtime_ns for p in parts}
    seen: dict[str, int] = {}

    result = build_program(refs, spans, [], out, SETTINGS, progress=lambda done, total: seen.update(
        {p.name: p.stat().st_mtime_ns for p in work.glob("part-0000[12].mkv")}))
    assert result.parts >= 3 and result.parts_built == result.parts - 2  # only missing parts
    assert seen == kept  # the first two parts were reused as they were
    assert not list(out.parent.glob("work-*"))  # work folder cleaned once joined
    assert abs(result.seconds - journal.end_t) < 0.5
    video, audio = decode_all(out)
    assert video >= int(journal.end_t * SETTINGS.fps) - 2 and audio > 0
    with av.open(str(out)) as container:
        assert abs(container.duration / 1e6 - journal.end_t) < 0.5

    again = build_program(refs, spans, [], out, SETTINGS, done_hash=result.inputs)
    assert again.skipped
