"""The administrator configures signing material; files are checked before saving."""

from __future__ import annotations

from meetings.models.signing import SigningProfile
from meetings.signing import make_demo_certificate
from meetings.signing_demo import issue_person_certificate, signature_image
from tests.conftest import count_rows


def test_admin_sets_a_person_profile(login, demo, db_session, tmp_path):
    cert = make_demo_certificate("Ủy ban nhân dân tỉnh Sông Hồng", tmp_path / "cert")
    p12 = issue_person_certificate(cert, "Ngô Văn Thành", "Văn phòng UBND tỉnh", "chanhvp")
    image = signature_image("Ngô Văn Thành", tmp_path / "chu-ky.png")
    payload = {"user_id": demo.ids["chanhvp"], "pkcs12_path": str(p12),
               "passphrase": cert.passphrase.decode(), "image_path": str(image)}
    assert login("thuky").put("/api/v1/signing-profiles", json=payload).status_code == 403
    admin = login("admin")
    wrong = admin.put("/api/v1/signing-profiles", json={**payload, "passphrase": "sai"})
    assert wrong.status_code == 400 and "passphrase" in wrong.get_json()["fields"]
    not_png = admin.put("/api/v1/signing-profiles", json={**payload, "image_path": str(p12)})
    assert not_png.status_code == 400 and "image_path" in not_png.get_json()["fields"]
    both = admin.put("/api/v1/signing-profiles", json={**payload, "unit_id": demo.ids["unit:tinh"]})
    assert both.status_code == 400
    assert count_rows(db_session, SigningProfile) == 0
    saved = admin.put("/api/v1/signing-profiles", json=payload)
    assert saved.status_code == 200, saved.get_json()
    listed = admin.get("/api/v1/signing-profiles").get_json()["profiles"]
    assert listed == [saved.get_json()["profile"]] and "passphrase" not in listed[0]
