"""Paperless meeting documents: the pure parts (no database, no Flask, no Celery).

Storage of uploaded files, type checks by content, conversion to PDF and previews,
stamping of confidential PDFs, the comments summary table and the meeting packet zip.
"""
