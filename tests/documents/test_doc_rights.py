"""Who sees which document: by page, by API and by direct file URL."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from meetings.db import utcnow
from meetings.models import Meeting, MeetingPerson, MeetingStatus, Notification, Unit, User
from meetings.passwords import hash_password
from meetings.timefmt import to_local

from .samples import make_pdf
from .web_helpers import pdf_page_texts, upload


@dataclass
class World:
    meeting_id: int
    other_meeting_id: int
    open_pub: int
    unpublished: int
    restricted: int
    chosen: int
    no_download: int


@pytest.fixture
def world(doc_app, demo, login, db_session, tmp_path: Path) -> World:
    # A delegate of a unit that the demo meeting does not invite, and a second meeting
    # that invites only them.
    province = db_session.get(Unit, demo["unit:tinh"])
    unit = Unit(code="so-xay-dung", name="Sở Xây dựng", kind="department", parent_id=province.id)
    db_session.add(unit)
    db_session.flush()
    unit.path = f"{province.path}{unit.id}/"
    outsider = User(username="daibieu.sxd", full_name="Hoàng Văn Khải", role="delegate",
                    unit_id=unit.id, password_hash=hash_password(demo.password))
    db_session.add(outsider)
    db_session.flush()
    first = db_session.get(Meeting, demo.meeting_id)
    other = Meeting(title="Họp chuyên đề Thanh tra tỉnh", kind="chuyen_de",
                    status=MeetingStatus.SCHEDULED.value, secretary_id=demo["thuky"],
                    chair_id=demo["chutri"], starts_at=first.starts_at + timedelta(days=2),
                    ends_at=first.ends_at + timedelta(days=2), created_by_id=demo["thuky"])
    other.invited_people = [MeetingPerson(user_id=outsider.id)]
    db_session.add(other)
    db_session.commit()

    sec = login("thuky")
    pdf = make_pdf(tmp_path / "src.pdf", pages=3)
    ids = {}
    for key, fields in {
        "open_pub": {"kind": "official"},
        "unpublished": {"kind": "official"},
        "restricted": {"kind": "official", "confidentiality": "restricted",
                       "reader_ids": [demo["daibieu.stc"]]},
        "chosen": {"kind": "reference"},
        "no_download": {"kind": "official", "allow_download": "0"},
    }.items():
        resp = upload(sec, demo.meeting_id, pdf, f"{key}.pdf", **fields)
        assert resp.status_code == 201, resp.get_json()
        ids[key] = resp.get_json()["document"]["id"]
    for key in ("open_pub", "restricted", "no_download"):
        assert sec.post(f"/api/v1/documents/{ids[key]}/publish", json={"to_all": True}).status_code == 200
    resp = sec.post(f"/api/v1/documents/{ids['chosen']}/publish", json={"user_ids": [demo["daibieu.syt"]]})
    assert resp.status_code == 200, resp.get_json()
    # Something in the other meeting, published to its invitee.
    other_doc = upload(sec, other.id, pdf, "other.pdf").get_json()["document"]["id"]
    sec.post(f"/api/v1/documents/{other_doc}/publish", json={"to_all": True})
    return World(demo.meeting_id, other.id, **ids)


def urls(doc_id: int) -> dict[str, str]:
    return {
        "page": f"/documents/{doc_id}/view",
        "api": f"/api/v1/documents/{doc_id}",
        "pdf": f"/documents/{doc_id}/v/1/file.pdf",
        "download": f"/documents/{doc_id}/v/1/download",
        "comments": f"/api/v1/documents/{doc_id}/comments",
    }


# user -> documents they may read
READABLE = {
    "thuky": {"open_pub", "unpublished", "restricted", "chosen", "no_download"},
    "chutri": {"open_pub", "unpublished", "restricted", "chosen", "no_download"},
    "daibieu.stc": {"open_pub", "restricted", "no_download"},
    "daibieu.syt": {"open_pub", "chosen", "no_download"},
    "chutich.03": {"open_pub", "no_download"},
    "quansat": {"open_pub", "no_download"},  # observer invited by name
    "daibieu.sxd": set(),  # delegate of another meeting
}
KEYS = ("open_pub", "unpublished", "restricted", "chosen", "no_download")


def test_rights_matrix_by_page_api_and_file_url(world: World, login) -> None:
    """Every user × every document × page, API, file URL, download and comments (one world,
    built once: the checks are read-only)."""
    for username in sorted(READABLE):
        api = login(username)
        listed = api.get(f"/api/v1/meetings/{world.meeting_id}/documents")
        if username == "daibieu.sxd":
            assert listed.status_code == 404
        else:
            assert listed.status_code == 200
            got = {d["id"] for d in listed.get_json()["documents"]}
            assert got == {getattr(world, k) for k in READABLE[username]}, username
        for key in KEYS:
            doc_id = getattr(world, key)
            allowed = key in READABLE[username]
            for what, url in urls(doc_id).items():
                resp = api.get(url)
                if not allowed:
                    assert resp.status_code == 404, (username, key, what, resp.status_code)
                    assert b"%PDF" not in resp.data
                elif what == "download" and key == "no_download" and username not in ("thuky", "chutri"):
                    assert resp.status_code == 403, (username, key, what)
                else:
                    assert resp.status_code == 200, (username, key, what, resp.status_code)


def test_other_meetings_documents_and_packet_hidden(world: World, login) -> None:
    stc = login("daibieu.stc")
    assert stc.get(f"/api/v1/meetings/{world.other_meeting_id}/documents").status_code == 404
    assert stc.get(f"/meetings/{world.other_meeting_id}/documents").status_code == 404
    assert stc.get(f"/meetings/{world.other_meeting_id}/documents/packet.zip").status_code == 404
    outsider = login("daibieu.sxd")
    assert outsider.get(f"/meetings/{world.meeting_id}/documents/packet.zip").status_code == 404
    assert outsider.get(f"/meetings/{world.meeting_id}/documents").status_code == 404
    listed = outsider.get(f"/api/v1/meetings/{world.other_meeting_id}/documents").get_json()["documents"]
    assert [d["title"] for d in listed] == ["other"]


def test_without_login_nothing_is_served(world: World, doc_app) -> None:
    client = doc_app.test_client()
    for url in urls(world.open_pub).values():
        resp = client.get(url)
        assert resp.status_code in (302, 401), url
        assert b"%PDF" not in resp.data


def test_delegates_cannot_upload_publish_or_see_receipts(world: World, login, tmp_path: Path) -> None:
    stc = login("daibieu.stc")
    resp = upload(stc, world.meeting_id, make_pdf(tmp_path / "x.pdf"), "x.pdf")
    assert resp.status_code == 403
    assert stc.post(f"/api/v1/documents/{world.open_pub}/publish", json={"to_all": True}).status_code == 403
    assert stc.get(f"/api/v1/documents/{world.open_pub}/receipts").status_code == 403
    assert stc.get(f"/documents/{world.open_pub}/receipts").status_code == 403
    assert stc.post(f"/api/v1/documents/{world.unpublished}/publish", json={"to_all": True}).status_code == 404
    assert stc.delete(f"/api/v1/documents/{world.open_pub}").status_code == 403
    outsider = login("daibieu.sxd")
    assert upload(outsider, world.meeting_id, make_pdf(tmp_path / "y.pdf"), "y.pdf").status_code == 404


def test_restricted_document_stamped_with_reader_name_on_every_page(world: World, login, tmp_path: Path) -> None:
    stc = login("daibieu.stc")
    resp = stc.get(f"/documents/{world.restricted}/v/1/file.pdf")
    pages = pdf_page_texts(resp.data, tmp_path)
    assert len(pages) == 3
    for text in pages:
        assert "Người xem: Phạm Quốc Bảo (Sở Tài chính)" in text
    download = stc.get(f"/documents/{world.restricted}/v/1/download")
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    assert all("Phạm Quốc Bảo" in t for t in pdf_page_texts(download.data, tmp_path))
    # An open document is served as it was uploaded.
    plain = stc.get(f"/documents/{world.open_pub}/v/1/file.pdf").data
    size = stc.get(f"/api/v1/documents/{world.open_pub}").get_json()["document"]["latest"]["size"]
    assert len(plain) == size
    assert not any("Người xem" in t for t in pdf_page_texts(plain, tmp_path))


def test_range_and_etag(world: World, login) -> None:
    syt = login("daibieu.syt")
    url = f"/documents/{world.open_pub}/v/1/file.pdf"
    full = syt.get(url)
    etag = full.headers["ETag"]
    assert full.headers["Accept-Ranges"] == "bytes"
    part = syt.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(full.data)}"
    assert part.data == full.data[100:200]
    assert syt.get(url, headers={"If-None-Match": etag}).status_code == 304
    stale = syt.get(url, headers={"Range": "bytes=0-9", "If-Range": '"not-the-etag"'})
    assert stale.status_code == 200 and stale.data == full.data
    # Stamped copies keep one ETag for one viewing (the viewer's signed ?s=), so range
    # requests stay coherent.
    stc = login("daibieu.stc")
    page = stc.get(f"/documents/{world.restricted}/view").get_data(as_text=True)
    signed = re.search(r'"(/documents/\d+/v/1/file\.pdf\?s=[0-9]+-[0-9a-f]+)"', page).group(1)
    first = stc.get(signed)
    again = stc.get(signed, headers={"Range": "bytes=0-99"})
    assert again.status_code == 206 and again.data == first.data[:100]
    assert first.headers["ETag"] == again.headers["ETag"]
    # Without a viewing of its own (direct link, live room) the reader's current copy is
    # reused, so a long reading in ranges stays coherent.
    direct = f"/documents/{world.restricted}/v/1/file.pdf"
    one = stc.get(direct)
    two = stc.get(direct, headers={"Range": "bytes=50-149"})
    assert two.status_code == 206 and two.data == one.data[50:150]
    assert one.headers["ETag"] == two.headers["ETag"]


def test_forged_stamp_time_is_ignored(world: World, login, tmp_path: Path) -> None:
    stc = login("daibieu.stc")
    two_hours_ago = utcnow() - timedelta(hours=2)
    forged = f"{int(two_hours_ago.timestamp())}-{'0' * 20}"
    data = stc.get(f"/documents/{world.restricted}/v/1/file.pdf?s={forged}").data
    text = pdf_page_texts(data, tmp_path)[0]
    old = to_local(two_hours_ago).strftime("%d/%m/%Y %H:%M")
    assert "Người xem: Phạm Quốc Bảo" in text and old not in text


def test_publication_notifies_only_readers(world: World, db_session, demo) -> None:
    def noticed(user: str, doc_title: str) -> bool:
        uid = db_session.scalar(select(User.id).where(User.username == user))
        return db_session.scalar(select(Notification.id).where(
            Notification.user_id == uid, Notification.message.contains(doc_title)).limit(1)) is not None

    db_session.expire_all()
    assert noticed("daibieu.stc", "restricted") and not noticed("daibieu.syt", "restricted")
    assert noticed("daibieu.syt", "chosen") and not noticed("daibieu.stc", "chosen")
    assert noticed("chutich.03", "open_pub")
    assert not noticed("daibieu.stc", "unpublished")
    assert not noticed("daibieu.sxd", "open_pub")


def test_publish_to_people_not_invited_is_refused(world: World, login, db_session) -> None:
    sec = login("thuky")
    outsider = db_session.scalar(select(User.id).where(User.username == "daibieu.sxd"))
    resp = sec.post(f"/api/v1/documents/{world.unpublished}/publish", json={"user_ids": [outsider]})
    assert resp.status_code == 400
    assert login("daibieu.sxd").get(f"/documents/{world.unpublished}/view").status_code == 404


def test_packet_contents_per_person(world: World, login, tmp_path: Path, db_session) -> None:
    def names(username: str) -> tuple[list[str], zipfile.ZipFile]:
        resp = login(username).get(f"/meetings/{world.meeting_id}/documents/packet.zip")
        assert resp.status_code == 200 and resp.mimetype == "application/zip"
        zf = zipfile.ZipFile(io.BytesIO(resp.data))
        assert zf.testzip() is None
        return zf.namelist(), zf

    stc_names, stc_zip = names("daibieu.stc")
    assert stc_names == ["00 Chương trình.pdf", "01 open_pub.pdf", "02 restricted.pdf", "03 no_download.pdf"]
    agenda = pdf_page_texts(stc_zip.read("00 Chương trình.pdf"), tmp_path)[0]
    assert "CHƯƠNG TRÌNH CUỘC HỌP" in agenda and "Giao ban trực tuyến UBND tỉnh" in agenda
    assert all("Phạm Quốc Bảo" in t for t in pdf_page_texts(stc_zip.read("02 restricted.pdf"), tmp_path))
    assert not any("Người xem" in t for t in pdf_page_texts(stc_zip.read("01 open_pub.pdf"), tmp_path))

    syt_names, _ = names("daibieu.syt")
    assert syt_names == ["00 Chương trình.pdf", "01 open_pub.pdf", "02 chosen.pdf", "03 no_download.pdf"]
    sec_names, _ = names("thuky")
    assert len(sec_names) == 1 + 5
    assert db_session.scalar(select(User.id).where(User.username == "daibieu.stc")) is not None


def test_documents_page_shows_each_person_only_their_documents(world: World, login) -> None:
    for username in ("thuky", "daibieu.stc", "daibieu.syt"):
        html = login(username).get(f"/meetings/{world.meeting_id}/documents").get_data(as_text=True)
        shown = {int(x) for x in re.findall(r'<tr data-document="(\d+)"', html)}
        assert shown == {getattr(world, k) for k in READABLE[username]}, username
        assert ('id="upload"' in html) == (username == "thuky")
        assert ("Bảng tổng hợp ý kiến góp ý" in html) == (username == "thuky")
