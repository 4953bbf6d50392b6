"""WeChat Pay API v3 cryptography: request signatures, response and callback verification, and the
AES-256-GCM envelope of callback resources (shared/providers/README.md §3.1, §3.2, §3.5).

Every function works on exact bytes: WeChat signs the body as sent, so nothing here re-serialises
JSON. Keys are loaded once, at start-up, by the ``load_*`` functions, which raise ``InvalidInput``
naming the setting and never echo key material.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping

from cryptography import x509
from cryptography.exceptions import InvalidSignature, InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from marketcore.domain.shared.errors import InvalidInput

SCHEME = "WECHATPAY2-SHA256-RSA2048"
PROBE_PREFIX = "WECHATPAY/SIGNTEST/"  # WeChat's probes of whether we really verify signatures
MIN_KEY_BITS = 2048
PUBLIC_KEY_ID = re.compile(r"PUB_KEY_ID_[0-9A-Za-z_]{1,64}")
CERTIFICATE_SERIAL = re.compile(r"[0-9A-Fa-f]{8,40}")


def request_message(method: str, url: str, timestamp: int, nonce: str, body: bytes) -> bytes:
    """``METHOD\\nURL\\nTIMESTAMP\\nNONCE\\nBODY\\n``: five lines, the last one terminated too.
    ``url`` is the path and query as sent, without scheme and host; ``body`` is empty for GET."""
    return f"{method}\n{url}\n{timestamp}\n{nonce}\n".encode() + body + b"\n"


def response_message(timestamp: str, nonce: str, body: bytes) -> bytes:
    """``TIMESTAMP\\nNONCE\\nBODY\\n`` over the raw response or callback body."""
    return f"{timestamp}\n{nonce}\n".encode() + body + b"\n"


def sign(key: rsa.RSAPrivateKey, message: bytes) -> str:
    """SHA256withRSA (PKCS#1 v1.5), base64: deterministic, so the README's vectors reproduce."""
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode("ascii")


def verify(key: rsa.RSAPublicKey, message: bytes, signature: str) -> bool:
    try:
        raw = base64.b64decode(signature, validate=True)
        key.verify(raw, message, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def authorization(
    *,
    method: str,
    url: str,
    body: bytes,
    mchid: str,
    serial_no: str,
    key: rsa.RSAPrivateKey,
    timestamp: int,
    nonce: str,
) -> str:
    """The ``Authorization`` header: values double-quoted, comma-separated, no spaces."""
    signature = sign(key, request_message(method, url, timestamp, nonce, body))
    return (
        f'{SCHEME} mchid="{mchid}",nonce_str="{nonce}",signature="{signature}",'
        f'timestamp="{timestamp}",serial_no="{serial_no}"'
    )


def decrypt(apiv3_key: bytes, nonce: str, ciphertext: str, associated_data: str) -> bytes:
    """Open a callback ``resource``: AES-256-GCM keyed by the APIv3 key, the 12-character nonce and
    the associated data as UTF-8, the ciphertext base64 of ``ct || tag``. Raises ``ValueError``
    when it does not open (wrong key, nonce or associated data, or a changed byte)."""
    try:
        data = base64.b64decode(ciphertext, validate=True)
        return AESGCM(apiv3_key).decrypt(nonce.encode(), data, associated_data.encode())
    except InvalidTag:
        raise ValueError("the resource does not decrypt with our APIv3 key") from None
    except (binascii.Error, ValueError) as error:
        raise ValueError(f"the resource is malformed: {error}") from None


def check_signed(
    headers: Mapping[str, str],
    body: bytes,
    *,
    key: rsa.RSAPublicKey,
    key_id: str,
    now: float,
    tolerance: int,
) -> None:
    """Check the ``Wechatpay-*`` headers (lower-case names) of an answer or callback: our
    configured key signed ``body`` no more than ``tolerance`` seconds either side of ``now``.
    Raises ``ValueError`` saying what is wrong."""
    signature, timestamp = headers.get("wechatpay-signature", ""), headers.get("wechatpay-timestamp", "")
    nonce, serial = headers.get("wechatpay-nonce", ""), headers.get("wechatpay-serial", "")
    if not (signature and timestamp and nonce and serial):
        raise ValueError("unsigned: Wechatpay-Signature, -Timestamp, -Nonce and -Serial are required")
    if signature.startswith(PROBE_PREFIX):
        raise ValueError("a signature probe (WECHATPAY/SIGNTEST/), which must not be accepted")
    kind = headers.get("wechatpay-signature-type", SCHEME)
    if kind != SCHEME:
        raise ValueError(f"Wechatpay-Signature-Type {kind!r} is not {SCHEME}")
    if not same_key_id(serial, key_id):
        raise ValueError(f"signed with key {serial!r}, not ours ({key_id})")
    if not re.fullmatch(r"\d{1,12}", timestamp):
        raise ValueError("Wechatpay-Timestamp is not a unix time")
    if not verify(key, response_message(timestamp, nonce, body), signature):
        raise ValueError("Wechatpay-Signature does not match the body")
    if abs(now - int(timestamp)) > tolerance:
        raise ValueError(f"Wechatpay-Timestamp {timestamp} is more than {tolerance} s away from {int(now)}")


def same_key_id(received: str, configured: str) -> bool:
    """``Wechatpay-Serial`` names the key that signed: a public key id compares exactly, a
    certificate serial as a hexadecimal number (case and leading zeros do not matter)."""
    if CERTIFICATE_SERIAL.fullmatch(configured):
        return CERTIFICATE_SERIAL.fullmatch(received) is not None and int(received, 16) == int(configured, 16)
    return received == configured


def load_private_key(pem: str, field: str) -> rsa.RSAPrivateKey:
    """The merchant API private key (``apiclient_key.pem``), PKCS#8 or PKCS#1, RSA 2048+."""
    if "-----BEGIN" not in pem or "PRIVATE KEY-----" not in pem:
        raise InvalidInput(field, "must be the PEM of the merchant API private key (apiclient_key.pem)")
    if "ENCRYPTED" in pem:
        raise InvalidInput(field, "must be an unencrypted PEM (no passphrase)")
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise InvalidInput(field, "is not a readable PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise InvalidInput(field, "must be an RSA key")
    if key.key_size < MIN_KEY_BITS:
        raise InvalidInput(field, f"must be an RSA key of at least {MIN_KEY_BITS} bits")
    return key


def load_public_key(pem: str, field: str) -> tuple[rsa.RSAPublicKey, str | None]:
    """The WeChat Pay public key (``pub_key.pem``), or a platform certificate (legacy mode).
    Returns the key and, for a certificate, its serial as WeChat writes it (uppercase hex)."""
    text = pem.encode()
    key: object
    try:
        if "-----BEGIN CERTIFICATE-----" in pem:
            certificate = x509.load_pem_x509_certificate(text)
            key, serial = certificate.public_key(), f"{certificate.serial_number:X}"
        elif "-----BEGIN PUBLIC KEY-----" in pem:
            key, serial = serialization.load_pem_public_key(text), None
        else:
            raise InvalidInput(field, "must be the PEM of the WeChat Pay public key or platform certificate")
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise InvalidInput(field, "is not a readable PEM public key or certificate") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise InvalidInput(field, "must be an RSA key")
    if key.key_size < MIN_KEY_BITS:
        raise InvalidInput(field, f"must be an RSA key of at least {MIN_KEY_BITS} bits")
    return key, serial
