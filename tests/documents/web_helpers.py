"""Helpers for the web tests of documents: uploading with fields first, then the file."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any


def upload(api: Any, meeting_id: int, data: bytes | Path, name: str, **fields: Any) -> Any:
    payload = data.read_bytes() if isinstance(data, Path) else data
    form: dict[str, Any] = {k: (",".join(map(str, v)) if isinstance(v, list | tuple) else str(v))
                            for k, v in fields.items()}
    form["file"] = (io.BytesIO(payload), name)
    return api.post(f"/api/v1/meetings/{meeting_id}/documents", data=form,
                    content_type="multipart/form-data")


def pdf_page_texts(data: bytes, tmp: Path) -> list[str]:
    """Text of every page of a PDF given as bytes (pdftotext, one string per page)."""
    import subprocess

    path = tmp / f"check-{abs(hash(data))}.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True)
    pages = out.stdout.decode("utf-8").split("\f")
    return [p for p in pages[:-1]] if pages and pages[-1].strip() == "" else pages
