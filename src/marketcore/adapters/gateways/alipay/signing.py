"""RSA2 as Alipay applies it: SHA256withRSA, PKCS#1 v1.5, base64 without line breaks.

Three things get signed (shared/providers/README.md §2.2):

* our requests: every parameter except ``sign``, empty values dropped, sorted by key and joined
  as raw ``k=v`` pairs with ``&`` (``biz_content`` as the literal JSON text we send);
* Alipay's synchronous answers: the **exact raw substring** of the ``*_response`` object in the
  body, never a re-serialisation, so we locate it with a JSON scanner rather than parse and dump;
* Alipay's async notifications: every form field except ``sign`` and ``sign_type``, empty values
  kept, sorted and joined the same way.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping
from typing import TypeVar
from urllib.parse import quote_plus

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

MIN_KEY_BITS = 2048  # RSA2 keys are 2048-bit; Alipay's key tool makes nothing smaller
_BARE_KEY = re.compile(r"MII[A-Za-z0-9+/=\s]+")  # the DER body Alipay's console and key tool show
_DECODER = json.JSONDecoder()
_WHITESPACE = " \t\n\r"
_Key = TypeVar("_Key", rsa.RSAPrivateKey, rsa.RSAPublicKey)


def request_content(params: Mapping[str, str]) -> str:
    """What our request signature covers."""
    return _joined((k, v) for k, v in params.items() if k != "sign" and v != "")


def notification_content(params: Mapping[str, str]) -> str:
    """What an async notification's signature covers."""
    return _joined((k, v) for k, v in params.items() if k not in ("sign", "sign_type"))


def _joined(items: Iterable[tuple[str, str]]) -> str:
    return "&".join(f"{k}={v}" for k, v in sorted(items))


def sign(content: str, key: rsa.RSAPrivateKey) -> str:
    signature = key.sign(content.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode("ascii")


def verify(content: str, signature: str, key: rsa.RSAPublicKey) -> bool:
    """Whether ``signature`` (base64) is Alipay's over ``content``; malformed base64 is not."""
    try:
        raw = base64.b64decode(signature, validate=True)
        key.verify(raw, content.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def signed_query(params: Mapping[str, str], key: rsa.RSAPrivateKey) -> str:
    """A signed query string: sorted, ``quote_plus``-encoded values, ``sign`` appended last.

    It is the order string of the page-pay redirect (the form fzlee's SDK produces, §2.6(a)) and
    the query string of our server-to-server calls.
    """
    signature = sign(request_content(params), key)
    pairs = sorted((k, v) for k, v in params.items() if k != "sign" and v != "")
    return "&".join(f"{k}={quote_plus(v)}" for k, v in pairs) + "&sign=" + quote_plus(signature)


def top_level_members(raw: str) -> dict[str, tuple[int, int]]:
    """Where each top-level member's value lies in a JSON object text: ``name -> (start, end)``.

    Values are delimited by the JSON grammar itself (strings may hold braces, which defeats the
    brace counting some SDKs do). Raises ``ValueError`` for text that is not one JSON object or
    that names a member twice (the signature would cover one and a parser might keep the other).
    """
    position = _skip(raw, 0)
    if not raw.startswith("{", position):
        raise ValueError("not a JSON object")
    position = _skip(raw, position + 1)
    spans: dict[str, tuple[int, int]] = {}
    if raw.startswith("}", position):
        return _ended(raw, position + 1, spans)
    while True:
        name, position = _DECODER.raw_decode(raw, position)
        if not isinstance(name, str):
            raise ValueError("a member name that is not a string")
        position = _skip(raw, position)
        if not raw.startswith(":", position):
            raise ValueError("expected ':'")
        start = _skip(raw, position + 1)
        _, end = _DECODER.raw_decode(raw, start)
        if name in spans:
            raise ValueError(f"member {name!r} appears twice")
        spans[name] = (start, end)
        position = _skip(raw, end)
        if raw.startswith("}", position):
            return _ended(raw, position + 1, spans)
        if not raw.startswith(",", position):
            raise ValueError("expected ',' or '}'")
        position = _skip(raw, position + 1)


def _skip(raw: str, position: int) -> int:
    while position < len(raw) and raw[position] in _WHITESPACE:
        position += 1
    return position


def _ended(raw: str, position: int, spans: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
    if _skip(raw, position) != len(raw):
        raise ValueError("text after the JSON object")
    return spans


def private_key(text: str) -> rsa.RSAPrivateKey:
    """An RSA private key from PEM (PKCS#1 or PKCS#8) or the bare base64 body of either.

    The ``ValueError`` it raises never quotes the key."""
    try:
        if "-----BEGIN" in text:
            key: object = serialization.load_pem_private_key(text.strip().encode("ascii"), password=None)
        elif _BARE_KEY.fullmatch(text.strip()):
            der = base64.b64decode("".join(text.split()), validate=True)
            key = serialization.load_der_private_key(der, password=None)
        else:
            raise ValueError("not PEM text nor a base64 key body")
    except TypeError:
        raise ValueError("the key is encrypted; export it without a passphrase") from None
    except (ValueError, binascii.Error, UnicodeEncodeError) as error:
        raise ValueError(f"not a readable RSA private key ({type(error).__name__})") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("not an RSA key (RSA2 needs RSA)")
    return _long_enough(key)


def public_key(text: str) -> rsa.RSAPublicKey:
    """An RSA public key from PEM or the bare base64 body Alipay's console shows."""
    try:
        if "-----BEGIN" in text:
            key: object = serialization.load_pem_public_key(text.strip().encode("ascii"))
        elif _BARE_KEY.fullmatch(text.strip()):
            key = serialization.load_der_public_key(base64.b64decode("".join(text.split()), validate=True))
        else:
            raise ValueError("not PEM text nor a base64 key body")
    except (ValueError, binascii.Error, UnicodeEncodeError) as error:
        raise ValueError(f"not a readable RSA public key ({type(error).__name__})") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("not an RSA key (RSA2 needs RSA)")
    return _long_enough(key)


def _long_enough(key: _Key) -> _Key:
    if key.key_size < MIN_KEY_BITS:
        raise ValueError(f"a {key.key_size}-bit key; RSA2 needs at least {MIN_KEY_BITS} bits")
    return key
