"""TLS for the server, its calls to peers and the command line: PEM files read and checked once, at start, as gRPC credentials.

A mistake in the files (missing or unreadable, not PEM, a key that is not the certificate's, half a pair) is a
ConfigurationError naming the flag and the file: the process refuses to start rather than fail every handshake.
"""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass

import grpc
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.x509.oid import NameOID

from autoscale.config import ConfigurationError, Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PemFile:
    """A PEM file and the flag that names it (mistakes in it are told by both)."""

    flag: str
    """The flag that gave it, e.g. --tls-cert."""

    path: str
    """Its path; empty when the flag was not given."""


@dataclass(frozen=True)
class KeyPair:
    """A certificate (its chain may follow it in the file) and its private key, as PEM."""

    certificate_chain: bytes
    private_key: bytes
    certificates: list[x509.Certificate]
    """The certificates of the chain, the leaf first."""


@dataclass(frozen=True)
class ChannelSecurity:
    """How a channel to a server is secured."""

    credentials: grpc.ChannelCredentials
    server_name: str = ""
    """The name the server's certificate is checked for, when not the host of the address called (empty: that host)."""


@dataclass(frozen=True)
class PeerSecurity:
    """How a process secures its calls to peers: the peers' way (--peer-tls-*), and its own port's for its own address."""

    peers: ChannelSecurity | None = None
    """Calls to the other processes; None: plaintext."""

    own_address: str = ""
    """The address by which the process calls its own port."""

    own_port: ChannelSecurity | None = None
    """Calls to its own port; None: plaintext."""

    def for_address(self, address: str) -> ChannelSecurity | None:
        """How a channel to `address` is secured (None: plaintext)."""
        return self.own_port if address == self.own_address else self.peers


@dataclass(frozen=True)
class ServerTls:
    """The TLS of a server process: how its port is served and how it calls its peers and itself."""

    credentials: grpc.ServerCredentials | None
    """The port's credentials; None: plaintext."""

    peers: ChannelSecurity | None
    """Calls to the other processes; None: plaintext."""

    own_port: ChannelSecurity | None
    """Calls of its services to each other, through its own port; None: plaintext."""

    def peer_security(self, own_address: str) -> PeerSecurity:
        """How the calls to the peers go, once the process knows the address of its own port."""
        return PeerSecurity(self.peers, own_address, self.own_port)


def server_tls(settings: Settings, *, services_call_each_other: bool) -> ServerTls:
    """The TLS of a server process from its settings (every file read and checked now).

    `services_call_each_other`: the process serves several services (`autoscale up`), which call each other through its
    own port; over TLS that takes --peer-tls-ca (and, when the port asks for client certificates, --peer-tls-cert and
    --peer-tls-key) that fit its own certificate and client CA.
    """
    pair = read_key_pair(PemFile("--tls-cert", settings.tls_cert), PemFile("--tls-key", settings.tls_key))
    client_ca = PemFile("--tls-client-ca", settings.tls_client_ca)
    if pair is None and client_ca.path:
        raise ConfigurationError(
            f"--tls-client-ca {client_ca.path} needs --tls-cert and --tls-key: client certificates are asked for only over TLS"
        )
    peer_ca, peer_cert = PemFile("--peer-tls-ca", settings.peer_tls_ca), PemFile("--peer-tls-cert", settings.peer_tls_cert)
    peer_credentials = channel_credentials(peer_ca, peer_cert, PemFile("--peer-tls-key", settings.peer_tls_key))
    peers = None if peer_credentials is None else ChannelSecurity(peer_credentials)
    if pair is None:
        return ServerTls(None, peers, None)

    client_ca_pem, client_cas = read_certificates(client_ca) if client_ca.path else (None, [])
    credentials = grpc.ssl_server_credentials(
        [(pair.private_key, pair.certificate_chain)], root_certificates=client_ca_pem, require_client_auth=client_ca_pem is not None
    )
    own_port = None
    if services_call_each_other:
        own_port = _own_port_security(settings, pair, client_cas, peer_credentials)
    log.info("serving TLS with the certificate %s%s", settings.tls_cert,
             f"; clients must present a certificate of {client_ca.path}" if client_ca.path else "")
    return ServerTls(credentials, peers, own_port)


def _own_port_security(
    settings: Settings, pair: KeyPair, client_cas: list[x509.Certificate], peer_credentials: grpc.ChannelCredentials | None
) -> ChannelSecurity:
    """How the services of a TLS process call each other through its own port: with the --peer-tls-* credentials, which
    must trust the port's certificate and, when it asks for one, present a client certificate of its client CA."""
    if peer_credentials is None:
        raise ConfigurationError(
            f"--tls-cert {settings.tls_cert}: the services of this process call each other through its TLS port; give "
            "--peer-tls-ca FILE, the CA that signed the certificate"
        )
    _, peer_cas = read_certificates(PemFile("--peer-tls-ca", settings.peer_tls_ca))
    if not _issued_by_one_of(pair.certificates, peer_cas):
        raise ConfigurationError(
            f"--peer-tls-ca {settings.peer_tls_ca} did not sign --tls-cert {settings.tls_cert}: the services of this process "
            "call each other through its TLS port; give the CA that signed the certificate"
        )
    if client_cas:
        peer_pair = read_key_pair(PemFile("--peer-tls-cert", settings.peer_tls_cert), PemFile("--peer-tls-key", settings.peer_tls_key))
        if peer_pair is None:
            raise ConfigurationError(
                f"--tls-client-ca {settings.tls_client_ca}: the services of this process call each other through its port, "
                "which asks for a client certificate; give --peer-tls-cert FILE and --peer-tls-key FILE"
            )
        if not _issued_by_one_of(peer_pair.certificates, client_cas):
            raise ConfigurationError(
                f"--tls-client-ca {settings.tls_client_ca} did not sign --peer-tls-cert {settings.peer_tls_cert}: the services "
                "of this process call each other through its port with that certificate; give one the client CA signed"
            )
    # The own port's address is 127.0.0.1 when the process listens on every interface, which a certificate made for the
    # service's name seldom holds; the port is the socket this very process bound, so the name proves nothing there and
    # the check is made for a name the certificate holds (its chain is still checked against --peer-tls-ca).
    return ChannelSecurity(peer_credentials, server_name=certificate_name(pair.certificates[0], PemFile("--tls-cert", settings.tls_cert)))


