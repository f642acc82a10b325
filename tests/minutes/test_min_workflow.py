"""Minutes documents from the database record: generate, submit, return, approve, issue;
numbering; locks after issuance; the builder's content."""

from __future__ import annotations

import re
from datetime import date

import docx
import pytest
from sqlalchemy import select

from meetings.actions import minutes as ma
from meetings.actions import votes as va
from meetings.errors import Conflict, Forbidden, ValidationFailed
from meetings.minutes import serialize
from meetings.minutes.builder import build_attendance, build_minutes_data
from meetings.models import MeetingStatus, Notification
from meetings.models.minutes import DocStatus, MinutesDocument

from .domain_helpers import end_meeting, load_world, make_live, record_live_room


@pytest.fixture
def world(db_session, demo):
    w = load_world(db_session, demo.meeting_id)
    make_live(w)
    w.taken = record_live_room(w)
    s, m = db_session, w.meeting
    thuky, chutri = w.user("thuky"), w.user("chutri")
    ma.save_note(s, thuky, m, m.agenda[1].id, ma.NoteInput(
        0, "<p>Thu ngân sách đạt <b>92%</b> dự toán.</p>",
        "<p>Giao Sở Tài chính đôn đốc thu nợ đọng.</p>"))
    ma.save_note(s, thuky, m, None, ma.NoteInput(
        0, "<p>Tình hình kinh tế - xã hội ổn định.</p>",
        recipients=("Thường trực Tỉnh ủy (để b/c)", "Các sở, ngành dự họp")))
    ma.add_task(s, thuky, m, ma.TaskInput(w.units["so-tai-chinh"].id, "Đôn đốc thu nợ đọng thuế",
                                          date(2026, 12, 15), m.agenda[1].id))
    vote = va.open_vote(s, chutri, m, va.VoteInput("Thông qua báo cáo tháng 11",
                                                   agenda_item_id=m.agenda[1].id))
    va.cast_ballot(s, w.user("daibieu.stc"), vote.id, 0)
    va.cast_ballot(s, w.user("daibieu.syt"), vote.id, 0)
    va.close_vote(s, chutri, vote.id)
    end_meeting(w)
    s.commit()
    return w


def _texts(path) -> list[str]:
    return [p.text for p in docx.Document(str(path)).paragraphs]


def test_builder_takes_everything_from_the_record(world):
    data = build_minutes_data(world.session, world.meeting)
    assert data.agency.name == "Ủy ban nhân dân\ntỉnh Sông Hồng"
    assert data.agency.abbreviation == "UBND" and data.place_name == "Sông Hồng"
    assert data.chair.name == "Trần Minh Tuấn" and data.secretary.name == "Lê Thị Hương"
    assert [i.title for i in data.agenda] == [i.title for i in world.taken["order"]]
    hall = data.endpoints[0]
    assert hall.is_main and hall.head_count == 40 and hall.people[0].name == "Trần Minh Tuấn"
    remote = {e.endpoint: e.head_count for e in data.endpoints[1:] if e.unit}
    assert remote == {"Điểm cầu xã An Bình": 6, "Điểm cầu xã Bình Minh": 17,
                      "Điểm cầu phường Bắc Sơn": 8}  # roll call beats the join report
    personal = data.endpoints[-1]
    assert personal.personal and personal.people[0].name == "Phạm Quốc Bảo"
    assert len(data.rooms) == 4
    absent = {a.unit for a in data.absent_units}
    assert "UBND xã Cẩm Giàng" in absent and "Sở Tài chính" not in absent
    assert "UBND xã An Bình" not in absent
    report = next(i for i in data.agenda if i.title.startswith("Báo cáo tình hình kinh tế"))
    assert [t.speaker for t in report.floor_turns] == ["Phạm Quốc Bảo"]
    assert report.presenter.unit == "Sở Tài chính" and report.presenter.name == ""
    assert report.votes[0].options[0].count == 2 and report.votes[0].eligible
    assert report.tasks[0].unit == "Sở Tài chính"
    assert "92%" in report.notes_html
    assert data.recipients == ("Thường trực Tỉnh ủy (để b/c)", "Các sở, ngành dự họp")
    assert data.notice.assessment_html.startswith("<p>Tình hình")
    assert serialize.loads(serialize.dumps(data)) == data
    attendance = build_attendance(world.session, world.meeting)
    an_binh = next(r for r in attendance.rows if r.endpoint == "Điểm cầu xã An Bình"
                   and r.participant is None)
    assert len(an_binh.intervals) == 2  # dropped and came back


