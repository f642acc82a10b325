"""Digital signature of issued PDFs (PAdES baseline B-B, pyHanko) and its validation.

Decree 30/2020 gives a digitally signed electronic document the value of the paper
original. The administrator configures the agency's certificate and key (PKCS#12 file, or
PEM key + certificate + chain); the demo makes its own CA and agency certificate with
``make_demo_certificate``. Validation uses pyHanko's validator against explicit trust roots
and never fetches anything from the network (no OCSP/CRL/timestamp server on an intranet).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko import stamp
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils import images, layout
from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.sign import fields, signers
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

logger = logging.getLogger(__name__)

FIELD_NAME = "ChuKySoCoQuan"
DEMO_ROOT_KEY = "demo-root-key.pem"
VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
STAMP_FONTS = (Path("/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf"),
               Path("/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf"))


class SigningError(RuntimeError):
    """The certificate/key could not be loaded or the PDF could not be signed."""


@dataclass(frozen=True)
class SigningConfig:
    """Where the agency's signing material lives (one of the two forms)."""

    pkcs12_path: Path | None = None
    pkcs12_passphrase: bytes | None = None
    key_path: Path | None = None
    cert_path: Path | None = None
    chain_paths: tuple[Path, ...] = ()
    key_passphrase: bytes | None = None
    location: str | None = None  # "Hà Tĩnh"
    signer_name: str | None = None  # the agency, as shown by PDF readers
    image: Path | None = None  # the agency's seal image (PNG) for a visible signature


def load_signer(config: SigningConfig) -> signers.SimpleSigner:
    if config.pkcs12_path is not None:
        signer = signers.SimpleSigner.load_pkcs12(
            str(config.pkcs12_path), passphrase=config.pkcs12_passphrase
        )
    elif config.key_path is not None and config.cert_path is not None:
        signer = signers.SimpleSigner.load(
            str(config.key_path), str(config.cert_path),
            ca_chain_files=tuple(str(p) for p in config.chain_paths),
            key_passphrase=config.key_passphrase,
        )
    else:
        raise SigningError("no signing certificate configured (PKCS#12, or PEM key + cert)")
    if signer is None:
        raise SigningError("the signing certificate or key could not be read "
                           "(wrong file or passphrase)")
    return signer


class _VietnamTimeSigner(signers.PdfSigner):
    """pyHanko takes the signing time from the server's local zone; a document of a
    Vietnamese agency states it in Asia/Ho_Chi_Minh (+07:00), in the signature dictionary
    (/M) and in the visible appearance alike (Decree 30, Appendix I)."""

    def init_signing_session(self, pdf_out, existing_fields_only=False):  # type: ignore[override]
        session = super().init_signing_session(pdf_out, existing_fields_only)
        session.system_time = dt.datetime.now(VN_TZ).replace(microsecond=0)
        return session


@dataclass(frozen=True)
class Appearance:
    """A visible signature: its box on a page (PDF points, origin bottom left), the image
    drawn in it (transparent PNG: a person's signature, an agency's seal) and, for an
    agency, the lines of text shown over it (its name; the signing time is added)."""

    page: int  # 0-based
    box: tuple[float, float, float, float]  # x1, y1, x2, y2
    image: Path
    text: str = ""  # "" for a person's signature (Appendix I: no text shown)


def iso_vn(moment: dt.datetime) -> str:
    """'2026-11-30T08:15:02+07:00' (ISO 8601 in Vietnam's time zone)."""
    return moment.astimezone(VN_TZ).replace(microsecond=0).isoformat()


def _stamp_style(look: Appearance) -> stamp.TextStampStyle:
    background = images.PdfImage(str(look.image))
    if not look.text:
        return stamp.TextStampStyle(stamp_text=" ", background=background,
                                    background_opacity=1.0, border_width=0)
    font = GlyphAccumulatorFactory(str(stamp_font()), font_size=7)
    return stamp.TextStampStyle(
        stamp_text="%(agency)s\n%(vn_time)s", background=background, background_opacity=1.0,
        border_width=0, text_box_style=TextBoxStyle(font=font, font_size=7),
        inner_content_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MID, y_align=layout.AxisAlignment.ALIGN_MIN))


def stamp_font() -> Path:
    """A Unicode serif font for the agency's text (Liberation Serif, metric twin of Times
    New Roman; Debian fonts-liberation2)."""
    for candidate in STAMP_FONTS:
        if candidate.is_file():
            return candidate
    raise SigningError("no font for the signature appearance (install fonts-liberation2)")


