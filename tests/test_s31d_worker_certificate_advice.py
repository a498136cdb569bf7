"""A worker's TLS certificate that this machine does trust, but that has expired (a
renewal that failed on the worker's machine) or is for another name than the one in
`classifier.remote`, was said as "not trusted here (certificate has expired): set
SSL_CERT_FILE to the certificate of the CA that signed it": advice that cannot help.
Each now says what does: the worker's admin renews it (or this machine's clock is
wrong); give classifier.remote the name the certificate is for."""

from __future__ import annotations

import datetime
import http.server
import logging
import ssl
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from test_h23_wrk_verdict_checked import TOKEN
from test_s31d_https_to_plain_worker import InfoOnly

from classifier.remote import ClassifierUnavailable, RemoteEngine
from fakelemmy.tls import TestCA


def leaf(ca: TestCA, name: str, *, expired: bool) -> tuple[bytes, bytes]:
    """(certificate, key) as PEM for ``name``, signed by ``ca``; expired two days ago."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    ends = now - datetime.timedelta(days=2) if expired else now + datetime.timedelta(days=1)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(ends - datetime.timedelta(days=30))
        .not_valid_after(ends)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), False
        )
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), False)
        .sign(ca.key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM), key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@pytest.fixture
def serve(tmp_path, monkeypatch) -> Iterator:
    servers = []
    ca = TestCA.make()
    trusted = tmp_path / "ca.pem"
    trusted.write_bytes(ca.certificate.public_bytes(serialization.Encoding.PEM))
    monkeypatch.setenv("SSL_CERT_FILE", str(trusted))  # the CA is trusted here

    def start(name: str, *, expired: bool) -> str:
        certificate, key = leaf(ca, name, expired=expired)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        with tempfile.TemporaryDirectory() as folder:
            chain, private = Path(folder) / "cert.pem", Path(folder) / "key.pem"
            chain.write_bytes(certificate)
            private.write_bytes(key)
            context.load_cert_chain(chain, private)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), InfoOnly)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"https://localhost:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def said(url: str, caplog) -> list[str]:
    caplog.set_level(logging.WARNING, logger="classifier.remote")
    with RemoteEngine([url], TOKEN, timeout=5) as engine:
        engine.check()
        with pytest.raises(ClassifierUnavailable) as raised:
            engine.classify_many([b"an image"])
    # (the bot records the first 300 characters with the skipped image)
    return [caplog.text, str(raised.value)[:300]]


def test_an_expired_certificate_says_to_renew_it(serve, caplog):
    for text in said(serve("localhost", expired=True), caplog):
        assert "expired" in text and "renew" in text, text
        assert "SSL_CERT_FILE" not in text, text


def test_a_certificate_for_another_name_says_which_name_to_give(serve, caplog):
    url = serve("gpu.example", expired=False)
    for text in said(url, caplog):
        assert "another name" in text and "classifier.remote" in text, text
        assert "SSL_CERT_FILE" not in text, text
