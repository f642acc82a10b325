"""The live room page: /meetings/<id>/room (pre-join check, then the room itself).

Thin: parse, check, render. The room runs in the browser (room-client.js, room-ui.js)
over the /room and /signal Socket.IO namespaces."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, abort, jsonify, render_template, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select
from sqlalchemy.orm import Session

from meetings.actions.documents.access import can_manage_documents
from meetings.models import Endpoint, Meeting, MeetingEndpoint, User
from meetings.permissions import can_attend, can_run_room, is_co_chair
from web.auth import domain_user
from web.extensions import db

logger = logging.getLogger(__name__)

bp = Blueprint("room", __name__, template_folder="templates")


def operated_endpoints(session: Session, user: User, meeting: Meeting) -> list[dict[str, Any]]:
    """Invited endpoints of this meeting that the user operates (they may join for them)."""
    rows = list(session.scalars(
        select(Endpoint)
        .join(MeetingEndpoint, MeetingEndpoint.endpoint_id == Endpoint.id)
        .where(MeetingEndpoint.meeting_id == meeting.id, Endpoint.operator_id == user.id)
        .order_by(Endpoint.name)
    ))
    # the hall is an endpoint too: the chair, co-chairs and secretary sit in it (issue 13)
    hall = session.get(Endpoint, meeting.hall_endpoint_id) if meeting.hall_endpoint_id else None
    if hall is not None and hall not in rows and (
            user.id in (meeting.chair_id, meeting.secretary_id)
            or is_co_chair(session, user, meeting)):
        rows.insert(0, hall)
    return [{"id": e.id, "name": e.name, "unit": e.unit.name if e.unit else "",
             "capacity": e.capacity} for e in rows]


def presentable(session: Session, user: User, meeting: Meeting) -> list[dict[str, Any]]:
    """Documents of the meeting this user may put on everyone's screen, each with whether it
    can be presented now ({id, title, ready, reason})."""
    from meetings.actions.documents.access import visible_documents
    from meetings.actions.documents.publishing import presentable_version

    short = {"converting": _("đang chuyển đổi"), "failed": _("chuyển đổi lỗi"),
             "not_published": _("chưa phát hành"), "restricted": _("tài liệu mật")}
    # the same texts as meetings.actions.documents.publishing.PRESENT_REFUSALS, here to be translated
    reasons = {
        "converting": _("Tài liệu đang được chuyển sang PDF; hãy chờ trong giây lát rồi trình chiếu."),
        "failed": _("Không chuyển được tài liệu sang PDF nên không trình chiếu được."),
        "not_published": _("Tài liệu chưa được phát hành cho mọi người dự họp; hãy phát hành trước khi trình chiếu."),
        "restricted": _("Tài liệu mật chỉ người được chỉ định được đọc; không trình chiếu cho mọi người."),
    }
    out = []
    for d in visible_documents(session, user, meeting):
        version, why = presentable_version(session, d)
        out.append({"id": d.id, "title": d.title, "ready": version is not None, "why": why,
                    "note": short.get(why, ""), "reason": reasons.get(why, ""),
                    "version": version.number if version is not None else None})
    return out


def _may_present(session: Session, user: User, meeting: Meeting) -> bool:
    return can_run_room(session, user, meeting) or meeting.secretary_id == user.id


def _strings() -> dict[str, str]:
    """Every text the room's scripts show, translated for the current language."""
    return {
        "connecting": _("Đang kết nối…"),
        "reconnecting": _("Mất kết nối, đang kết nối lại…"),
        "reconnected": _("Đã kết nối lại."),
        "not_connected": _("Chưa kết nối được tới máy chủ; thao tác chưa được gửi."),
        "no_answer": _("Máy chủ không trả lời kịp; hãy thử lại."),
        "joined": _("Đã vào phòng họp."),
        "hall": _("Hội trường"),
        "speaker": _("Người phát biểu"),
        "no_speaker": _("Chưa có ai phát biểu"),
        "floor": _("Đang phát biểu"),
        "no_item": _("Chưa bắt đầu mục nào"),
        "item": _("Mục"),
        "planned": _("dự kiến"),
        "minutes": _("phút"),
        "recording": _("Đang ghi hình"),
        "raise_hand": _("Đăng ký phát biểu"),
        "lower_hand": _("Rút đăng ký phát biểu"),
        "mute": _("Tắt tiếng"),
        "unmute": _("Bật tiếng"),
        "muted_by_chair": _("Chủ trì đã tắt tiếng của bạn"),
        "audio_only": _("Chỉ âm thanh"),
        "video_on": _("Bật hình"),
        "weak_link": _("Đường truyền yếu"),
        "weak_receive_small": _("đang nhận hình chất lượng thấp"),
        "weak_receive_audio": _("tạm thời chỉ nhận âm thanh"),
        "weak_send_small": _("đang gửi hình chất lượng thấp"),
        "weak_send_none": _("tạm dừng gửi hình, vẫn gửi âm thanh"),
        "video_lost": _("Mất hình — {name}"),
        "source_audio_only": _("Chỉ âm thanh — {name}"),
        "sends": _("Đang gửi"),
        "receives": _("Đang nhận"),
        "layer_main": _("hình chính"),
        "layer_small": _("hình nhỏ"),
        "layer_audio": _("chỉ âm thanh"),
        "quality_good": _("Tốt"),
        "quality_fair": _("Trung bình"),
        "quality_poor": _("Kém"),
        "quality_audio_only": _("Chỉ âm thanh"),
        "quality_unknown": _("Chưa đo"),
        "connection": _("Kết nối"),
        "relayed": _("Chuyển tiếp (TURN)"),
        "relayed_title": _("Điểm cầu kết nối qua máy chủ chuyển tiếp TURN (mạng của điểm cầu chặn UDP)"),
        "roll_call": _("Điểm danh"),
        "roll_call_open": _("Chủ trì đang điểm danh. Xác nhận có mặt và số người dự tại điểm cầu."),
        "roll_call_answered": _("Đã xác nhận có mặt"),
        "confirm_presence": _("Xác nhận có mặt"),
        "head_count": _("Số người dự"),
        "people": _("người"),
        "chat_all": _("Tất cả"),
        "chat_organisers": _("Chủ trì và thư ký"),
        "chat_private": _("riêng"),
        "send": _("Gửi"),
        "give_floor": _("Cho phát biểu"),
        "take_floor": _("Thu hồi quyền phát biểu"),
        "take_floor_short": _("Thu hồi"),
        "next_speaker": _("Người tiếp theo"),
        "mute_one": _("Tắt tiếng"),
        "unmute_one": _("Bật tiếng"),
        "mute_all": _("Tắt tiếng tất cả trừ người phát biểu"),
        "prev_item": _("Mục trước"),
        "next_item": _("Mục tiếp"),
        "start_recording": _("Bắt đầu ghi hình"),
        "stop_recording": _("Dừng ghi hình"),
        "start_roll_call": _("Bắt đầu điểm danh"),
        "close_roll_call": _("Kết thúc điểm danh"),
        "not_answered": _("Chưa trả lời"),
        "answered": _("Đã trả lời"),
        "all_answered": _("Tất cả điểm cầu đã trả lời."),
        "total_heads": _("Tổng số người dự"),
        "end_meeting": _("Kết thúc cuộc họp"),
        "confirm_end": _("Kết thúc cuộc họp cho tất cả mọi người?"),
        "meeting_ended": _("Cuộc họp đã kết thúc."),
        "queue_empty": _("Chưa có ai đăng ký phát biểu."),
        "page": _("Trang"),
        "prev_page": _("Trang trước"),
        "next_page": _("Trang sau"),
        "participants": _("Thành phần đã vào"),
        "hand": _("Giơ tay"),
        "muted_flag": _("Đã tắt tiếng"),
        "preview": _("Xem trước"),
        "preview_close": _("Đóng xem trước"),
        # The voting panel (web/static/js/room-votes.js). The default options stay as the
        # legal wording, in Vietnamese, in every language.
        "votes": {
            "title": _("Biểu quyết"), "question": _("Nội dung biểu quyết"), "options": _("Phương án"),
            "customOptions": _("Phương án khác (mỗi dòng một phương án)"),
            "secret": _("Bỏ phiếu kín"), "perEndpoint": _("Mỗi điểm cầu một phiếu"),
            "open": _("Mở biểu quyết"), "close": _("Kết thúc biểu quyết"),
            "voted": _("Bạn đã biểu quyết."), "votedEndpoint": _("Điểm cầu đã biểu quyết."),
            "endpointOnly": _("Biểu quyết theo điểm cầu: cán bộ kỹ thuật điểm cầu biểu quyết thay điểm cầu."),
            "cast": _("đã biểu quyết"), "of": _("trên"), "result": _("Kết quả"),
            "secretTag": _("kín"), "namedTag": _("công khai"), "none": _("Chưa có biểu quyết nào."),
            "error": _("Lỗi"),
            "base": _("Tỷ lệ tính trên"), "basePresent": _("Thành viên có mặt"),
            "baseAll": _("Tổng số thành viên"), "rule": _("Thông qua khi"),
            "ruleMajority": _("Quá nửa tán thành"), "ruleTwoThirds": _("Từ 2/3 tán thành"),
        },
        "cochair_on": _("Đồng chủ trì"),
        "cochair_off": _("Bỏ đồng chủ trì"),
        "cochair_named": _("Chủ trì đã chỉ định bạn làm đồng chủ trì."),
        "cochair_removed": _("Bạn không còn là đồng chủ trì."),
        "present": _("Trình chiếu"),
        "stop_present": _("Dừng trình chiếu"),
        "presenting": _("Đang trình chiếu"),
        "follow": _("Theo người trình bày"),
        "error": _("Lỗi"),
        "no_media": _("Chưa kết nối được máy chủ truyền thông; phòng họp vẫn hoạt động."),
        "camera_error": _("Không mở được camera hoặc micrô"),
        "you": _("Bạn"),
        "over_limit": _("Quá thời gian"),
        "chair_tag": _("Chủ trì"),
        # presenting (room-present.js, viewer.js)
        "doc_loading": _("Đang tải tài liệu…"),
        "doc_failed": _("Không mở được tài liệu"),
        "doc_timeout": _("Tài liệu tải quá lâu"),
        "doc_render_failed": _("Lỗi hiển thị trang."),
        "retry": _("Thử lại"),
        "no_documents": _("Cuộc họp chưa có tài liệu để trình chiếu."),
        "documents_updated": _("Danh sách tài liệu trình chiếu đã cập nhật."),
        # devices inside the room (room-devices.js)
        "devices": _("Thiết bị"),
        "camera": _("Camera"),
        "microphone": _("Micrô"),
        "speaker_out": _("Loa"),
        "device_default": _("Mặc định"),
        "device_switched": _("Đã chuyển thiết bị."),
        "device_lost": _("{device} đã bị ngắt; đã chuyển sang {other}."),
        "device_lost_none": _("{device} đã bị ngắt và không còn thiết bị nào khác."),
        "device_switch_failed": _("Không chuyển được thiết bị"),
        # keyboard shortcuts (room-keys.js)
        "keys": _("Phím tắt"),
    }


