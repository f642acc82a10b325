from __future__ import annotations

from pathlib import Path

import docx
import pytest

from meetings.minutes.bien_ban import render_bien_ban
from meetings.minutes.sample import large_meeting
from meetings.minutes.thong_bao import render_thong_bao


@pytest.fixture(scope="module")
def large_data():
    return large_meeting()


@pytest.fixture(scope="module")
def bb_path(large_data, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bb") / "bien-ban.docx"
    render_bien_ban(large_data).save(str(path))
    return path


@pytest.fixture(scope="module")
def tb_path(large_data, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tb") / "thong-bao.docx"
    render_thong_bao(large_data).save(str(path))
    return path


@pytest.fixture(scope="module")
def bb_doc(bb_path):
    return docx.Document(str(bb_path))


@pytest.fixture(scope="module")
def tb_doc(tb_path):
    return docx.Document(str(tb_path))
