"""Why an upload was refused: an English code for programs, a Vietnamese message for people."""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

MESSAGES_VI: dict[str, str] = {
    "empty_file": "Tệp rỗng (0 byte), không thể tải lên.",
    "too_large": "Tệp vượt quá dung lượng cho phép ({limit}).",
    "bad_name": "Tên tệp không hợp lệ (không được chứa đường dẫn hoặc ký tự điều khiển).",
    "executable": "Tệp là chương trình chạy được hoặc tập lệnh; không nhận loại tệp này.",
    "unknown_type": "Không nhận dạng được loại tệp. Chỉ nhận PDF, Word, Excel, PowerPoint, "
    "OpenDocument và ảnh (PNG, JPEG, GIF, WebP).",
    "type_mismatch": "Nội dung tệp là {actual} nhưng phần mở rộng là “.{ext}”.",
    "zip_bomb": "Tệp nén bất thường (dung lượng giải nén quá lớn); có thể là “bom nén”.",
    "corrupt": "Tệp bị hỏng hoặc không đọc được ({detail}).",
}


class UploadRejected(Exception):
    """An uploaded file was refused; nothing of it is kept on disk."""

    def __init__(self, code: str, **params: object) -> None:
        self.code = code
        self.params = params
        template = MESSAGES_VI.get(code, "Tệp không hợp lệ.")
        try:
            self.message = template.format(**params)
        except (KeyError, IndexError):
            self.message = template
        super().__init__(f"{code}: {self.message}")

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


def human_size(n: int) -> str:
    """Bytes as a short Vietnamese-readable size (1 MB = 1024 * 1024 bytes)."""
    size = float(n)
    for unit in ("byte", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            text = f"{size:.0f}" if unit == "byte" or size >= 100 else f"{size:.1f}"
            return f"{text.replace('.', ',')} {unit}"
        size /= 1024
    return f"{n} byte"
