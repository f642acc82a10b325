from __future__ import annotations

from pathlib import Path

import pytest

from meetings.documents.storage import DocumentStore


@pytest.fixture
def store(tmp_path: Path) -> DocumentStore:
    return DocumentStore(tmp_path / "storage", max_bytes=5 * 1024 * 1024, chunk_size=64 * 1024)


@pytest.fixture
def doc_app(app):
    """The app (create_app registers the documents blueprint; registered here too if a
    future create_app drops it), converting in-process so tests see LibreOffice's result."""
    from web.documents import bp

    if "documents" not in app.blueprints:
        app.register_blueprint(bp)
    app.config["DOCUMENTS_CONVERT_EAGER"] = True
    return app
