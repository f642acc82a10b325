from __future__ import annotations

from pathlib import Path

import pytest

from meetings.documents.storage import DocumentStore


@pytest.fixture
def store(tmp_path: Path) -> DocumentStore:
    return DocumentStore(tmp_path / "storage", max_bytes=5 * 1024 * 1024, chunk_size=64 * 1024)