def test_attendance_report_files(world, tmp_path):
    import openpyxl

    with pytest.raises(Forbidden):
        ma.write_attendance_report(world.session, world.user("daibieu.stc"), world.meeting,
                                   tmp_path)
    xlsx, docx_path = ma.write_attendance_report(world.session, world.user("chutri"),
                                                 world.meeting, tmp_path)
    rows = list(openpyxl.load_workbook(xlsx)["Điểm danh"].iter_rows(min_row=5,
                                                                    values_only=True))
    an_binh = next(r for r in rows if r[1] == "Điểm cầu xã An Bình" and r[3] == "(điểm cầu)")
    assert an_binh[4] == 6 and an_binh[7] == 2  # head count, two joins
    assert an_binh[8] == "08:01–08:30; 08:35–09:50 (đến cuối)"
    assert any(r[3] == "Phạm Quốc Bảo" for r in rows)
    table = docx.Document(str(docx_path)).tables[-1]
    assert len(table.rows) == len(rows) + 1


def test_rights_and_full_approval_flow(world, tmp_path):
    s, m = world.session, world.meeting
    thuky, chutri = world.user("thuky"), world.user("chutri")
    for name in ("chutri", "daibieu.stc", "admin"):
        with pytest.raises(Forbidden):
            ma.generate_document(s, world.user(name), m, "BB", tmp_path, pdf=False)
    with pytest.raises(ValidationFailed):
        ma.generate_document(s, thuky, m, "QD", tmp_path, pdf=False)
    steps: list[int] = []
    v1 = ma.generate_document(s, thuky, m, "BB", tmp_path, pdf=False,
                              progress=lambda p, _msg: steps.append(p))
    s.commit()
    assert steps[-1] == 100 and steps == sorted(steps)
    assert (v1.version, v1.status) == (1, DocStatus.DRAFT.value)
    texts = _texts(ma.document_path(tmp_path, v1))
    assert any(re.fullmatch(r"Số: \s+/BB-UBND", t) for t in
               [p.text for p in docx.Document(str(ma.document_path(tmp_path, v1)))
                .tables[0].rows[0].cells[0].paragraphs])
    titles = [f"{n}. {item.title}" for n, item in enumerate(world.taken["order"], start=1)]
    positions = [texts.index(t) for t in titles]
    assert positions == sorted(positions)
    assert "- Đồng chí Phạm Quốc Bảo, Giám đốc Sở Tài chính, phát biểu ý kiến." in texts
    assert any(t.startswith("- Biểu quyết thông qua báo cáo tháng 11") and "tán thành 2/" in t
               for t in texts)
    assert ("Thành phần tham dự: tổng số 72 người, gồm 40 người tại điểm cầu chính, 31 người "
            "tại 3 điểm cầu trực tuyến và 1 đại biểu tham dự trực tuyến cá nhân; 20 đơn vị "
            "vắng mặt.") in texts
    assert "Chủ trì: đồng chí Trần Minh Tuấn, Chủ tịch UBND tỉnh." in texts

    # a newer version supersedes: the old one can no longer be submitted
    v2 = ma.generate_document(s, thuky, m, "BB", tmp_path, pdf=False)
    s.commit()
    assert v2.version == 2 and ma.document_path(tmp_path, v1).exists()
    with pytest.raises(Conflict):
        ma.submit_document(s, thuky, v1)
    with pytest.raises(Forbidden):
        ma.submit_document(s, chutri, v2)
    ma.submit_document(s, thuky, v2)
    s.commit()
    with pytest.raises(Forbidden):
        ma.approve_document(s, thuky, v2)
    with pytest.raises(ValidationFailed):
        ma.return_document(s, chutri, v2, "  ")
    ma.return_document(s, chutri, v2, "Bổ sung ý kiến của Sở Y tế.")
    s.commit()
    assert v2.status == DocStatus.RETURNED.value and v2.comment.startswith("Bổ sung")
    with pytest.raises(Conflict):
        ma.approve_document(s, chutri, v2)  # returned, not submitted
    with pytest.raises(Conflict):
        ma.issue_document(s, thuky, v2, tmp_path, pdf=False)  # not approved
    ma.submit_document(s, thuky, v2)
    ma.approve_document(s, chutri, v2)
    s.commit()
    with pytest.raises(Forbidden):
        ma.issue_document(s, world.user("daibieu.stc"), v2, tmp_path, pdf=False)
    ma.save_note(s, thuky, m, m.agenda[1].id, ma.NoteInput(1, "<p>Sửa sau phê duyệt.</p>"))
    ma.issue_document(s, thuky, v2, tmp_path, pdf=False)
    s.commit()
    year = v2.year
    assert (v2.status, v2.number, v2.number_text) == ("issued", 1, "01/BB-UBND")
    assert m.status == MeetingStatus.MINUTES_ISSUED.value
    issued_header = docx.Document(str(ma.document_path(tmp_path, v2))).tables[0]
    assert issued_header.rows[0].cells[0].paragraphs[2].text == "Số: 01/BB-UBND"
    # the issued file was rendered from the approved snapshot, not from later edits
    issued_texts = _texts(ma.document_path(tmp_path, v2))
    assert "Thu ngân sách đạt 92% dự toán." in issued_texts
    assert "Sửa sau phê duyệt." not in issued_texts
    assert s.scalar(select(Notification.id).where(
        Notification.kind == "minutes_issued",
        Notification.user_id == world.user("daibieu.stc").id)) is not None

    # an issued document cannot change, and the minutes it came from are locked
    for action in (lambda: ma.submit_document(s, thuky, v2),
                   lambda: ma.approve_document(s, chutri, v2),
                   lambda: ma.return_document(s, chutri, v2, "x"),
                   lambda: ma.issue_document(s, thuky, v2, tmp_path, pdf=False),
                   lambda: ma.generate_document(s, thuky, m, "BB", tmp_path, pdf=False),
                   lambda: ma.save_note(s, thuky, m, m.agenda[1].id, ma.NoteInput(1, "x"))):
        with pytest.raises(Conflict):
            action()
        s.rollback()
    # delegates see only the issued version
    seen = ma.list_documents(s, world.user("daibieu.stc"), m)
    assert [d.id for d in seen] == [v2.id]
    assert not ma.can_view_document(s, world.user("daibieu.stc"), v1)
    assert len(ma.list_documents(s, thuky, m)) == 2

    # the conclusion notice takes the next number of the same register, never a reused one
    tb = ma.generate_document(s, thuky, m, "TB", tmp_path, pdf=False)
    ma.submit_document(s, thuky, tb)
    ma.approve_document(s, chutri, tb)
    ma.issue_document(s, thuky, tb, tmp_path, pdf=False)
    s.commit()
    assert tb.number_text == "02/TB-UBND" and tb.year == year
    tb_doc = docx.Document(str(ma.document_path(tmp_path, tb)))
    right = [p.text for p in tb_doc.tables[0].rows[0].cells[1].paragraphs]
    assert re.fullmatch(r"Sông Hồng, ngày \d{2} tháng \d{1,2} năm \d{4}", right[-1])
    assert "Giao nhiệm vụ" in " ".join(_texts(ma.document_path(tmp_path, tb)))
    with pytest.raises(Conflict):
        ma.add_task(s, thuky, m, ma.TaskInput(world.units["so-y-te"].id, "Muộn"))
    s.rollback()
    numbers = s.scalars(select(MinutesDocument.number).where(
        MinutesDocument.number.is_not(None))).all()
    assert sorted(numbers) == [1, 2]


