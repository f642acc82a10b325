"""Template filters and globals: Vietnamese dates, labels."""

from __future__ import annotations

from datetime import datetime

from flask import Flask
from flask_babel import gettext as _

from meetings.timefmt import local_input, local_str


def kind_label(kind: str) -> str:
    return {"giao_ban": _("Giao ban"), "hoi_nghi": _("Hội nghị"),
            "chuyen_de": _("Họp chuyên đề")}.get(kind, kind)


def status_label(status: str) -> str:
    return {"draft": _("Nháp"), "scheduled": _("Đã lên lịch"), "live": _("Đang họp"),
            "ended": _("Đã kết thúc"), "minutes_issued": _("Đã ban hành biên bản"),
            "archived": _("Lưu trữ")}.get(status, status)


def move_label(target: str) -> str:
    """The button that moves a meeting to ``target``."""
    return {"draft": _("Chuyển về nháp"), "scheduled": _("Lên lịch và gửi giấy mời"),
            "live": _("Bắt đầu cuộc họp"), "ended": _("Kết thúc cuộc họp"),
            "minutes_issued": _("Đánh dấu đã ban hành biên bản"),
            "archived": _("Đưa vào lưu trữ")}.get(target, target)


def role_label(role: str) -> str:
    return {"admin": _("Quản trị"), "chair": _("Chủ trì"), "secretary": _("Thư ký"),
            "delegate": _("Đại biểu"), "operator": _("Kỹ thuật điểm cầu"),
            "observer": _("Quan sát viên")}.get(role, role)


def unit_kind_label(kind: str) -> str:
    return {"province": _("Tỉnh"), "department": _("Sở, ngành"), "district": _("Huyện"),
            "commune": _("Xã"), "ward": _("Phường"), "other": _("Khác")}.get(kind, kind)


def init_app(app: Flask) -> None:
    app.jinja_env.filters["vndt"] = lambda v: local_str(v) if isinstance(v, datetime) else ""
    app.jinja_env.filters["vndate"] = lambda v: local_str(v, with_time=False) if isinstance(v, datetime) else ""
    app.jinja_env.filters["dtinput"] = local_input
    app.jinja_env.globals.update(kind_label=kind_label, status_label=status_label, move_label=move_label,
                                 role_label=role_label, unit_kind_label=unit_kind_label)
