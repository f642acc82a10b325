"""Reading a multipart/form-data upload as a stream: fields first, then one file, in chunks.

The whole body never sits in memory or in a temporary file of Werkzeug's: the file's bytes
go straight from the socket to the document store.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import BinaryIO

from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

from meetings.errors import ValidationFailed

logger = logging.getLogger(__name__)

CHUNK = 256 * 1024
MAX_FIELD_BYTES = 64 * 1024


class MultipartUpload:
    """``fields`` and ``filename`` are known after ``start()``; then iterate ``file_chunks()``."""

    def __init__(self, stream: BinaryIO, content_type: str, chunk: int = CHUNK) -> None:
        mimetype, options = parse_options_header(content_type or "")
        boundary = options.get("boundary")
        if mimetype != "multipart/form-data" or not boundary:
            raise ValidationFailed("Cần gửi tệp theo kiểu multipart/form-data.",
                                   {"file": "Trường này là bắt buộc."})
        self.stream = stream
        self.chunk = chunk
        self.decoder = MultipartDecoder(boundary.encode("latin-1"))
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self._pending: list[bytes] = []
        self._file_done = False
        self._ended = False

    def _events(self) -> Iterator[object]:
        while True:
            try:
                event = self.decoder.next_event()
            except ValueError as exc:  # truncated or malformed body
                raise ValidationFailed("Dữ liệu tải lên bị cắt ngang hoặc sai định dạng.",
                                       {"file": "truncated"}) from exc
            if isinstance(event, NeedData):
                if self._ended:
                    raise ValidationFailed("Dữ liệu tải lên bị cắt ngang.", {"file": "truncated"})
                data = self.stream.read(self.chunk)
                if not data:
                    self._ended = True
                    self.decoder.receive_data(None)
                else:
                    self.decoder.receive_data(data)
                continue
            yield event
            if isinstance(event, Epilogue):
                return

    def start(self) -> None:
        """Read the fields that come before the file, up to the file's first bytes."""
        self._iter = self._events()
        current: str | None = None
        parts: list[bytes] = []
        size = 0
        for event in self._iter:
            if isinstance(event, File):
                if not event.filename:
                    continue
                self.filename = event.filename
                return
            if isinstance(event, Field):
                current, parts, size = event.name, [], 0
            elif isinstance(event, Data) and current is not None:
                size += len(event.data)
                if size > MAX_FIELD_BYTES:
                    raise ValidationFailed("Trường dữ liệu quá dài.", {current: "too long"})
                parts.append(event.data)
                if not event.more_data:
                    self.fields[current] = b"".join(parts).decode("utf-8", "replace")
                    current = None
            elif isinstance(event, Epilogue):
                break
        raise ValidationFailed("Chưa chọn tệp để tải lên.", {"file": "Trường này là bắt buộc."})

    def file_chunks(self) -> Iterator[bytes]:
        """The file's bytes; the rest of the body after the file is read and ignored."""
        for event in self._iter:
            if isinstance(event, Data) and not self._file_done:
                if event.data:
                    yield event.data
                if not event.more_data:
                    self._file_done = True
            elif isinstance(event, File) and self._file_done:
                raise ValidationFailed("Mỗi lần chỉ tải lên một tệp.", {"file": "one file per request"})
