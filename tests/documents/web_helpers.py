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
