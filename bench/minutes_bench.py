"""Minutes benchmark: Biên bản DOCX for a large briefing (200 endpoints, 20 agenda items,
1,000 floor turns, 5 votes; target <= 2 s) and LibreOffice PDF conversion, printed.

    .venv/bin/python bench/minutes_bench.py [--runs 3] [--no-pdf] [--png docs/]

--png writes the first page of each document as docs/minutes-bien-ban.png and
docs/minutes-thong-bao.png.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from meetings.minutes.bien_ban import render_bien_ban  # noqa: E402
from meetings.minutes.sample import large_meeting  # noqa: E402
from meetings.minutes.thong_bao import render_thong_bao  # noqa: E402
from meetings.office import convert_to_pdf, pdf_page_count, render_page_png  # noqa: E402
from meetings.signing import make_demo_certificate, sign_pdf  # noqa: E402

logger = logging.getLogger(__name__)


def _timed(fn, runs: int) -> tuple[list[float], object]:
    times, result = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return times, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-pdf", action="store_true")
    parser.add_argument("--png", type=Path, default=None, help="folder for first-page PNGs")
    args = parser.parse_args()

    data = large_meeting()
    turns = sum(len(i.floor_turns) for i in data.agenda)
    votes = sum(len(i.votes) for i in data.agenda)
    print(f"meeting: {len(data.endpoints)} endpoints, {len(data.agenda)} agenda items, "
          f"{turns} floor turns, {votes} votes")
    with tempfile.TemporaryDirectory(prefix="minutes-bench-") as tmp:
        out = Path(tmp)
        bb_path, tb_path = out / "bien-ban.docx", out / "thong-bao.docx"

        def bb() -> None:
            render_bien_ban(data).save(str(bb_path))

        def tb() -> None:
            render_thong_bao(data).save(str(tb_path))

        times, _ = _timed(bb, args.runs)
        print(f"Biên bản DOCX (render + save): median {statistics.median(times):.3f} s, "
              f"min {min(times):.3f} s, max {max(times):.3f} s over {args.runs} runs "
              f"(first run includes font metrics loading) -> "
              f"{'OK' if statistics.median(times) <= 2.0 else 'OVER'} the 2 s target; "
              f"{bb_path.stat().st_size / 1024:.0f} KiB")
        times, _ = _timed(tb, args.runs)
        print(f"Thông báo DOCX (render + save): median {statistics.median(times):.3f} s")
        if args.no_pdf:
            return 0
        t0 = time.perf_counter()
        bb_pdf = convert_to_pdf(bb_path, out)
        t_bb = time.perf_counter() - t0
        t0 = time.perf_counter()
        tb_pdf = convert_to_pdf(tb_path, out)
        t_tb = time.perf_counter() - t0
        print(f"LibreOffice PDF: Biên bản {t_bb:.2f} s ({pdf_page_count(bb_pdf)} pages), "
              f"Thông báo {t_tb:.2f} s ({pdf_page_count(tb_pdf)} pages)")
        demo = make_demo_certificate("Ủy ban nhân dân tỉnh Hà Tĩnh", out / "cert")
        t0 = time.perf_counter()
        sign_pdf(tb_pdf, out / "signed.pdf", demo.config("Hà Tĩnh"))
        print(f"PAdES signature of the Thông báo PDF: {time.perf_counter() - t0:.3f} s")
        if args.png:
            args.png.mkdir(parents=True, exist_ok=True)
            for pdf, name in ((bb_pdf, "minutes-bien-ban.png"),
                              (tb_pdf, "minutes-thong-bao.png")):
                target = render_page_png(pdf, args.png / name, page=1, width=1240)
                print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
