"""The sandbox's own PKI: a CA, the API server's certificate, the admin client certificate,
and the viewer's bearer token. Files are written under DIR/pki (mode 0600 for keys)."""

import datetime
import ipaddress
import os
import secrets
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ADMIN_CN = "sandbox-admin"
ADMIN_ORG = "system:masters"


@dataclass
class PKI:
    """Paths of the PEM files and the viewer token."""

    ca_cert: str
    server_cert: str
    server_key: str
    admin_cert: str
    admin_key: str
    viewer_token: str


def _key():
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _write(path: str, data: bytes, private: bool = False):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _builder(subject, issuer, pub, days=30):
    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(pub)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=days)))


def create(pki_dir: str) -> PKI:
    """Create a fresh CA, server certificate (127.0.0.1, localhost) and admin client certificate."""
    os.makedirs(pki_dir, mode=0o700, exist_ok=True)
    ca_key = _key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sandbox-ca")])
    ca = (_builder(ca_name, ca_name, ca_key.public_key(), days=365)
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    ski = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key())

    srv_key = _key()
    srv = (_builder(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sandbox-apiserver")]), ca_name,
                    srv_key.public_key())
           .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                       x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                          critical=False)
           .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
           .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
           .add_extension(ski, critical=False)
           .sign(ca_key, hashes.SHA256()))

    adm_key = _key()
    adm = (_builder(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, ADMIN_ORG),
                               x509.NameAttribute(NameOID.COMMON_NAME, ADMIN_CN)]), ca_name, adm_key.public_key())
           .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
           .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
           .add_extension(ski, critical=False)
           .sign(ca_key, hashes.SHA256()))

    p = PKI(os.path.join(pki_dir, "ca.crt"), os.path.join(pki_dir, "server.crt"), os.path.join(pki_dir, "server.key"),
            os.path.join(pki_dir, "admin.crt"), os.path.join(pki_dir, "admin.key"), secrets.token_urlsafe(32))
    _write(p.ca_cert, ca.public_bytes(serialization.Encoding.PEM))
    _write(p.server_cert, srv.public_bytes(serialization.Encoding.PEM))
    _write(p.server_key, _pem_key(srv_key), private=True)
    _write(p.admin_cert, adm.public_bytes(serialization.Encoding.PEM))
    _write(p.admin_key, _pem_key(adm_key), private=True)
    return p
