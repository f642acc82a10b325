"""Signing material per person and per agency (set by the administrator), and the plan
of who signs an issued document where.

Biên bản: the secretary at THƯ KÝ (when configured), the chair at CHỦ TỌA, then the
agency's seal over the chair's signature. Thông báo: the chosen signatory at the signature
block, then the agency's seal. A signer without a certificate or an image is refused
before anything is numbered (``ValidationFailed``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.orm import Session

from meetings.actions import audit
from meetings.errors import NotFound, ValidationFailed
from meetings.minutes.data import MinutesData
from meetings.minutes.signatures import SignerSlot
from meetings.minutes.thong_bao import signatory
from meetings.models import Unit, User
from meetings.models.minutes import DocKind, MinutesDocument
from meetings.models.signing import SigningProfile
from meetings.permissions import is_admin, require
from meetings.signing import DemoCertificate, SigningConfig, SigningError, load_signer
from meetings.signing_demo import issue_person_certificate, seal_image, signature_image

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SignaturePlan:
    people: tuple[SignerSlot, ...]  # in signing order; the last one carries the seal
    agency: SignerSlot | None


def _check_files(pkcs12_path: str, passphrase: str, image_path: str) -> None:
    errors: dict[str, str] = {}
    if not pkcs12_path or not Path(pkcs12_path).is_file():
        errors["pkcs12_path"] = "Không tìm thấy tệp chứng thư số (PKCS#12)."
    else:
        try:
            load_signer(SigningConfig(pkcs12_path=Path(pkcs12_path),
                                      pkcs12_passphrase=passphrase.encode() or None))
        except SigningError:
            errors["passphrase"] = "Không mở được chứng thư số (sai tệp hoặc mật khẩu)."
    if not image_path or not Path(image_path).is_file():
        errors["image_path"] = "Không tìm thấy tệp hình ảnh (PNG nền trong suốt)."
    else:
        try:
            with Image.open(image_path) as img:
                if img.format != "PNG":
                    errors["image_path"] = "Hình ảnh phải là tệp PNG."
        except (UnidentifiedImageError, OSError):
            errors["image_path"] = "Tệp hình ảnh không đọc được."
    if errors:
        raise ValidationFailed("Thông tin ký số chưa hợp lệ.", errors)


def set_profile(session: Session, actor: User, *, user_id: int | None = None,
                unit_id: int | None = None, pkcs12_path: str, passphrase: str,
                image_path: str) -> SigningProfile:
    """The administrator sets a person's (signature image) or an agency's (seal image)
    certificate and image; the files are checked before anything is saved."""
    require(is_admin(actor), "Chỉ quản trị hệ thống được cấu hình chữ ký số.")
    if (user_id is None) == (unit_id is None):
        raise ValidationFailed("Chọn một người ký hoặc một cơ quan.",
                               {"user_id": "Chỉ một trong hai.", "unit_id": "Chỉ một trong hai."})
    if user_id is not None and session.get(User, user_id) is None:
        raise NotFound("Không tìm thấy người dùng.")
    if unit_id is not None and session.get(Unit, unit_id) is None:
        raise NotFound("Không tìm thấy cơ quan.")
    _check_files(pkcs12_path, passphrase, image_path)
    profile = profile_of(session, user_id=user_id, unit_id=unit_id)
    if profile is None:
        profile = SigningProfile(user_id=user_id, unit_id=unit_id)
        session.add(profile)
    profile.pkcs12_path, profile.passphrase, profile.image_path = (pkcs12_path, passphrase,
                                                                   image_path)
    profile.updated_by_id = actor.id
    session.flush()
    audit.record(session, actor, "signing.profile", object_type="signing_profile",
                 object_id=profile.id, user_id=user_id, unit_id=unit_id)
    return profile


def profile_of(session: Session, *, user_id: int | None = None,
               unit_id: int | None = None) -> SigningProfile | None:
    if user_id is not None:
        return session.scalar(select(SigningProfile).where(SigningProfile.user_id == user_id))
    return session.scalar(select(SigningProfile).where(SigningProfile.unit_id == unit_id))


def _usable(profile: SigningProfile | None) -> bool:
    return (profile is not None and bool(profile.pkcs12_path) and bool(profile.image_path)
            and Path(profile.pkcs12_path).is_file() and Path(profile.image_path).is_file())


def _config(profile: SigningProfile, location: str | None) -> SigningConfig:
    return SigningConfig(pkcs12_path=Path(profile.pkcs12_path),
                         pkcs12_passphrase=profile.passphrase.encode() or None,
                         location=location)


def _missing(who: str, user: User | None) -> ValidationFailed:
    name = user.full_name if user is not None else "(chưa chọn)"
    return ValidationFailed(
        f"{who} {name} chưa được cấu hình chứng thư số hoặc hình ảnh chữ ký; văn bản chưa "
        f"được ban hành. Đề nghị quản trị hệ thống cấu hình trước khi ban hành.",
        {"signer": f"{name}: thiếu chứng thư số hoặc hình ảnh chữ ký."})


def signature_plan(session: Session, doc: MinutesDocument, data: MinutesData,
                   agency_unit: Unit, *, agency_fallback: SigningConfig | None,
                   location: str | None = None) -> SignaturePlan:
    """Who signs ``doc`` where; raises ValidationFailed (before issue) when a required
    signer or the agency has no certificate or image."""
    meeting = doc.meeting
    people: list[SignerSlot] = []
    if doc.kind == DocKind.BIEN_BAN.value:
        secretary = session.get(User, meeting.secretary_id) if meeting.secretary_id else None
        chair = session.get(User, meeting.chair_id) if meeting.chair_id else None
        sec_profile = profile_of(session, user_id=secretary.id) if secretary else None
        if secretary is not None and _usable(sec_profile):
            assert sec_profile is not None
            people.append(SignerSlot("ThuKy", _config(sec_profile, location),
                                     Path(sec_profile.image_path), "THƯ KÝ",
                                     data.secretary.name, reason="Thư ký ký biên bản"))
        chair_profile = profile_of(session, user_id=chair.id) if chair else None
        if chair is None or not _usable(chair_profile):
            raise _missing("Chủ tọa", chair)
        assert chair_profile is not None
        people.append(SignerSlot("ChuToa", _config(chair_profile, location),
                                 Path(chair_profile.image_path), "CHỦ TỌA", data.chair.name,
                                 reason="Chủ tọa ký biên bản"))
    else:
        who = signatory(data, data.notice)
        signer_id = doc.signer_id or meeting.chair_id
        signer = session.get(User, signer_id) if signer_id else None
        profile = profile_of(session, user_id=signer.id) if signer else None
        if signer is None or not _usable(profile):
            raise _missing("Người ký", signer)
        assert profile is not None
        people.append(SignerSlot("NguoiKy", _config(profile, location), Path(profile.image_path),
                                 who.lines[-1], who.name, reason="Ký ban hành thông báo"))
    agency_name = " ".join(data.agency.name.split())
    unit_profile = profile_of(session, unit_id=agency_unit.id)
    if _usable(unit_profile):
        assert unit_profile is not None
        agency_config = _config(unit_profile, location)
        seal = Path(unit_profile.image_path)
    elif agency_fallback is not None and agency_fallback.image is not None \
            and agency_fallback.image.is_file():
        agency_config, seal = agency_fallback, agency_fallback.image
    else:
        raise ValidationFailed(
            f"Cơ quan {agency_name} chưa được cấu hình chứng thư số hoặc hình ảnh con dấu; "
            f"văn bản chưa được ban hành.",
            {"agency": "Thiếu chứng thư số hoặc hình ảnh con dấu của cơ quan."})
    agency = SignerSlot("CoQuan", agency_config, seal, "", "", seal_text=agency_name,
                        reason="Ký số của cơ quan ban hành")
    return SignaturePlan(tuple(people), agency)


def ensure_demo_profiles(session: Session, users: list[User], unit: Unit,
                         demo: DemoCertificate) -> None:
    """The demo makes its own material: a certificate issued by the demo root and a
    signature image for each of ``users``, and a seal image for the agency."""
    folder = demo.root_cert.parent
    for user in users:
        if _usable(profile_of(session, user_id=user.id)):
            continue
        org = user.unit.name if user.unit is not None else unit.name
        p12 = issue_person_certificate(demo, user.full_name, org, f"user-{user.id}")
        image = signature_image(user.full_name, folder / f"user-{user.id}-chu-ky.png")
        profile = profile_of(session, user_id=user.id) or SigningProfile(user_id=user.id)
        profile.pkcs12_path, profile.passphrase = str(p12), demo.passphrase.decode()
        profile.image_path = str(image)
        session.add(profile)
    session.flush()


def demo_seal(agency_name: str, demo: DemoCertificate) -> Path:
    return seal_image(agency_name, demo.root_cert.parent / "con-dau.png")