def channel_credentials(ca: PemFile, certificate: PemFile, key: PemFile) -> grpc.ChannelCredentials | None:
    """Credentials of a client that checks servers against `ca` and presents `certificate` when given; None without `ca`."""
    pair = read_key_pair(certificate, key)
    if not ca.path:
        if pair is not None:
            raise ConfigurationError(
                f"{certificate.flag} {certificate.path} needs {ca.flag} FILE, the CA that signed the servers' certificates"
            )
        return None
    ca_pem, _ = read_certificates(ca)
    if pair is None:
        return grpc.ssl_channel_credentials(root_certificates=ca_pem)
    return grpc.ssl_channel_credentials(root_certificates=ca_pem, private_key=pair.private_key, certificate_chain=pair.certificate_chain)


def read_key_pair(certificate: PemFile, key: PemFile) -> KeyPair | None:
    """The certificate and key the two flags name (None when neither was given); each must be given with the other,
    and the key must be the certificate's."""
    if not certificate.path and not key.path:
        return None
    if not key.path:
        raise ConfigurationError(f"{certificate.flag} {certificate.path} needs {key.flag} FILE, the certificate's private key")
    if not certificate.path:
        raise ConfigurationError(f"{key.flag} {key.path} needs {certificate.flag} FILE, the certificate of the key")
    chain_pem, certificates = read_certificates(certificate)
    key_pem = _read(key)
    try:
        private_key = serialization.load_pem_private_key(key_pem, password=None)
    except TypeError:
        raise ConfigurationError(
            f"{key.flag} {key.path}: the key is protected by a password, which gRPC cannot use; write it without one "
            "(openssl pkey -in KEY -out PLAIN_KEY)"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise ConfigurationError(f"{key.flag} {key.path}: no PEM private key in it") from None
    if _public_key_bytes(private_key.public_key()) != _public_key_bytes(certificates[0].public_key()):
        raise ConfigurationError(
            f"{key.flag} {key.path} is not the key of {certificate.flag} {certificate.path}; give the key the certificate was made for"
        )
    return KeyPair(chain_pem, key_pem, certificates)


def read_certificates(pem: PemFile) -> tuple[bytes, list[x509.Certificate]]:
    """The PEM text of a file of certificates, and the certificates; ConfigurationError when it holds none."""
    text = _read(pem)
    try:
        return text, x509.load_pem_x509_certificates(text)
    except ValueError:
        raise ConfigurationError(f"{pem.flag} {pem.path}: no PEM certificate in it (-----BEGIN CERTIFICATE-----)") from None


def certificate_name(certificate: x509.Certificate, pem: PemFile) -> str:
    """A name the certificate holds, for a client to check it by: its first DNS name, else its first IP address, else
    its common name."""
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns_names = names.get_values_for_type(x509.DNSName)
        addresses = names.get_values_for_type(x509.IPAddress)
        if dns_names or addresses:
            return str(dns_names[0]) if dns_names else str(addresses[0])
    except x509.ExtensionNotFound:
        pass
    common_names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not common_names:
        raise ConfigurationError(f"{pem.flag} {pem.path}: the certificate names no host (no subjectAltName, no CN)")
    return str(common_names[0].value)


def _issued_by_one_of(chain: list[x509.Certificate], authorities: list[x509.Certificate]) -> bool:
    """Whether a certificate of `chain` is one of `authorities` or was signed by one of them."""
    for certificate in chain:
        for authority in authorities:
            if certificate == authority:
                return True
            try:
                certificate.verify_directly_issued_by(authority)
                return True
            except (ValueError, TypeError, InvalidSignature):
                continue
    return False


def _public_key_bytes(public_key: PublicKeyTypes) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _read(pem: PemFile) -> bytes:
    try:
        with open(pem.path, "rb") as file:
            return file.read()
    except OSError as error:
        raise ConfigurationError(f"{pem.flag} {pem.path}: cannot read it ({error.strerror})") from None


def http_server_context(settings: Settings) -> ssl.SSLContext | None:
    """The TLS of the HTTP listener: the gRPC port's certificate (--tls-cert, --tls-key); None: plaintext.

    No client certificate is asked for: Alertmanager and Aodh authenticate with the receiver's secret URL (and its
    optional signature), and Prometheus scrapes /metrics as it scrapes any exporter.
    """
    if not (settings.tls_cert and settings.tls_key):
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(settings.tls_cert, settings.tls_key)
    except (OSError, ssl.SSLError) as error:
        raise ConfigurationError(f"--tls-cert {settings.tls_cert} with --tls-key {settings.tls_key}: {error}") from None
    return context
