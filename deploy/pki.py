"""TLS certificates for the installation: an internal CA and a server certificate made
with ``cryptography``, or the province's own certificate and key checked before use."""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

logger = logging.getLogger(__name__)

SERVER_DAYS = 825
CA_DAYS = 3650


class CertificateProblem(ValueError):
    """A certificate or key that cannot be used; the message names the file and the fix."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _write_private(path: Path, data: bytes, mode: int = 0o600) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _san(names: list[str]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


def make_ca(folder: Path, label: str) -> tuple[Path, Path]:
    """ca.key + ca.crt in ``folder`` (kept if present). Returns their paths."""
    key_path, cert_path = folder / "ca.key", folder / "ca.crt"
    if key_path.exists() and cert_path.exists():
        return key_path, cert_path
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"giaoban CA {label}"[:64]),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "giaoban")])
    now = _now()
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(key_path, _key_pem(key))
    _write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return key_path, cert_path


def make_server_cert(folder: Path, ca_key: Path, ca_cert: Path, names: list[str],
                     days: int = SERVER_DAYS) -> tuple[Path, Path]:
    """server.key + server.crt for ``names`` (DNS names and IP addresses), signed by the CA."""
    ca = x509.load_pem_x509_certificate(ca_cert.read_bytes())
    signer = serialization.load_pem_private_key(ca_key.read_bytes(), password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0][:64])]))
        .issuer_name(ca.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=days))
        .add_extension(_san(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.public_key()),  # type: ignore[arg-type]
                       critical=False)
        .sign(signer, hashes.SHA256())  # type: ignore[arg-type]
    )
    key_path, cert_path = folder / "server.key", folder / "server.crt"
    _write_private(key_path, _key_pem(key), 0o640)
    _write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM)
                   + ca_cert.read_bytes(), 0o644)
    return key_path, cert_path


@dataclass(frozen=True)
class CertInfo:
    subject: str
    names: tuple[str, ...]
    not_after: dt.datetime

    @property
    def days_left(self) -> float:
        return (self.not_after - _now()).total_seconds() / 86400


def read_cert(path: Path) -> CertInfo:
    """The first certificate of a PEM file; CertificateProblem naming what is wrong."""
    if not path.is_file():
        raise CertificateProblem(f"certificate file {path} does not exist; give the path of the "
                                 "server certificate (PEM) issued by the province's CA")
    try:
        cert = x509.load_pem_x509_certificates(path.read_bytes())[0]
    except (ValueError, IndexError) as exc:
        raise CertificateProblem(f"{path} is not a PEM certificate ({exc}); convert it with "
                                 "`openssl x509 -in FILE -out FILE.pem`") from None
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [str(v) for v in san.get_values_for_type(x509.DNSName)]
        names += [str(v) for v in san.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        names = []
    return CertInfo(cert.subject.rfc4514_string(), tuple(names), cert.not_valid_after_utc)


def check_pair(cert_path: Path, key_path: Path, names: list[str]) -> CertInfo:
    """Check an existing certificate and key before they are installed."""
    info = read_cert(cert_path)
    if not key_path.is_file():
        raise CertificateProblem(f"key file {key_path} does not exist; give the private key "
                                 "that belongs to the certificate (PEM, not encrypted)")
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise CertificateProblem(f"{key_path} is not an unencrypted PEM private key ({exc}); "
                                 "decrypt it with `openssl pkey -in KEY -out KEY.plain`") from None
    cert = x509.load_pem_x509_certificates(cert_path.read_bytes())[0]
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(serialization.Encoding.DER, public) != \
            cert.public_key().public_bytes(serialization.Encoding.DER, public):
        raise CertificateProblem(f"key {key_path} does not belong to certificate {cert_path}")
    if info.days_left <= 0:
        raise CertificateProblem(f"certificate {cert_path} expired on {info.not_after:%d/%m/%Y}; "
                                 "ask the province's CA for a new one")
    missing = [n for n in names if n not in info.names]
    if missing:
        raise CertificateProblem(f"certificate {cert_path} does not name {', '.join(missing)} "
                                 f"(it names {', '.join(info.names) or 'nothing'}); browsers "
                                 "would refuse it")
    return info


TRUST_HELP = """\
Client machines must trust the internal CA once (then https://{name} opens without warning):
  - download it from http://{name}/giaoban-ca.crt (or copy {ca})
  - Windows (Chrome, Edge): certutil -addstore -f ROOT giaoban-ca.crt (as administrator),
    or for a whole domain: Group Policy > Public Key Policies > Trusted Root Certification Authorities
  - Debian/Ubuntu: cp giaoban-ca.crt /usr/local/share/ca-certificates/ && update-ca-certificates;
    Chromium on Linux: certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n giaoban -i giaoban-ca.crt
  - Firefox: Settings > Privacy & Security > Certificates > Import (trust for websites),
    or policy security.enterprise_roots.enabled=true on Windows
  - Android/iOS tablets: open the .crt, install it as a CA certificate and enable full trust
"""