def sign_pdf(source: Path, target: Path, config: SigningConfig, *,
             reason: str = "Ban hành văn bản", field_name: str = FIELD_NAME,
             appearance: Appearance | None = None) -> Path:
    """Write ``target``: ``source`` plus a PAdES signature (incremental update, so earlier
    signatures stay valid), visible when ``appearance`` is given."""
    signer = load_signer(config)
    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=reason,
        location=config.location,
        name=config.signer_name,
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + f".{secrets.token_hex(4)}.part")
    try:
        if appearance is not None:
            spec = fields.SigFieldSpec(field_name, on_page=appearance.page,
                                       box=tuple(round(v, 2) for v in appearance.box))
            pdf_signer = _VietnamTimeSigner(meta, signer=signer, new_field_spec=spec,
                                            stamp_style=_stamp_style(appearance))
        else:
            pdf_signer = _VietnamTimeSigner(meta, signer=signer)
        with source.open("rb") as inf:
            writer = IncrementalPdfFileWriter(inf, strict=False)
            with tmp.open("wb") as out:
                pdf_signer.sign_pdf(writer, output=out, appearance_text_params={
                    "agency": appearance.text if appearance else "",
                    "vn_time": iso_vn(dt.datetime.now(VN_TZ))})
        tmp.replace(target)
    except SigningError:
        tmp.unlink(missing_ok=True)
        raise
    except Exception as exc:
        tmp.unlink(missing_ok=True)
        logger.warning("signing %s failed: %s", source.name, exc)
        raise SigningError(f"could not sign the PDF: {exc}") from exc
    logger.info("signed %s -> %s (%s)", source.name, target.name, field_name)
    return target


@dataclass(frozen=True)
class OneSignature:
    field: str
    intact: bool  # the signed bytes hash to the signed digest
    valid: bool  # intact, and the cryptographic signature checks out
    trusted: bool  # the certificate chains to a given trust root
    covers_whole_file: bool  # nothing was added after it
    changes_allowed: bool  # what was added after it is only more signatures
    signer: str | None = None
    signed_at: dt.datetime | None = None  # as the signature states it (+07:00 for ours)
    box: tuple[float, float, float, float] | None = None  # visible box, None if invisible

    @property
    def ok(self) -> bool:
        return self.intact and self.valid and self.trusted and (
            self.covers_whole_file or self.changes_allowed)


@dataclass(frozen=True)
class SignatureReport:
    """The verdict over every signature of a file. ``valid`` and ``ok`` are False as soon as
    one byte of any signed range changed: a user is never shown "valid" for such a file."""

    signed: bool  # at least one signature is present
    intact: bool  # every signature's signed bytes are unchanged
    valid: bool  # every signature intact and cryptographically valid
    trusted: bool  # every certificate chains to a given trust root
    covers_whole_file: bool  # the last signature covers the whole file
    signer: str | None = None  # of the last signature
    signed_at: dt.datetime | None = None
    error: str | None = None
    signatures: tuple[OneSignature, ...] = ()

    @property
    def ok(self) -> bool:
        return (self.signed and self.intact and self.valid and self.trusted
                and self.covers_whole_file and all(s.ok for s in self.signatures))


def _signed_at(sig) -> dt.datetime | None:
    """The /M time of the signature dictionary, with the offset it was written with."""
    raw = sig.sig_object.get("/M")
    if raw is None:
        return None
    try:
        from pyhanko.pdf_utils.misc import parse_pdf_date

        return parse_pdf_date(str(raw))
    except Exception:  # an unparsable date is shown as missing, not a crash
        return None


def _box(sig) -> tuple[float, float, float, float] | None:
    try:
        rect = [float(v) for v in sig.sig_field["/Rect"]]
    except (KeyError, TypeError, ValueError):
        return None
    if rect[2] - rect[0] <= 0 or rect[3] - rect[1] <= 0:
        return None
    return rect[0], rect[1], rect[2], rect[3]


