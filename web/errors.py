"""Domain errors -> HTTP: JSON under /api, a page elsewhere."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from meetings.errors import DomainError
from web.extensions import db

logger = logging.getLogger(__name__)

MESSAGES = {
    400: "Yêu cầu không hợp lệ.",
    401: "Bạn cần đăng nhập.",
    403: "Bạn không có quyền thực hiện thao tác này.",
    404: "Không tìm thấy.",
    405: "Phương thức không được hỗ trợ.",
    409: "Dữ liệu đã bị người khác thay đổi.",
    413: "Tệp hoặc dữ liệu gửi lên quá lớn.",
    429: "Quá nhiều yêu cầu; vui lòng thử lại sau.",
    500: "Lỗi hệ thống.",
}


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def error_response(status: int, code: str, message: str, fields: dict[str, str] | None = None) -> Response:
    if wants_json():
        body: dict[str, object] = {"error": code, "message": message}
        if fields:
            body["fields"] = fields
        response = jsonify(body)
        response.status_code = status
        return response
    html = render_template("error.html", status=status, message=message, fields=fields or {})
    return Response(html, status=status, mimetype="text/html")


def init_app(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(exc: DomainError) -> Response:
        db.session.rollback()
        return error_response(exc.status, exc.code, exc.message, exc.fields)

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> Response:
        return error_response(400, "csrf", "Phiên làm việc hết hạn hoặc thiếu mã CSRF; hãy tải lại trang.")

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        status = exc.code or 500
        message = MESSAGES.get(status) or (exc.description or "")
        if status == 429 and exc.description:
            message = MESSAGES[429]
        return error_response(status, (exc.name or "error").lower().replace(" ", "_"), message)
