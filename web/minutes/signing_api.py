"""/api/v1/signing-profiles: the administrator configures a person's certificate and
signature image, or an agency's certificate and seal image (Decree 30, Appendix I).
Files are given as paths on the server (the key store is the administrator's), checked
before anything is saved. Documented in docs/api.md ("Signing")."""

from __future__ import annotations

import logging

from flask import jsonify
from flask_login import login_required
from sqlalchemy import select
from werkzeug.wrappers import Response

from meetings.actions import signing_profiles as sp
from meetings.models.signing import SigningProfile
from meetings.permissions import is_admin, require
from meetings.validation import Fields
from web.auth import domain_user
from web.extensions import db
from web.minutes.blueprint import bp
from web.payload import body

logger = logging.getLogger(__name__)


def _public(profile: SigningProfile) -> dict[str, object]:
    """Never the passphrase."""
    return {"id": profile.id, "user_id": profile.user_id, "unit_id": profile.unit_id,
            "pkcs12_path": profile.pkcs12_path, "image_path": profile.image_path}


@bp.get("/api/v1/signing-profiles")
@login_required
def signing_profiles() -> Response:
    require(is_admin(domain_user()), "Chỉ quản trị hệ thống được xem cấu hình chữ ký số.")
    rows = db.session.scalars(select(SigningProfile).order_by(SigningProfile.id))
    return jsonify({"profiles": [_public(p) for p in rows]})


@bp.put("/api/v1/signing-profiles")
@login_required
def set_signing_profile() -> Response:
    user = domain_user()
    require(is_admin(user), "Chỉ quản trị hệ thống được cấu hình chữ ký số.")
    f = Fields(body())
    user_id = f.integer("user_id", minimum=1)
    unit_id = f.integer("unit_id", minimum=1)
    pkcs12_path = f.text("pkcs12_path", required=True, max_len=500)
    passphrase = f.text("passphrase", max_len=200)
    image_path = f.text("image_path", required=True, max_len=500)
    f.done()
    profile = sp.set_profile(db.session, user, user_id=user_id, unit_id=unit_id,
                             pkcs12_path=pkcs12_path, passphrase=passphrase,
                             image_path=image_path)
    data = _public(profile)
    db.session.commit()
    return jsonify({"profile": data})
