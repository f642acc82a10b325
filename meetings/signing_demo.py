"""The demo's own signing material: certificates for people (issued by the demo root made
by ``meetings.signing.make_demo_certificate``), signature images and seal images.

Decree 30, Appendix I: a person's signature image is blue on a transparent background
(PNG); an agency's seal image is red, at the seal's real size, transparent (PNG). A real
installation gets these from the administrator (``meetings.actions.signing_profiles``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import math
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from PIL import Image, ImageDraw, ImageFont

from meetings.signing import DEMO_ROOT_KEY, STAMP_FONTS, DemoCertificate, signing_certificate

logger = logging.getLogger(__name__)

SIGNATURE_BLUE = (20, 45, 160, 255)
SEAL_RED = (205, 25, 30, 255)


def _font(size: int, italic: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in STAMP_FONTS:
        candidate = path.with_name(path.name.replace("Regular", "Italic")) if italic else path
        if candidate.is_file():
            return ImageFont.truetype(str(candidate), size)
    return ImageFont.load_default()


def issue_person_certificate(demo: DemoCertificate, name: str, organisation: str,
                             stem: str) -> Path:
    """A PKCS#12 file for ``name`` issued by the demo root (same passphrase as the demo)."""
    folder = demo.root_cert.parent
    target = folder / f"{stem}.p12"
    if target.exists():
        return target
    root = x509.load_pem_x509_certificate(demo.root_cert.read_bytes())
    root_key = serialization.load_pem_private_key((folder / DEMO_ROOT_KEY).read_bytes(), None)
    assert isinstance(root_key, rsa.RSAPrivateKey)
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    subject = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
                         x509.NameAttribute(NameOID.COMMON_NAME, name)])
    key, cert = signing_certificate(
        subject, root.subject, root_key, now, now + dt.timedelta(days=3650)
    )
    target.write_bytes(pkcs12.serialize_key_and_certificates(
        name.encode("utf-8"), key, cert, [root],
        serialization.BestAvailableEncryption(demo.passphrase)))
    target.chmod(0o600)
    logger.info("demo certificate for %s written to %s", name, target)
    return target


def signature_image(name: str, target: Path) -> Path:
    """A handwritten-looking blue signature on a transparent background (PNG)."""
    if target.exists():
        return target
    width, height = 600, 240
    img = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    seed = int(hashlib.sha256(name.encode()).hexdigest()[:8], 16)
    points = []
    for i in range(40):
        x = 40 + i * 12
        y = 120 + 55 * math.sin(i / 3.0 + seed % 7) * (1 - i / 60) + (seed >> (i % 16) & 7)
        points.append((x, y))
    draw.line(points, fill=SIGNATURE_BLUE, width=7, joint="curve")
    given = name.split()[-1] if name.split() else name
    draw.text((70, 20), given, fill=SIGNATURE_BLUE, font=_font(90, italic=True))
    draw.line([(60, 200), (560, 185)], fill=SIGNATURE_BLUE, width=5)
    target.parent.mkdir(parents=True, exist_ok=True)
    img.save(target)
    return target


def seal_image(agency: str, target: Path) -> Path:
    """A red round seal with the agency's name around a star (PNG, transparent)."""
    if target.exists():
        return target
    size = 480
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    draw.ellipse((8, 8, size - 8, size - 8), outline=SEAL_RED, width=16)
    draw.ellipse((110, 110, size - 110, size - 110), outline=SEAL_RED, width=6)
    cx = cy = size / 2
    star = []
    for k in range(10):
        r = 70 if k % 2 == 0 else 28
        a = -math.pi / 2 + k * math.pi / 5
        star.append((cx + r * math.cos(a), cy + r * math.sin(a)))
    draw.polygon(star, fill=SEAL_RED)
    text = " ".join(agency.upper().split()) + " ★ "
    font = _font(34)
    radius = size / 2 - 62
    step = 2 * math.pi / max(len(text), 1)
    for i, ch in enumerate(text):
        angle = -math.pi / 2 + i * step
        glyph = Image.new("RGBA", (60, 60), (0, 0, 0, 0))
        ImageDraw.Draw(glyph).text((30, 30), ch, fill=SEAL_RED, font=font, anchor="mm")
        glyph = glyph.rotate(-math.degrees(angle + math.pi / 2), resample=Image.BICUBIC)
        x = cx + radius * math.cos(angle) - 30
        y = cy + radius * math.sin(angle) - 30
        img.alpha_composite(glyph, (int(x), int(y)))
    target.parent.mkdir(parents=True, exist_ok=True)
    img.save(target)
    return target
