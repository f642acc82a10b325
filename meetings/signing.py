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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

logger = logging.getLogger(__name__)

FIELD_NAME = "ChuKySoCoQuan"


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


def sign_pdf(source: Path, target: Path, config: SigningConfig, *,
             reason: str = "Ban hành văn bản", field_name: str = FIELD_NAME) -> Path:
    """Write ``target``: ``source`` plus a PAdES signature (incremental update)."""
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
    tmp = target.with_name(target.name + ".part")
    try:
        with source.open("rb") as inf:
            writer = IncrementalPdfFileWriter(inf, strict=False)
            with tmp.open("wb") as out:
                signers.sign_pdf(writer, meta, signer=signer, output=out)
        tmp.replace(target)
    except Exception as exc:
        tmp.unlink(missing_ok=True)
        logger.warning("signing %s failed: %s", source.name, exc)
        raise SigningError(f"could not sign the PDF: {exc}") from exc
    logger.info("signed %s -> %s", source.name, target.name)
    return target


@dataclass(frozen=True)
class SignatureReport:
    signed: bool  # a signature is present
    intact: bool  # the signed bytes hash to the signed digest
    valid: bool  # the cryptographic signature checks out
    trusted: bool  # the certificate chains to a given trust root
    covers_whole_file: bool  # nothing was added after signing
    signer: str | None = None
    signed_at: dt.datetime | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.signed and self.intact and self.valid and self.trusted and \
            self.covers_whole_file


def validate_signed_pdf(path: Path, trust_roots: Sequence[Path]) -> SignatureReport:
    """Validate the first embedded signature; never raises on a damaged file."""
    roots = [load_cert_from_pemder(str(p)) for p in trust_roots]
    context = ValidationContext(trust_roots=roots, allow_fetching=False,
                                revocation_mode="soft-fail")
    try:
        with path.open("rb") as f:
            reader = PdfFileReader(f, strict=False)
            signatures = reader.embedded_signatures
            if not signatures:
                return SignatureReport(False, False, False, False, False,
                                       error="không có chữ ký số")
            status = validate_pdf_signature(signatures[0], context)
            return SignatureReport(
                signed=True,
                intact=bool(status.intact),
                valid=bool(status.valid),
                trusted=bool(status.trusted),
                covers_whole_file=status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
                signer=status.signing_cert.subject.human_friendly,
                signed_at=status.signer_reported_dt,
            )
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

    def config(self, location: str | None = None) -> SigningConfig:
        return SigningConfig(pkcs12_path=self.pkcs12, pkcs12_passphrase=self.passphrase,
                             location=location)


def _name(common: str, org: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
        x509.NameAttribute(NameOID.COMMON_NAME, common),
    ])


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
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(agency, agency)).issuer_name(root_name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(until)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=True, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            root_key.public_key()), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .sign(root_key, hashes.SHA256())
    )
    paths = DemoCertificate(folder / "demo-root-ca.pem", folder / "agency-cert.pem",
                            folder / "agency-key.pem", folder / "agency.p12", passphrase)
    paths.root_cert.write_bytes(root.public_bytes(serialization.Encoding.PEM))
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
                                existing.pkcs12)):
        return existing
    return make_demo_certificate(agency, folder, passphrase=passphrase)
