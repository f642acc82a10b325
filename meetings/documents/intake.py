"""Taking in one uploaded file: name check, streamed write, content check, commit."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO

from meetings.documents.detect import FileKind, ZipLimits, check_upload
from meetings.documents.names import display_name
from meetings.documents.storage import DocumentStore, StoredFile, new_key

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Accepted:
    key: str  # storage key of this version's files
    name: str  # original name, for display
    kind: FileKind
    stored: StoredFile


def accept_upload(
    store: DocumentStore,
    source: BinaryIO | Iterable[bytes],
    filename: str,
    zip_limits: ZipLimits | None = None,
) -> Accepted:
    """Store one upload, or raise UploadRejected leaving nothing on disk.

    The name is checked before a byte is read; the content is streamed to disk with the
    size limit enforced on the way; the type is then judged from the content and must
    agree with the name's extension.
    """
    name = display_name(filename)
    with store.receive(source) as incoming:
        kind = check_upload(incoming.path, name, zip_limits)
        key = new_key()
        stored = store.commit(incoming, key, kind.ext)
    logger.info("accepted upload %r as %s (%s)", name, stored.relpath, kind.ext)
    return Accepted(key=key, name=name, kind=kind, stored=stored)
