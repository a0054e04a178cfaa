"""A test CA and the certificates the README's openssl commands make, written as PEM files into a directory."""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SERVER_NAMES = ("localhost", "127.0.0.1")
"""What the server certificate names: where the tests reach the servers."""

SERVICE_NAME = "autoscale.internal"
"""What the service certificate names: a deployment's name for the service, which no test can reach it by."""


@dataclass(frozen=True)
class TlsFiles:
    """PEM files of two CAs and of certificates they signed."""

    ca: Path
    """The CA of the deployment: it signed the server and client certificates."""
    server_cert: Path
    """A server certificate for localhost and 127.0.0.1 (a client one too: the services present it to each other)."""
    server_key: Path
    service_cert: Path
    """A server certificate for SERVICE_NAME only, as made for a service behind a name."""
    service_key: Path
    client_cert: Path
    """A client certificate (a user's, or a service's calling its peers)."""
    client_key: Path
    other_ca: Path
    """A CA that the deployment does not trust."""
    other_client_cert: Path
    """A client certificate that `other_ca` signed."""
    other_client_key: Path


def make_tls_files(directory: Path) -> TlsFiles:
    """Make the CAs, keys and certificates in `directory` (EC P-256 keys: quick to make)."""
    ca_key, ca_cert = _authority("autoscale test CA")
    other_ca_key, other_ca_cert = _authority("some other CA")
    server_key, server_cert = _leaf(
        "autoscale", ca_key, ca_cert, [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH], SERVER_NAMES
    )
    service_key, service_cert = _leaf(
        "autoscale", ca_key, ca_cert, [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH], (SERVICE_NAME,)
    )
    client_key, client_cert = _leaf("operator", ca_key, ca_cert, [ExtendedKeyUsageOID.CLIENT_AUTH], ())
    other_key, other_cert = _leaf("intruder", other_ca_key, other_ca_cert, [ExtendedKeyUsageOID.CLIENT_AUTH], ())
    files = TlsFiles(
        ca=directory / "ca.pem",
        server_cert=directory / "server.pem",
        server_key=directory / "server.key",
        service_cert=directory / "service.pem",
        service_key=directory / "service.key",
        client_cert=directory / "client.pem",
        client_key=directory / "client.key",
        other_ca=directory / "other-ca.pem",
        other_client_cert=directory / "other-client.pem",
        other_client_key=directory / "other-client.key",
    )
    certificates = {files.ca: ca_cert, files.server_cert: server_cert, files.service_cert: service_cert,
                    files.client_cert: client_cert, files.other_ca: other_ca_cert, files.other_client_cert: other_cert}
    for path, certificate in certificates.items():
        path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    keys = {files.server_key: server_key, files.service_key: service_key, files.client_key: client_key, files.other_client_key: other_key}
    for path, key in keys.items():
        path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return files


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(subject: str, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
    )


def _authority(common_name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        _builder(common_name, _name(common_name), key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
                          key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, certificate


def _leaf(
    common_name: str,
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    usages: list[x509.ObjectIdentifier],
    names: tuple[str, ...],
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        _builder(common_name, ca_cert.subject, key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName([_general_name(name) for name in names]), critical=False)
    return key, builder.sign(ca_key, hashes.SHA256())


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)
