"""Issuance with the real LibreOffice PDF and the agency's digital signature (the demo
certificate): the signed PDF validates, and fails after one byte of the file changes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from meetings.signing import validate_signed_pdf
from tasks.minutes import trust_roots

from .conftest import agenda_ids, end

pytestmark = pytest.mark.office


def _done(api, meeting_id, resp):
    assert resp.status_code == 202, resp.get_json()
    job = api.get(f"/api/v1/meetings/{meeting_id}/minutes/jobs/{resp.get_json()['job']}")
    state = job.get_json()["job"]
    assert state["state"] == "done", state
    return state


def test_issued_pdf_is_signed_and_tamper_evident(eager, app, login, live_meeting, tmp_path):
    thuky, chair = login("thuky"), login("chutri")
    item = agenda_ids(thuky, live_meeting)[0]
    thuky.put(f"/api/v1/meetings/{live_meeting}/notes/{item}",
              json={"version": 0, "conclusions_html": "<p>Thống nhất chương trình.</p>"})
    end(chair, live_meeting)
    # the draft without PDF (fast); the issued one with LibreOffice PDF and signature
    made = _done(thuky, live_meeting, thuky.post(f"/api/v1/meetings/{live_meeting}/minutes",
                                                 json={"kind": "TB"}))
    doc_id = made["document_id"]
    assert thuky.post(f"/api/v1/minutes/{doc_id}/submit").status_code == 200
    assert chair.post(f"/api/v1/minutes/{doc_id}/approve").status_code == 200
    app.config["MINUTES_PDF"] = True
    issued = _done(thuky, live_meeting, thuky.post(f"/api/v1/minutes/{doc_id}/issue"))
    assert re.fullmatch(r"Đã ban hành số 01/TB-UBND", issued["message"]), issued
    doc = thuky.get(f"/api/v1/minutes/{doc_id}").get_json()["document"]
    assert set(doc["files"]) == {"docx", "pdf", "signed"}
    check = thuky.get(f"/api/v1/minutes/{doc_id}/signature").get_json()["signature"]
    assert check["ok"] and "Ủy ban nhân dân tỉnh Sông Hồng" in check["signer"]
    signed = login("daibieu.stc").get(f"/api/v1/minutes/{doc_id}/files/signed")
    assert signed.status_code == 200 and signed.data.startswith(b"%PDF")
    path = tmp_path / "tb.pdf"
    path.write_bytes(signed.data)
    roots = trust_roots(Path(app.instance_path))
    assert validate_signed_pdf(path, roots).ok
    # one byte changed inside the signed range: the validation fails
    data = bytearray(signed.data)
    ranges = [int(x) for x in re.search(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)",
                                        bytes(data)).groups()]
    offset = ranges[0] + ranges[1] // 2
    data[offset] ^= 0x01
    tampered = tmp_path / "tb-altered.pdf"
    tampered.write_bytes(bytes(data))
    assert not validate_signed_pdf(tampered, roots).ok
    # the stored file is untouched and still valid
    assert thuky.get(f"/api/v1/minutes/{doc_id}/signature").get_json()["signature"]["ok"]
