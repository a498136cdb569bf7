"""Certificates for a local HTTPS server playing a public host (tests, benchmarks): a
test CA that a client may be told to trust, and a server certificate it signs for the
names given. Made in memory with ``cryptography``; nothing is installed anywhere."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

__all__ = ["TestCA"]


@dataclass(frozen=True)
class TestCA:
    """A CA of its own: ``client_context()`` trusts it (and nothing else),
    ``server_context(names)`` serves a certificate it signed for ``names`` (host names
    or IP addresses)."""

    __test__ = False  # not a pytest test class, whatever its name

    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @classmethod
    def make(cls) -> TestCA:
        key = ec.generate_private_key(ec.SECP256R1())
        return cls(_certificate("modbot test CA", key, key, None, names=()), key)

    def client_context(self) -> ssl.SSLContext:
        pem = self.certificate.public_bytes(serialization.Encoding.PEM)
        return ssl.create_default_context(cadata=pem.decode())

    def server_context(self, *names: str) -> ssl.SSLContext:
        key = ec.generate_private_key(ec.SECP256R1())
        leaf = _certificate(names[0], key, self.key, self.certificate, names=names)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        with tempfile.TemporaryDirectory() as folder:  # load_cert_chain reads files only
            chain, private = Path(folder) / "cert.pem", Path(folder) / "key.pem"
            chain.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
            private.write_bytes(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
            context.load_cert_chain(chain, private)
        return context


def _certificate(
    common_name: str,
    key: ec.EllipticCurvePrivateKey,
    signer: ec.EllipticCurvePrivateKey,
    issuer: x509.Certificate | None,
    *,
    names: tuple[str, ...],
) -> x509.Certificate:
    """A CA's own certificate (``issuer`` None) or a server's signed by it, with the
    extensions a strict verifier (Python 3.13's default) asks for."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    ca = issuer is None
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject if issuer is None else issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), False
        )
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    if names:
        alternative: list[x509.GeneralName] = []
        for name in names:
            try:
                alternative.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                alternative.append(x509.DNSName(name))
        builder = builder.add_extension(x509.SubjectAlternativeName(alternative), False)
    return builder.sign(signer, hashes.SHA256())
