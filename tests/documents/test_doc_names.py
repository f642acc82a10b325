from __future__ import annotations

import unicodedata

import pytest

from meetings.documents.errors import UploadRejected
from meetings.documents.names import archive_name, display_name, extension, title_from_name


def test_vietnamese_letters_kept_and_normalised() -> None:
    decomposed = unicodedata.normalize("NFD", "Dự thảo Nghị quyết.docx")
    assert display_name(decomposed) == "Dự thảo Nghị quyết.docx"
    assert display_name("  Báo cáo   tổng kết  .pdf ") == "Báo cáo tổng kết .pdf"


@pytest.mark.parametrize(
    "raw",
    ["../../x", "../../etc/passwd.pdf", "a/b.pdf", "C:\\Users\\x\\tờ trình.pdf", "..", ".", "",
     "bad\x00.pdf", "tab\tname.pdf", "x\u202egpj.exe"],
)
def test_paths_and_control_characters_refused(raw: str) -> None:
    with pytest.raises(UploadRejected) as info:
        display_name(raw)
    assert info.value.code == "bad_name"
    assert "Tên tệp không hợp lệ" in info.value.message


def test_long_name_keeps_extension() -> None:
    name = display_name("Tờ trình " * 40 + ".docx")
    assert len(name) <= 180 and name.endswith(".docx")


def test_leading_dot_dropped_and_windows_characters_replaced() -> None:
    assert display_name(".hidden.pdf") == "hidden.pdf"
    assert display_name('a:b*c?.pdf') == "a_b_c_.pdf"


def test_extension_and_title() -> None:
    assert extension("Kế hoạch.XLSX") == "xlsx"
    assert extension("README") == ""
    assert title_from_name("Kế hoạch vốn.xlsx") == "Kế hoạch vốn"


def test_archive_names_unique_and_path_free() -> None:
    taken: set[str] = set()
    first = archive_name("Báo cáo", "pdf", taken)
    second = archive_name("báo cáo", "pdf", taken)
    third = archive_name("../../etc/x", "pdf", taken)
    assert first == "Báo cáo.pdf"
    assert second == "báo cáo (2).pdf"
    assert "/" not in third and not third.startswith(".")
