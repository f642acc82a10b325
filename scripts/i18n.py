"""Refresh the English catalogue from the Vietnamese source strings.

    .venv/bin/python scripts/i18n.py            # extract, merge into en/messages.po
    .venv/bin/python scripts/i18n.py --missing  # list msgids without an English text

The interface is written in Vietnamese (the source language); English is the translation.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "web/translations/en/LC_MESSAGES/messages.po"
POT = ROOT / "web/translations/messages.pot"
BABEL = str(ROOT / ".venv/bin/pybabel")


def main() -> int:
    subprocess.run([BABEL, "extract", "-F", str(ROOT / "babel.cfg"), "-k", "_l", "--no-location",
                    "--sort-output", "-o", str(POT), str(ROOT)], check=True, capture_output=True)
    if PO.exists():
        subprocess.run([BABEL, "update", "-i", str(POT), "-d", str(ROOT / "web/translations"),
                        "-l", "en", "--no-fuzzy-matching"], check=True, capture_output=True)
    else:
        subprocess.run([BABEL, "init", "-i", str(POT), "-d", str(ROOT / "web/translations"),
                        "-l", "en"], check=True, capture_output=True)
    from babel.messages.pofile import read_po

    with PO.open("rb") as fh:
        catalog = read_po(fh)
    missing = [m.id for m in catalog if m.id and not m.string]
    if "--missing" in sys.argv:
        print("\n".join(str(m) for m in missing))
    print(f"{len(missing)} untranslated", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
