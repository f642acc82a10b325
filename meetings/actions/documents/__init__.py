"""Meeting documents: upload, versions, conversion, publication, reading, receipts, comments.

One module per concept (rights in ``access``); every name is also importable from here,
as ``from meetings.actions import documents as docs; docs.upload(...)``.
"""

from __future__ import annotations

from meetings.actions.documents.access import (
    NOT_FOUND,
    audience_ids,
    can_manage_documents,
    can_read,
    get_managed,
    get_readable,
    get_version,
    is_named_reader,
    is_published_to,
    may_download,
    visible_documents,
)
from meetings.actions.documents.comments import (
    MAX_COMMENT_CHARS,
    add_comment,
    comment_rows,
    comments,
)
from meetings.actions.documents.conversion import (
    convert_version,
    stale_versions,
)
from meetings.actions.documents.publishing import (
    PRESENT_REFUSALS,
    check_presentable,
    is_published,
    presentable_version,
    publish,
    unpublish,
)
from meetings.actions.documents.reading import (
    REUSE_STAMPED_SECONDS,
    ReceiptLine,
    meeting_read_report,
    packet_documents,
    reading_file,
    receipts,
    record_open,
    search,
    stamp_label,
)
from meetings.actions.documents.upload import (
    UPDATE_FIELDS,
    UploadInput,
    check_may_upload,
    delete_document,
    parse_upload,
    reject_message,
    remove_files,
    update_document,
    upload,
)

__all__ = [
    "MAX_COMMENT_CHARS",
    "NOT_FOUND",
    "PRESENT_REFUSALS",
    "REUSE_STAMPED_SECONDS",
    "ReceiptLine",
    "UPDATE_FIELDS",
    "UploadInput",
    "add_comment",
    "audience_ids",
    "can_manage_documents",
    "can_read",
    "check_may_upload",
    "check_presentable",
    "comment_rows",
    "comments",
    "convert_version",
    "delete_document",
    "get_managed",
    "get_readable",
    "get_version",
    "is_named_reader",
    "is_published",
    "is_published_to",
    "may_download",
    "meeting_read_report",
    "packet_documents",
    "parse_upload",
    "presentable_version",
    "publish",
    "reading_file",
    "receipts",
    "record_open",
    "reject_message",
    "remove_files",
    "search",
    "stale_versions",
    "stamp_label",
    "unpublish",
    "update_document",
    "upload",
    "visible_documents",
]
