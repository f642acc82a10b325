"""Issue 13, the issued files: the LibreOffice PDF of the briefing's Biên bản and Thông báo
(text positions with poppler), the visible PAdES signatures (fields, appearance boxes,
signing time zone) checked with pyHanko and with poppler's pdfsig, and the refusal to
issue for a signer without a certificate or an image."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from meetings.actions import minutes as ma
from meetings.actions.signatory import SignatoryInput
from meetings.actions.signing_profiles import demo_seal, ensure_demo_profiles
from meetings.db import make_session_factory
from meetings.demo import create_demo
from meetings.errors import ValidationFailed
from meetings.minutes.signatures import MM, SIGNATURE_WIDTH_MM, text_lines
from meetings.models.minutes import DocStatus, DocumentCounter
from meetings.signing import make_demo_certificate, validate_signed_pdf
from tests.conftest import clean_database

from .briefing import run_briefing
from .domain_helpers import load_world

pytestmark = pytest.mark.office
DOCS = Path(__file__).resolve().parents[2] / "docs"
AGENCY = "Ủy ban nhân dân tỉnh Sông Hồng"


@pytest.fixture(scope="module")
def issued(db_engine, tmp_path_factory):
    """Issued once for the module (two LibreOffice conversions and five signatures)."""
    clean_database(db_engine)
    db_session = make_session_factory(db_engine)()
    meeting = create_demo(db_session)
    db_session.commit()
    assert meeting is not None
    tmp_path = tmp_path_factory.mktemp("issued")
    w = load_world(db_session, meeting.id)
    run_briefing(w)
    s, thuky, chutri = w.session, w.user("thuky"), w.user("chutri")
    store = tmp_path / "store"
    bb = ma.generate_document(s, thuky, w.meeting, "BB", store, pdf=False)
    tb = ma.generate_document(s, thuky, w.meeting, "TB", store, pdf=False,
                              signer=SignatoryInput(w.user("chanhvp").id, "TL.", "CHỦ TỊCH"))
    for doc in (bb, tb):
        ma.submit_document(s, thuky, doc)
        ma.approve_document(s, chutri, doc)
    s.commit()
    cert = make_demo_certificate(AGENCY, tmp_path / "cert")
    config = cert.config("Sông Hồng", image=demo_seal(AGENCY, cert))
    ensure_demo_profiles(s, [chutri, thuky], w.units["tinh"], cert)
    s.commit()
    # bad input: the notice's signer has no certificate nor image -> refused before issue
    with pytest.raises(ValidationFailed) as refused:
        ma.issue_document(s, thuky, tb, store, signing=config)
    assert "Ngô Văn Thành" in refused.value.message
    s.rollback()
    assert tb.status == DocStatus.APPROVED.value and tb.number is None
    assert not s.scalar(select(func.count()).select_from(DocumentCounter))
    assert not list(store.glob("**/TB-0*"))  # nothing numbered, nothing half-signed kept
    ensure_demo_profiles(s, [w.user("chanhvp")], w.units["tinh"], cert)
    ma.issue_document(s, thuky, bb, store, signing=config)
    ma.issue_document(s, thuky, tb, store, signing=config)
    s.commit()
    assert (bb.number_text, tb.number_text) == ("01/BB-UBND", "02/TB-UBND")
    files = {"bb": ma.document_path(store, bb, "signed"),
             "tb": ma.document_path(store, tb, "signed"), "root": cert.root_cert,
             "tmp": tmp_path}
    db_session.close()
    return files


def _line(lines, text):
    return [ln for ln in lines if ln.text == text]


def test_recipients_and_signatures_share_a_page(issued):
    for key, titles in (("bb", ("THƯ KÝ", "CHỦ TỌA")), ("tb", ("CHÁNH VĂN PHÒNG",))):
        lines = text_lines(issued[key])
        recipients = _line(lines, "Nơi nhận:")
        assert len(recipients) == 1
        for title in titles:
            (block,) = _line(lines, title)
            assert block.page == recipients[0].page
        if key == "bb":  # Nơi nhận below the signatures; THƯ KÝ left of CHỦ TỌA
            (left,), (right,) = _line(lines, "THƯ KÝ"), _line(lines, "CHỦ TỌA")
            assert left.x2 < right.x1 and abs(left.y1 - right.y1) < 1
            assert recipients[0].y1 > _line(lines, "Trần Minh Tuấn")[-1].y2


def test_signatures_where_appendix_one_puts_them(issued):
    report = validate_signed_pdf(issued["bb"], [issued["root"]])
    assert report.ok and report.valid and report.intact, report
    assert [sig.field for sig in report.signatures] == ["ThuKy", "ChuToa", "CoQuan"]
    assert all(sig.ok for sig in report.signatures)
    assert [sig.signer for sig in report.signatures][1].startswith("Common Name: Trần Minh")
    for sig in report.signatures:  # signing time stated in Vietnam's zone
        assert sig.signed_at is not None and sig.signed_at.utcoffset() == timedelta(hours=7)
    boxes = {sig.field: sig.box for sig in report.signatures}
    assert all(box is not None for box in boxes.values())  # visible, not zero-size
    lines = text_lines(issued["bb"])
    page_h = lines[0].page_height
    for field, title, name in (("ChuToa", "CHỦ TỌA", "Trần Minh Tuấn"),
                               ("ThuKy", "THƯ KÝ", "Lê Thị Hương")):
        x1, y1, x2, y2 = boxes[field]
        (t,) = _line(lines, title)
        n = [ln for ln in _line(lines, name) if ln.page == t.page][-1]
        assert page_h - t.y2 >= y2 - 3 and page_h - n.y1 <= y1 + 3  # between title and name
        assert abs((x1 + x2) / 2 - (n.x1 + n.x2) / 2) < 2  # centred on the name
        assert abs((x2 - x1) - SIGNATURE_WIDTH_MM * MM) < 1
    sx1, _sy1, sx2, _sy2 = boxes["ChuToa"]
    cx1, _cy1, cx2, _cy2 = boxes["CoQuan"]
    overlap = (min(cx2, sx2) - max(cx1, sx1)) / (sx2 - sx1)
    assert 0.28 < overlap < 0.38 and cx1 < sx1  # the seal covers the left third
    text = subprocess.run(["pdftotext", str(issued["bb"]), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert AGENCY in text  # the seal's appearance names the agency ...
    assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00", text)  # ... and the time
    tb = validate_signed_pdf(issued["tb"], [issued["root"]])
    assert tb.ok and [sig.field for sig in tb.signatures] == ["NguoiKy", "CoQuan"]
    assert tb.signatures[0].signer.startswith("Common Name: Ngô Văn Thành")


@pytest.mark.skipif(shutil.which("pdfsig") is None, reason="poppler pdfsig not installed")
def test_poppler_accepts_every_signature(issued):
    out = subprocess.run(["pdfsig", str(issued["bb"])], capture_output=True, text=True).stdout
    assert out.count("Signature Validation: Signature is Valid.") == 3, out
    assert out.count("ETSI.CAdES.detached") == 3
    assert "Total document signed" in out.split("Signature #3")[1]


def test_one_changed_byte_is_invalid(issued):
    data = bytearray(issued["bb"].read_bytes())
    ranges = [int(x) for x in re.search(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)",
                                        bytes(data)).groups()]
    data[ranges[1] // 2] ^= 0x01  # inside the first signature's range: every one covers it
    bad = issued["tmp"] / "bb-changed.pdf"
    bad.write_bytes(bytes(data))
    report = validate_signed_pdf(bad, [issued["root"]])
    assert report.signed and not report.ok and not report.valid and not report.intact
    assert all(not sig.ok for sig in report.signatures)
    if shutil.which("pdfsig"):
        out = subprocess.run(["pdfsig", str(bad)], capture_output=True, text=True).stdout
        assert "Signature is Valid." not in out


def test_pages_rendered_for_the_docs(issued):
    """The issued pages as PNG (looked at by a person; refreshed with GIAOBAN_UPDATE_DOCS=1)."""
    out = issued["tmp"] / "png"
    out.mkdir(exist_ok=True)
    for key in ("bb", "tb"):
        subprocess.run(["pdftoppm", "-r", "60", "-png", str(issued[key]), str(out / key)],
                       check=True)
    pages = sorted(out.glob("*.png"))
    assert len(pages) >= 3 and all(p.stat().st_size > 10_000 for p in pages)
    if os.environ.get("GIAOBAN_UPDATE_DOCS") == "1":
        for key, name in (("bb", "minutes-bien-ban"), ("tb", "minutes-thong-bao")):
            mine = sorted(out.glob(f"{key}-*.png"))
            shutil.copy(mine[0], DOCS / f"{name}.png")
            shutil.copy(mine[-1], DOCS / f"{name}-ky.png")
