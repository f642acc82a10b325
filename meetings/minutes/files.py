"""Writing a minutes document to storage: DOCX, the LibreOffice PDF beside it, and the
digitally signed PDF of an issued document. No database here."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from meetings.office import convert_to_pdf
from meetings.signing import SigningConfig, sign_pdf

from .bien_ban import render_bien_ban
from .data import MinutesData
from .signatures import SignerSlot, sign_blocks
from .thong_bao import render_thong_bao

logger = logging.getLogger(__name__)

Progress = Callable[[int, str], None]


@dataclass(frozen=True)
class WrittenFiles:
    docx: Path
    pdf: Path | None = None
    signed_pdf: Path | None = None


def _noop(_percent: int, _message: str) -> None:
    return None


def render(kind: str, data: MinutesData):
    if kind == "BB":
        return render_bien_ban(data)
    if kind == "TB":
        return render_thong_bao(data)
    raise ValueError(f"unknown minutes kind {kind!r}")


def write_files(kind: str, data: MinutesData, folder: Path, stem: str, *, pdf: bool = True,
                signing: SigningConfig | None = None, reason: str = "Ban hành văn bản",
                signers: tuple[list[SignerSlot], SignerSlot | None] | None = None,
                progress: Progress | None = None) -> WrittenFiles:
    """DOCX (+ PDF, + signed PDF) in ``folder``. ``signers`` (people in order, then the
    agency) puts visible signatures at the signature blocks; ``signing`` alone adds one
    invisible agency signature."""
    step = progress or _noop
    folder.mkdir(parents=True, exist_ok=True)
    step(10, "Đang soạn văn bản")
    document = render(kind, data)
    docx_path = folder / f"{stem}.docx"
    # one temporary name per writer: two runs of one job (a re-run while the first still
    # lives) must not rename each other's file away
    tmp = folder / f".{stem}.docx.{secrets.token_hex(4)}.part"
    document.save(str(tmp))
    tmp.replace(docx_path)
    if not pdf:
        step(100, "Hoàn thành")
        return WrittenFiles(docx_path)
    step(50, "Đang chuyển sang PDF")
    pdf_path = convert_to_pdf(docx_path, folder)
    signed = None
    if signers is not None:
        step(85, "Đang ký số")
        signed = sign_blocks(pdf_path, folder / f"{stem}-signed.pdf", signers[0], signers[1])
    elif signing is not None:
        step(85, "Đang ký số")
        signed = sign_pdf(pdf_path, folder / f"{stem}-signed.pdf", signing, reason=reason)
    step(100, "Hoàn thành")
    return WrittenFiles(docx_path, pdf_path, signed)
