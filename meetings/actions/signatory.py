"""Who signs a conclusion notice and with what authority (Decree 30, Appendix I, II.8):
ký trực tiếp, TM. (thay mặt a collective), KT. (ký thay the head), TL. (thừa lệnh),
TUQ. (thừa ủy quyền), Q. (quyền). The secretary chooses it when generating a version; the
chair sees it in the version submitted and approves it with the text; issuing prints and
signs exactly that. A Biên bản is always signed by THƯ KÝ and CHỦ TỌA (form 1.9)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from meetings.errors import ValidationFailed
from meetings.minutes import data as d
from meetings.minutes.vncase import title_without_agency
from meetings.models import Meeting, User
from meetings.models.minutes import DocKind, MinutesDocument
from meetings.validation import Fields

logger = logging.getLogger(__name__)

AUTHORITIES = ("", "TM.", "KT.", "TL.", "TUQ.", "Q.")
NEEDS_PRINCIPAL = ("TM.", "KT.", "TL.", "TUQ.")


@dataclass(frozen=True)
class SignatoryInput:
    signer_id: int
    authority: str = ""
    principal: str = ""  # "CHỦ TỊCH", "ỦY BAN NHÂN DÂN"
    title: str = ""  # "" : from the signer's position ("Phó Chủ tịch UBND tỉnh" -> "PHÓ CHỦ TỊCH")


def parse_signatory(data: Mapping[str, Any]) -> SignatoryInput | None:
    """Web input (``signer_id``, ``authority``, ``principal``, ``title``) or None."""
    if data.get("signer_id") in (None, ""):
        return None
    f = Fields(data)
    signer_id = f.integer("signer_id", minimum=1)
    authority = f.text("authority", max_len=8) or ""
    principal = f.text("principal", max_len=200) or ""
    title = f.text("title", max_len=200) or ""
    f.done()
    assert signer_id is not None
    return SignatoryInput(signer_id, authority, principal, title)


def resolve(session: Session, meeting: Meeting, kind: str, given: SignatoryInput | None,
            previous: MinutesDocument | None) -> tuple[int | None, d.Signatory | None]:
    """The signer's user id and the printed signatory of a new version."""
    if kind == DocKind.BIEN_BAN.value:
        if given is not None:
            raise ValidationFailed("Biên bản do thư ký và chủ tọa ký (mẫu 1.9), không chọn "
                                   "người ký khác.", {"signer_id": "Không áp dụng cho biên bản."})
        return meeting.chair_id, None
    if given is None and previous is not None and previous.signer_id is not None:
        given = SignatoryInput(previous.signer_id, previous.signer_authority,
                               previous.signer_principal, previous.signer_title)
    if given is None:
        return meeting.chair_id, None
    errors: dict[str, str] = {}
    signer = session.get(User, given.signer_id)
    if signer is None or not signer.active:
        errors["signer_id"] = "Không tìm thấy người ký."
    authority = given.authority.strip().upper()
    if authority and not authority.endswith("."):
        authority += "."
    if authority not in AUTHORITIES:
        errors["authority"] = "Thẩm quyền ký: để trống (ký trực tiếp), TM., KT., TL., TUQ. hoặc Q."
    principal = " ".join(given.principal.split()).upper()
    if authority in NEEDS_PRINCIPAL and not principal:
        errors["principal"] = (f"Ký {authority} cần ghi rõ thay mặt/thay ai (ví dụ: "
                               f"CHỦ TỊCH, ỦY BAN NHÂN DÂN).")
    title = " ".join(given.title.split()).upper()
    if not title and signer is not None:
        title = title_without_agency(signer.position or "")
    if not title:
        errors["title"] = "Nhập chức vụ của người ký (ví dụ: PHÓ CHỦ TỊCH)."
    if errors:
        raise ValidationFailed("Thông tin người ký chưa hợp lệ.", errors)
    assert signer is not None
    return signer.id, d.Signatory(signer.full_name, title, authority,
                                  principal if authority in NEEDS_PRINCIPAL else "")
