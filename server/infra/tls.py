"""TLS for ``ledgerd``: the server credentials of ``LEDGER_TLS_CERT`` / ``LEDGER_TLS_KEY``.

Both files are read and parsed at start-up (with ``cryptography``), so that a missing,
unreadable or malformed file, or a key that does not belong to the certificate, stops
``ledgerd`` with one clear line instead of surfacing as failed handshakes later. The
messages name the files, never their content.
"""

from __future__ import annotations

from pathlib import Path

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ledger.errors import InvalidArgument
from server.infra.settings import Settings


def server_credentials(settings: Settings) -> grpc.ServerCredentials | None:
    """The TLS credentials to serve with, or None to serve plaintext."""
    if settings.tls_cert is None or settings.tls_key is None:
        return None
    chain = _read(settings.tls_cert, "LEDGER_TLS_CERT")
    key = _read(settings.tls_key, "LEDGER_TLS_KEY")
    try:
        certificates = x509.load_pem_x509_certificates(chain)
    except ValueError:
        raise InvalidArgument(
            f"LEDGER_TLS_CERT: {settings.tls_cert} holds no PEM certificate"
        ) from None
    try:
        private_key = serialization.load_pem_private_key(key, password=None)
    except (ValueError, TypeError):
        raise InvalidArgument(
            f"LEDGER_TLS_KEY: {settings.tls_key} holds no unencrypted PEM private key"
        ) from None
    public = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    leaf = (
        certificates[0]
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    if public != leaf:
        raise InvalidArgument(
            f"LEDGER_TLS_KEY: {settings.tls_key} is not the key of the certificate "
            f"in {settings.tls_cert}"
        )
    return grpc.ssl_server_credentials([(key, chain)])


def _read(path: Path, variable: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise InvalidArgument(f"{variable}: cannot read {path}: {error.strerror}") from None