@bp.get("/meetings/<int:meeting_id>/room")
@login_required
def room_page(meeting_id: int) -> str:
    user = domain_user()
    session = db.session
    meeting = session.get(Meeting, meeting_id)
    if meeting is None or not can_attend(session, user, meeting):
        abort(404)
    endpoints = operated_endpoints(session, user, meeting)
    can_run = can_run_room(session, user, meeting)
    may_present = _may_present(session, user, meeting)
    config = {
        "meetingId": meeting.id,
        "userId": user.id,
        "isChair": meeting.chair_id == user.id,
        "canRun": can_run,
        "mayPresent": may_present,
        "documents": presentable(session, user, meeting) if may_present else [],
        "documentsUrl": url_for("room.room_documents", meeting_id=meeting.id),
        "mayManageDocuments": can_manage_documents(user, meeting),
        "strings": {**_strings(), "queue_empty": (
            _("Chưa có ai đăng ký phát biểu. Bấm “Cho phát biểu” trên ô một điểm cầu để mời phát biểu.")
            if can_run else _("Chưa có ai đăng ký phát biểu. Bấm “Đăng ký phát biểu” để xin phát biểu."))},
        "meetingUrl": url_for("meetings.detail", meeting_id=meeting.id),
        "serverNow": datetime.now(UTC).isoformat(),  # timers correct the browser's clock
    }
    return render_template("room/room.html", meeting=meeting, endpoints=endpoints, config=config,
                           can_run=can_run)