def validate_signed_pdf(path: Path, trust_roots: Sequence[Path]) -> SignatureReport:
    """Validate every embedded signature; never raises on a damaged file."""
    roots = [load_cert_from_pemder(str(p)) for p in trust_roots]
    try:
        with path.open("rb") as f:
            reader = PdfFileReader(f, strict=False)
            signatures = reader.embedded_signatures
            if not signatures:
                return SignatureReport(False, False, False, False, False,
                                       error="không có chữ ký số")
            results = []
            for sig in signatures:
                context = ValidationContext(trust_roots=roots, allow_fetching=False,
                                            revocation_mode="soft-fail")
                status = validate_pdf_signature(sig, context)
                level = status.modification_level
                results.append(OneSignature(
                    field=sig.field_name,
                    intact=bool(status.intact),
                    valid=bool(status.intact and status.valid),
                    trusted=bool(status.trusted),
                    covers_whole_file=status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
                    changes_allowed=bool(
                        status.coverage in (SignatureCoverageLevel.ENTIRE_FILE,
                                            SignatureCoverageLevel.ENTIRE_REVISION)
                        and (level is None or level <= ModificationLevel.FORM_FILLING)),
                    signer=status.signing_cert.subject.human_friendly,
                    signed_at=_signed_at(sig) or status.signer_reported_dt,
                    box=_box(sig)))
            last = results[-1]
            return SignatureReport(
                signed=True,
                intact=all(r.intact for r in results),
                valid=all(r.valid for r in results),
                trusted=all(r.trusted for r in results),
                covers_whole_file=last.covers_whole_file,
                signer=last.signer, signed_at=last.signed_at, signatures=tuple(results))
    except Exception as exc:  # a damaged file is a failed validation, not a crash
        logger.info("signature validation of %s failed: %s", path.name, exc)
        return SignatureReport(True, False, False, False, False, error=str(exc))


# ------------------------------------------------------------------------------------------
# demo certificate


@dataclass(frozen=True)
class DemoCertificate:
    root_cert: Path  # PEM; the trust root to validate against
    cert: Path  # PEM agency certificate
    key: Path  # PEM private key (unencrypted; demo only)
    pkcs12: Path  # agency key + certificate + root, protected by the passphrase
    passphrase: bytes

    def config(self, location: str | None = None, image: Path | None = None) -> SigningConfig:
        return SigningConfig(pkcs12_path=self.pkcs12, pkcs12_passphrase=self.passphrase,
                             location=location, image=image)


def _name(common: str, org: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
        x509.NameAttribute(NameOID.COMMON_NAME, common),
    ])


def signing_certificate(
    subject: x509.Name, issuer: x509.Name, issuer_key: rsa.RSAPrivateKey,
    not_before: dt.datetime, not_after: dt.datetime,
) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """A new RSA 2048 key and a document-signing certificate for it, issued by
    ``issuer_key`` (non-repudiation, e-mail protection: what PAdES validators expect)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(issuer)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(not_before).not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=True, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            issuer_key.public_key()), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .sign(issuer_key, hashes.SHA256())
    )
    return key, cert


def make_demo_certificate(agency: str, folder: Path, *, passphrase: bytes = b"giaoban-demo",
                          days: int = 3650) -> DemoCertificate:
    """A self-signed demo CA and an agency signing certificate issued by it (RSA 2048)."""
    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    until = now + dt.timedelta(days=days)
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root_name = _name("giaoban Demo Root CA (không dùng thật)", "giaoban demo")
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name).issuer_name(root_name)
        .public_key(root_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(until)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()),
                       critical=False)
        .sign(root_key, hashes.SHA256())
    )
    key, cert = signing_certificate(_name(agency, agency), root_name, root_key, now, until)
    paths = DemoCertificate(folder / "demo-root-ca.pem", folder / "agency-cert.pem",
                            folder / "agency-key.pem", folder / "agency.p12", passphrase)
    paths.root_cert.write_bytes(root.public_bytes(serialization.Encoding.PEM))
    root_key_path = folder / DEMO_ROOT_KEY  # demo only: issues the people's certificates
    root_key_path.write_bytes(root_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    root_key_path.chmod(0o600)
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    paths.key.chmod(0o600)
    paths.pkcs12.write_bytes(pkcs12.serialize_key_and_certificates(
        agency.encode("utf-8"), key, cert, [root],
        serialization.BestAvailableEncryption(passphrase)))
    paths.pkcs12.chmod(0o600)
    logger.info("demo signing certificate for %s written to %s", agency, folder)
    return paths


def ensure_demo_certificate(agency: str, folder: Path, *,
                            passphrase: bytes = b"giaoban-demo") -> DemoCertificate:
    """The demo's certificate in ``folder``, made once and reused afterwards."""
    existing = DemoCertificate(folder / "demo-root-ca.pem", folder / "agency-cert.pem",
                               folder / "agency-key.pem", folder / "agency.p12", passphrase)
    if all(p.exists() for p in (existing.root_cert, existing.cert, existing.key,
                                existing.pkcs12, folder / DEMO_ROOT_KEY)):
        return existing
    return make_demo_certificate(agency, folder, passphrase=passphrase)