def test_number_counter_per_agency_and_year(world):
    s = world.session
    tinh, syt = world.units["tinh"].id, world.units["so-y-te"].id
    assert [ma.allocate_number(s, tinh, 2026) for _ in range(3)] == [1, 2, 3]
    assert ma.allocate_number(s, syt, 2026) == 1
    assert ma.allocate_number(s, tinh, 2027) == 1  # restarts on 1 January
    s.commit()
    assert ma.allocate_number(s, tinh, 2026) == 4
    s.rollback()  # a rolled-back issuance gives nothing away
    assert ma.allocate_number(s, tinh, 2026) == 4


@pytest.mark.office
def test_issued_pdf_is_signed_and_tamper_evident(world, tmp_path):
    from meetings.actions.signing_profiles import demo_seal, ensure_demo_profiles
    from meetings.signing import make_demo_certificate, validate_signed_pdf

    s, m = world.session, world.meeting
    thuky, chutri = world.user("thuky"), world.user("chutri")
    cert = make_demo_certificate("Ủy ban nhân dân tỉnh Sông Hồng", tmp_path / "cert")
    ensure_demo_profiles(s, [chutri], world.units["tinh"], cert)
    seal = demo_seal("Ủy ban nhân dân tỉnh Sông Hồng", cert)
    tb = ma.generate_document(s, thuky, m, "TB", tmp_path / "store", pdf=True)
    assert ma.document_path(tmp_path / "store", tb, "pdf").exists()
    ma.submit_document(s, thuky, tb)
    ma.approve_document(s, chutri, tb)
    ma.issue_document(s, thuky, tb, tmp_path / "store",
                      signing=cert.config("Sông Hồng", image=seal))
    s.commit()
    signed = ma.document_path(tmp_path / "store", tb, "signed")
    assert signed is not None and signed.exists()
    assert validate_signed_pdf(signed, [cert.root_cert]).ok
    data = bytearray(signed.read_bytes())
    data[len(data) // 3] ^= 0x01
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(bytes(data))
    assert not validate_signed_pdf(broken, [cert.root_cert]).ok
