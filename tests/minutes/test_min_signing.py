"""PAdES signature: signs, validates, and fails after one byte of the file changes."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from meetings.signing import (
    SigningConfig,
    SigningError,
    ensure_demo_certificate,
    make_demo_certificate,
    sign_pdf,
    validate_signed_pdf,
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return make_demo_certificate("Ủy ban nhân dân tỉnh Hà Tĩnh",
                                 tmp_path_factory.mktemp("cert"))


@pytest.fixture(scope="module")
def plain_pdf(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("pdf") / "thong-bao.pdf"
    c = canvas.Canvas(str(path), pagesize=A4, pageCompression=0)  # text findable
    c.drawString(100, 700, "Thong bao ket luan so 12/TB-UBND")
    c.showPage()
    c.save()
    return path


def _signed_ranges(data: bytes) -> list[int]:
    m = re.search(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", data)
    assert m, "no /ByteRange in the signed file"
    return [int(x) for x in m.groups()]


def _flip(src: Path, dst: Path, offset: int) -> Path:
    data = bytearray(src.read_bytes())
    data[offset] ^= 0x01
    dst.write_bytes(bytes(data))
    return dst


def test_sign_and_validate(demo, plain_pdf, tmp_path):
    signed = sign_pdf(plain_pdf, tmp_path / "signed.pdf", demo.config("Hà Tĩnh"))
    report = validate_signed_pdf(signed, [demo.root_cert])
    assert report.ok, report
    assert "Ủy ban nhân dân tỉnh Hà Tĩnh" in report.signer
    assert report.signed_at is not None
    # the original is not a signed file
    assert not validate_signed_pdf(plain_pdf, [demo.root_cert]).signed


def test_one_changed_byte_breaks_it(demo, plain_pdf, tmp_path):
    signed = sign_pdf(plain_pdf, tmp_path / "signed.pdf", demo.config())
    data = signed.read_bytes()
    start1, len1, start2, len2 = _signed_ranges(data)
    assert start1 == 0 and start2 + len2 == len(data)  # the whole file except the signature
    in_content = _flip(signed, tmp_path / "content.pdf", data.index(b"Thong bao"))
    report = validate_signed_pdf(in_content, [demo.root_cert])
    assert report.signed and not report.intact and not report.ok
    in_signature = _flip(signed, tmp_path / "sig.pdf", len1 + (start2 - len1) // 2)
    report = validate_signed_pdf(in_signature, [demo.root_cert])
    assert not report.ok


def test_untrusted_root_is_not_trusted(demo, plain_pdf, tmp_path):
    other = make_demo_certificate("Cơ quan khác", tmp_path / "other")
    signed = sign_pdf(plain_pdf, tmp_path / "signed.pdf", demo.config())
    report = validate_signed_pdf(signed, [other.root_cert])
    assert report.intact and not report.trusted and not report.ok


def test_pem_key_and_certificate(demo, plain_pdf, tmp_path):
    cfg = SigningConfig(key_path=demo.key, cert_path=demo.cert, chain_paths=(demo.root_cert,))
    signed = sign_pdf(plain_pdf, tmp_path / "pem.pdf", cfg)
    assert validate_signed_pdf(signed, [demo.root_cert]).ok


def test_bad_configuration_is_refused(demo, plain_pdf, tmp_path):
    with pytest.raises(SigningError):
        sign_pdf(plain_pdf, tmp_path / "x.pdf", SigningConfig())
    with pytest.raises(SigningError):
        sign_pdf(plain_pdf, tmp_path / "x.pdf",
                 SigningConfig(pkcs12_path=demo.pkcs12, pkcs12_passphrase=b"wrong"))
    assert not (tmp_path / "x.pdf").exists()


@pytest.mark.skipif(shutil.which("pdfsig") is None, reason="poppler pdfsig not installed")
def test_poppler_pdfsig_agrees(demo, plain_pdf, tmp_path):
    """A second, independent validator (poppler) accepts the signature and sees tampering."""
    signed = sign_pdf(plain_pdf, tmp_path / "signed.pdf", demo.config())
    out = subprocess.run(["pdfsig", str(signed)], capture_output=True, text=True).stdout
    assert "Signature Validation: Signature is Valid." in out
    assert "ETSI.CAdES.detached" in out and "Total document signed" in out
    bad = _flip(signed, tmp_path / "bad.pdf", signed.read_bytes().index(b"Thong bao"))
    out = subprocess.run(["pdfsig", str(bad)], capture_output=True, text=True).stdout
    assert "Signature is Valid." not in out


def test_demo_certificate_is_made_once(tmp_path, plain_pdf):
    first = ensure_demo_certificate("UBND tỉnh Sông Hồng", tmp_path / "demo")
    before = first.cert.read_bytes()
    again = ensure_demo_certificate("UBND tỉnh Sông Hồng", tmp_path / "demo")
    assert again.cert.read_bytes() == before
    signed = sign_pdf(plain_pdf, tmp_path / "s.pdf", again.config())
    assert validate_signed_pdf(signed, [first.root_cert]).ok