@bp.get("/meetings/<int:meeting_id>/room/documents")
@login_required
def room_documents(meeting_id: int) -> Response:
    """The presentable documents, for the presenter's list when the meeting's documents
    change (the room's "documents" event)."""
    user = domain_user()
    session = db.session
    meeting = session.get(Meeting, meeting_id)
    if meeting is None or not can_attend(session, user, meeting):
        abort(404)
    if not _may_present(session, user, meeting):
        return jsonify({"error": "forbidden",
                        "message": _("Chỉ chủ trì và thư ký được trình chiếu tài liệu.")}), 403  # type: ignore[return-value]
    return jsonify({"documents": presentable(session, user, meeting)})


@bp.get("/meetings/<int:meeting_id>/hall")
@login_required
def hall_screen(meeting_id: int) -> str:
    """The hall screen: full screen, no controls, for the hall's projector and each
    commune's TV. It follows the meeting without joining it (the /room "watch" event) and
    receives the hall and speaker without publishing; any account that may attend can open
    it (e.g. a display account of the endpoint)."""
    user = domain_user()
    session = db.session
    meeting = session.get(Meeting, meeting_id)
    if meeting is None or not can_attend(session, user, meeting):
        abort(404)
    strings = _strings()
    strings.update({
        "press_to_start": _("Bấm vào đây để bật âm thanh và xem toàn màn hình"),
        "hall_screen": _("Màn hình hội trường"),
        "waiting_media": _("Đang chờ hình ảnh từ máy chủ truyền thông…"),
        "not_live": _("Cuộc họp chưa bắt đầu. Màn hình sẽ tự hiện hình khi chủ trì khai mạc."),
    })
    config = {
        "meetingId": meeting.id,
        "userId": user.id,
        "isChair": meeting.chair_id == user.id,
        "strings": strings,
        "serverNow": datetime.now(UTC).isoformat(),
    }
    return render_template("room/hall.html", meeting=meeting, config=config)
