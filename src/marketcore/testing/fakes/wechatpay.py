"""A local WeChat Pay: API v3 Native orders, queries, closing and refunds, and callbacks, in memory.

It checks what WeChat Pay checks on every request (the ``Authorization`` signature with the
merchant's public key, a timestamp within five minutes, our merchant id and certificate serial),
signs every answer with the platform private key (the ``Wechatpay-*`` headers), and makes
callbacks as WeChat Pay sends them: signed, with the ``resource`` AES-256-GCM encrypted under the
APIv3 key. Its cryptography is written out here, apart from the adapter's, so that one mistake
made in both places cannot pass unseen; the README's vectors pin both.

Drive it from tests and chaos runs::

    with FakeWeChatPay() as fake:
        gateway = WeChatPayGateway(fake.config())
        started = gateway.create(request)
        fake.pay(started.next_action.value)               # the buyer scans the code and pays
        raw = fake.notification_for(request.payment_id)  # the signed TRANSACTION.SUCCESS callback
        fake.fail_next(2, status=500)                     # the next two API calls fail
"""

from __future__ import annotations

import base64
import functools
import itertools
import json
import re
import secrets
import string
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

import attrs
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from marketcore.adapters.gateways.wechatpay import WeChatPayConfig, WeChatPayGateway
from marketcore.adapters.gateways.wechatpay.translation import out_trade_no
from marketcore.application.payments.ports import PaymentGateway
from marketcore.domain.payments.payments import PaymentRequest, PaymentStarted
from marketcore.domain.payments.provider import RawNotification
from marketcore.domain.shared.money import Currency
from marketcore.testing.fakes.network import closed_address

SCHEME = "WECHATPAY2-SHA256-RSA2048"
CHINA = timezone(timedelta(hours=8))
ALPHANUMERIC = string.ascii_letters + string.digits
OUT_TRADE_NO = re.compile(r"[0-9A-Za-z_\-|*]{6,32}")
OUT_REFUND_NO = re.compile(r"[0-9A-Za-z_\-|*@]{1,64}")
PAID = ("SUCCESS", "REFUND")
_CODES = {
    400: ("INVALID_REQUEST", "参数符合参数格式，但不符合业务规则"),
    401: ("SIGN_ERROR", "签名错误，请检查后再试"),
    403: ("NO_AUTH", "商户无权限"),
    404: ("RESOURCE_NOT_EXISTS", "请求的资源不存在"),
    429: ("FREQUENCY_LIMITED", "频率超限"),
}
_MESSAGES = {
    "SYSTEM_ERROR": "系统错误",
    "BANK_ERROR": "银行系统异常",
    "NOT_ENOUGH": "基本账户余额不足，请充值后重新发起",
    "ORDERPAID": "该订单已支付",
    "ORDER_CLOSED": "订单已关闭",
    "USER_ACCOUNT_ABNORMAL": "退款请求失败，用户账户异常",
} | {code: message for code, message in _CODES.values()}
_SUMMARY = {
    "TRANSACTION.SUCCESS": "支付成功",
    "REFUND.SUCCESS": "退款成功",
    "REFUND.ABNORMAL": "退款异常",
    "REFUND.CLOSED": "退款关闭",
}


class WeChatApiError(Exception):
    """An error answer, shaped like WeChat Pay's ``{"code": ..., "message": ..., "detail": ...}``."""

    def __init__(self, status: int, code: str, message: str, detail: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"code": code, "message": message}
        if detail is not None:
            self.body["detail"] = dict(detail)


def _param_error(field: str, value: Any, issue: str) -> WeChatApiError:
    return WeChatApiError(
        400,
        "PARAM_ERROR",
        f"输入源“/body{field}”映射到值字段校验失败: {issue}",
        {"field": field, "value": value, "issue": issue, "location": "body"},
    )


def _refused(code: str, message: str, status: int = 400) -> WeChatApiError:
    return WeChatApiError(status, code, message)


def _compact(value: Any) -> bytes:
    """WeChat Pay's JSON: no spaces, raw UTF-8 (the README's answers and callbacks)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def _now_text() -> str:
    return datetime.now(CHINA).replace(microsecond=0).isoformat()


def _digits(count: int) -> str:
    return "".join(secrets.choice(string.digits) for _ in range(count))


def _pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _public_pem(key: rsa.RSAPublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


@functools.cache
def generated_key(role: str) -> rsa.RSAPrivateKey:
    """One RSA-2048 key per role and process: generating them is the slow part of a fake."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def sign(key: rsa.RSAPrivateKey, message: bytes) -> str:
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def encrypt_resource(
    apiv3_key: str, plaintext: bytes, associated_data: str, nonce: str | None = None
) -> dict[str, str]:
    """A callback's ``resource``: AES-256-GCM under the APIv3 key, ``ct || tag`` in base64."""
    nonce = nonce or "".join(secrets.choice(ALPHANUMERIC) for _ in range(12))
    sealed = AESGCM(apiv3_key.encode()).encrypt(nonce.encode(), plaintext, associated_data.encode())
    return {
        "original_type": associated_data,
        "algorithm": "AEAD_AES_256_GCM",
        "ciphertext": base64.b64encode(sealed).decode(),
        "associated_data": associated_data,
        "nonce": nonce,
    }


@attrs.define
class _Order:
    out_trade_no: str
    request: dict[str, Any]  # the order as first asked: the same again is a replay
    total: int
    code_url: str
    expires_at: datetime | None
    state: str = "NOTPAY"
    state_desc: str = "订单未支付"
    transaction_id: str | None = None
    success_time: str | None = None
    openid: str | None = None
    refunded: int = 0  # fen refunded or being refunded


@attrs.define
class _Refund:
    out_refund_no: str
    out_trade_no: str
    transaction_id: str
    refund_id: str
    refund: int
    total: int
    create_time: str
    status: str = "PROCESSING"
    success_time: str | None = None


@attrs.define
class _Event:
    out_trade_no: str
    type: str
    body: bytes


@attrs.define
class _Answer:
    status: int
    body: bytes
    headers: dict[str, str] = attrs.Factory(dict)


class FakeWeChatPay:
    """WeChat Pay API v3 and its callback signer on ``127.0.0.1:<free port>``, in a daemon thread.

    Keys default to ones generated once per process; pass the README's (Appendix A) to replay its
    vectors.
    """

    def __init__(
        self,
        *,
        mchid: str = "1900000001",
        appid: str = "wx0000000000000001",
        merchant_private_key: str | None = None,
        merchant_serial_no: str | None = None,
        platform_private_key: str | None = None,
        platform_public_key_id: str | None = None,
        apiv3_key: str | None = None,
        notify_url: str = "https://shop.example/api/v1/webhooks/payments/wechatpay",
    ) -> None:
        self.mchid = mchid
        self.appid = appid
        self.merchant_key = self._load(merchant_private_key, "merchant")
        self.merchant_serial_no = merchant_serial_no or secrets.token_hex(20).upper()
        self.platform_key = self._load(platform_private_key, "platform")
        self.platform_public_key_id = platform_public_key_id or f"PUB_KEY_ID_0119{_digits(10)}{_digits(22)}"
        self.apiv3_key = apiv3_key or "".join(secrets.choice(ALPHANUMERIC) for _ in range(32))
        self.notify_url = notify_url
        self.orders: dict[str, _Order] = {}
        self.refunds: dict[str, _Refund] = {}
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []  # method, target, headers, body
        self.settle_refunds_later = False  # True: refunds stay PROCESSING until settle_refund
        self._events: list[_Event] = []
        self._amount_overrides: dict[str, int] = {}
        self._faults: list[tuple[str, float]] = []
        self._canned: list[_Answer] = []
        self._event_numbers = itertools.count(1)
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @staticmethod
    def _load(pem: str | None, role: str) -> rsa.RSAPrivateKey:
        if pem is None:
            return generated_key(role)
        key = serialization.load_pem_private_key(pem.encode(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return key

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.fake = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name="fake-wechatpay", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def config(self, **overrides: Any) -> WeChatPayConfig:
        """A gateway config pointed at this fake, with a short timeout."""
        values: dict[str, Any] = {
            "mchid": self.mchid,
            "appid": self.appid,
            "merchant_private_key": _pem(self.merchant_key),
            "merchant_serial_no": self.merchant_serial_no,
            "apiv3_key": self.apiv3_key,
            "platform_public_key": _public_pem(self.platform_key.public_key()),
            "platform_public_key_id": self.platform_public_key_id,
            "notify_url": self.notify_url,
            "timeout_seconds": 5.0,
        }
        if "api_base" not in overrides:
            values["api_base"] = self.url
        return WeChatPayConfig(**(values | overrides))

    def options(self) -> dict[str, str]:
        """The same, as the ``MARKETCORE_WECHATPAY_*`` settings ``config_from`` reads."""
        return {
            "mchid": self.mchid,
            "appid": self.appid,
            "merchant_private_key": _pem(self.merchant_key),
            "merchant_serial_no": self.merchant_serial_no,
            "apiv3_key": self.apiv3_key,
            "platform_public_key": _public_pem(self.platform_key.public_key()),
            "platform_public_key_id": self.platform_public_key_id,
            "notify_url": self.notify_url,
            "api_base": self.url,
            "timeout_seconds": "20",
        }

    # -- the buyer and the merchant platform -----------------------------------------------

    def pay(self, code_url: str, *, outcome: str = "SUCCESS", openid: str | None = None) -> dict[str, Any]:
        """The buyer scans ``code_url`` and pays (``SUCCESS``, which notifies), or is still
        entering the password (``USERPAYING``), or the payment fails (``PAYERROR``). Returns the
        transaction as a query would."""
        with self._lock:
            found = [o for o in self.orders.values() if o.code_url == code_url]
            if not found:
                raise LookupError(f"no order has code_url {code_url}")
            order = found[0]
            self._expire(order)
            if order.state not in ("NOTPAY", "USERPAYING"):
                raise ValueError(f"order {order.out_trade_no} is {order.state}")
            if outcome == "USERPAYING":
                order.state, order.state_desc = "USERPAYING", "用户支付中（付款码支付）"
            elif outcome == "PAYERROR":
                order.state, order.state_desc = "PAYERROR", "支付失败，请重新下单支付"
            elif outcome == "SUCCESS":
                order.state, order.state_desc = "SUCCESS", "支付成功"
                order.total = self._amount_overrides.get(order.out_trade_no, order.total)
                order.transaction_id = f"42000{_digits(23)}"
                order.success_time = _now_text()
                order.openid = openid or "oUpF8u" + "".join(secrets.choice(ALPHANUMERIC) for _ in range(22))
                self._emit(order.out_trade_no, "TRANSACTION.SUCCESS", "transaction", self._transaction(order))
            else:
                raise ValueError(f"unknown outcome {outcome!r}")
            return self._transaction(order)

    def close_order(self, payment_id: str) -> dict[str, Any]:
        """The merchant closes the unpaid order (WeChat Pay sends no callback for it)."""
        with self._lock:
            order = self._order_of(payment_id)
            self._close(order)
            return self._transaction(order)

    def charge_instead(self, payment_id: str, amount: int) -> None:
        """Make WeChat Pay report ``amount`` as the order total once the buyer pays our payment:
        queries and callbacks then say so, for mismatch tests."""
        with self._lock:
            self._amount_overrides[out_trade_no(payment_id)] = amount

    def settle_refund(self, out_refund_no: str, status: str = "SUCCESS") -> dict[str, Any]:
        """Finish a PROCESSING refund as ``SUCCESS``, ``ABNORMAL`` or ``CLOSED`` (which gives its
        amount back to the order) and send its REFUND.* callback."""
        with self._lock:
            refund = self.refunds[out_refund_no]
            if refund.status != "PROCESSING":
                raise ValueError(f"refund {out_refund_no} is {refund.status}")
            if status not in ("SUCCESS", "ABNORMAL", "CLOSED"):
                raise ValueError(f"unknown refund status {status!r}")
            self._settle(refund, status)
            return self._refund_object(refund)

    def order_for(self, payment_id: str) -> dict[str, Any]:
        with self._lock:
            return self._transaction(self._order_of(payment_id))

    # -- faults ----------------------------------------------------------------------------

    def fail_next(
        self, count: int = 1, *, status: int = 500, code: str | None = None, after: int = 0
    ) -> None:
        """The next ``count`` API requests (once ``after`` more have gone through) answer
        ``status`` with WeChat's error body, signed: 5xx ``SYSTEM_ERROR``, 429
        ``FREQUENCY_LIMITED``, 403 ``NO_AUTH``, ... or ``code`` (``NOT_ENOUGH`` with 403: the
        merchant's balance is too low to refund)."""
        with self._lock:
            self._faults.extend([("pass", 0.0)] * after)
            for _ in range(count):
                default = _CODES.get(status, ("SYSTEM_ERROR", ""))[0]
                error = WeChatApiError(status, code or default, _MESSAGES.get(code or default, "错误"))
                self._canned.append(self._signed(_Answer(status, _compact(error.body))))
                self._faults.append(("canned", 0.0))

    def stall_next(self, seconds: float, count: int = 1) -> None:
        """The next requests wait ``seconds`` before being handled (client timeouts)."""
        with self._lock:
            self._faults.extend([("stall", seconds)] * count)

    def garble_next(self, count: int = 1) -> None:
        """The next answers are an unsigned 200 whose body is not JSON (a broken proxy, say)."""
        with self._lock:
            self._faults.extend([("garble", 0.0)] * count)

    def forge_next(self, count: int = 1) -> None:
        """The next answers are handled as usual but signed with a key that is not WeChat Pay's."""
        with self._lock:
            self._faults.extend([("forge", 0.0)] * count)

    def answer_next(
        self,
        payload: Mapping[str, Any] | bytes,
        status: int = 200,
        *,
        headers: Mapping[str, str] | None = None,
        signed: bool = True,
        after: int = 0,
    ) -> None:
        """The next request (once ``after`` more have gone through) is answered with ``payload``
        (JSON, or these exact bytes), whatever it asked: a misrouted answer, someone else's
        order. Signed now, unless ``signed=False`` or ``headers`` gives the answer's headers as
        they are (the README's signed answers)."""
        body = payload if isinstance(payload, bytes) else _compact(payload)
        answer = _Answer(status, body, {"Content-Type": "application/json"} | dict(headers or {}))
        with self._lock:
            self._faults.extend([("pass", 0.0)] * after)
            self._canned.append(self._signed(answer) if signed and headers is None else answer)
            self._faults.append(("canned", 0.0))

    # -- callbacks -------------------------------------------------------------------------

    def events_for(self, payment_id: str) -> list[dict[str, Any]]:
        """The callbacks about our payment, decrypted, oldest first."""
        number = out_trade_no(payment_id)
        with self._lock:
            events = [json.loads(e.body) for e in self._events if e.out_trade_no == number]
        for event in events:
            resource = event["resource"]
            sealed = base64.b64decode(resource["ciphertext"])
            opened = AESGCM(self.apiv3_key.encode()).decrypt(
                resource["nonce"].encode(), sealed, resource["associated_data"].encode()
            )
            event["resource"] = json.loads(opened)
        return events

    def notification_for(
        self,
        payment_id: str,
        event_type: str | None = None,
        *,
        signed_at: int | None = None,
        received_at: datetime | None = None,
        key: rsa.RSAPrivateKey | None = None,
        serial: str | None = None,
    ) -> RawNotification:
        """The latest callback about our payment (of ``event_type`` if given), delivered now:
        the same body, so the same ``id``, on every delivery, signed afresh as WeChat Pay does."""
        number = out_trade_no(payment_id)
        with self._lock:
            events = [
                e
                for e in self._events
                if e.out_trade_no == number and (event_type is None or e.type == event_type)
            ]
        if not events:
            raise LookupError(f"no {event_type or 'callback'} for payment {payment_id}")
        return self.deliver(
            events[-1].body, signed_at=signed_at, received_at=received_at, key=key, serial=serial
        )

    def notifications_for(self, payment_id: str) -> list[RawNotification]:
        """Every distinct callback sent about our payment, oldest first, delivered now."""
        number = out_trade_no(payment_id)
        with self._lock:
            bodies = [e.body for e in self._events if e.out_trade_no == number]
        return [self.deliver(body) for body in bodies]

    def forged_notification_for(self, payment_id: str) -> RawNotification:
        """A TRANSACTION.SUCCESS for the payment, its resource sealed with our APIv3 key, under
        WeChat Pay's key id, but signed with a key that is not WeChat Pay's."""
        with self._lock:
            order = attrs.evolve(self._order_of(payment_id))
        order.state, order.state_desc = "SUCCESS", "支付成功"
        order.transaction_id = order.transaction_id or f"42000{_digits(23)}"
        order.success_time = order.success_time or _now_text()
        order.openid = order.openid or "oForger0000000000000000000000"
        body = self.callback_body("TRANSACTION.SUCCESS", "transaction", self._transaction(order))
        return self.deliver(body, key=generated_key("forger"))

    def callback_body(self, event_type: str, associated_data: str, resource: Mapping[str, Any]) -> bytes:
        """A callback body with a fresh ``id``, its ``resource`` sealed with the APIv3 key."""
        stamp = datetime.now(CHINA).strftime("%Y%m%d%H%M%S")
        event = {
            "id": f"EV-{stamp}{next(self._event_numbers):05d}{_digits(4)}",
            "create_time": _now_text(),
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": _SUMMARY.get(event_type, event_type),
            "resource": encrypt_resource(self.apiv3_key, _compact(resource), associated_data),
        }
        return _compact(event)

    def deliver(
        self,
        body: bytes,
        *,
        signed_at: int | None = None,
        received_at: datetime | None = None,
        key: rsa.RSAPrivateKey | None = None,
        serial: str | None = None,
    ) -> RawNotification:
        """``body`` as WeChat Pay posts it to ``notify_url``: headers lower-cased, as the port says."""
        headers = {
            "content-type": "application/json",
            "user-agent": "Mozilla/4.0",
            "request-id": secrets.token_hex(16).upper(),
        }
        signature = self.sign_headers(body, timestamp=signed_at, key=key, serial=serial)
        headers |= {name.lower(): value for name, value in signature.items()}
        return RawNotification(headers, body, received_at or datetime.now(UTC))

    def sign_headers(
        self,
        body: bytes,
        *,
        timestamp: int | None = None,
        nonce: str | None = None,
        key: rsa.RSAPrivateKey | None = None,
        serial: str | None = None,
    ) -> dict[str, str]:
        """The ``Wechatpay-*`` headers over ``TIMESTAMP\\nNONCE\\nBODY\\n``."""
        timestamp = int(time.time()) if timestamp is None else timestamp
        nonce = nonce or secrets.token_hex(16)
        message = f"{timestamp}\n{nonce}\n".encode() + body + b"\n"
        return {
            "Wechatpay-Timestamp": str(timestamp),
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Serial": serial or self.platform_public_key_id,
            "Wechatpay-Signature-Type": SCHEME,
            "Wechatpay-Signature": sign(key or self.platform_key, message),
        }

    # -- the API ---------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> _Answer:
        with self._lock:
            self.requests.append((method, target, dict(headers), body))
            fault = self._faults.pop(0) if self._faults else None
        if fault is not None and fault[0] == "stall":
            time.sleep(fault[1])
        elif fault is not None and fault[0] == "canned":
            with self._lock:
                return self._canned.pop(0)
        elif fault is not None and fault[0] == "garble":
            return _Answer(200, b"<html><body>502 Bad Gateway</body></html>", {"Content-Type": "text/html"})
        with self._lock:
            try:
                self._authenticate(method, target, headers, body)
                status, payload = self._route(method, target, body)
                answer = _Answer(status, b"" if payload is None else _compact(payload))
            except WeChatApiError as error:
                answer = _Answer(error.status, _compact(error.body))
            if answer.body:
                answer.headers["Content-Type"] = "application/json"
            forged = fault is not None and fault[0] == "forge"
            return self._signed(answer, generated_key("forger") if forged else None)

    def _signed(self, answer: _Answer, key: rsa.RSAPrivateKey | None = None) -> _Answer:
        headers = answer.headers | self.sign_headers(answer.body, key=key)
        return _Answer(answer.status, answer.body, headers | {"Request-ID": secrets.token_hex(16).upper()})

    def _authenticate(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> None:
        """WeChat Pay's check of ``Authorization``: scheme, our merchant and serial, a timestamp
        within five minutes, and the signature over what was received."""
        scheme, _, rest = headers.get("authorization", "").partition(" ")
        values = dict(re.findall(r'(\w+)="([^"]*)"', rest))
        if scheme != SCHEME or not {"mchid", "nonce_str", "signature", "timestamp", "serial_no"} <= set(
            values
        ):
            raise WeChatApiError(
                401, "SIGN_ERROR", "Http头Authorization值格式错误，请参考《微信支付商户REST API签名规则》"
            )
        if values["mchid"] != self.mchid:
            raise WeChatApiError(401, "SIGN_ERROR", "商户号不存在或与签名的商户号不一致")
        if values["serial_no"].upper() != self.merchant_serial_no:
            raise WeChatApiError(401, "SIGN_ERROR", "商户证书序列号有误。请使用签名私钥匹配的证书序列号")
        timestamp = values["timestamp"]
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 300:
            raise WeChatApiError(
                401, "SIGN_ERROR", "Http头Authorization中的timestamp与发起请求的时间不得超过5分钟"
            )
        message = f"{method}\n{target}\n{timestamp}\n{values['nonce_str']}\n".encode() + body + b"\n"
        try:
            self.merchant_key.public_key().verify(
                base64.b64decode(values["signature"], validate=True),
                message,
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except (InvalidSignature, ValueError):
            raise WeChatApiError(
                401,
                "SIGN_ERROR",
                "签名错误，请检查后再试",
                {
                    "detail": {"issue": "sign not match"},
                    "field": "signature",
                    "location": "authorization",
                    "sign_information": {
                        "method": method,
                        "sign_message_length": len(message),
                        "truncated_sign_message": message[:50].decode(errors="replace"),
                        "url": target,
                    },
                },
            ) from None

    def _route(self, method: str, target: str, body: bytes) -> tuple[int, dict[str, Any] | None]:
        url = urlsplit(target)
        parts = url.path.strip("/").split("/")
        query = {key: values[-1] for key, values in parse_qs(url.query).items()}
        match method, parts:
            case "POST", ["v3", "pay", "transactions", "native"]:
                return 200, self._native(self._json(body))
            case "GET", ["v3", "pay", "transactions", "out-trade-no", number]:
                self._check_mchid(query.get("mchid"))
                return 200, self._transaction(self._order(number))
            case "GET", ["v3", "pay", "transactions", "id", transaction_id]:
                self._check_mchid(query.get("mchid"))
                found = [o for o in self.orders.values() if o.transaction_id == transaction_id]
                if not found:
                    raise _refused("ORDER_NOT_EXIST", "订单不存在", 404)
                return 200, self._transaction(found[0])
            case "POST", ["v3", "pay", "transactions", "out-trade-no", number, "close"]:
                self._check_mchid(self._json(body).get("mchid"))
                self._close(self._order(number))
                return 204, None
            case "POST", ["v3", "refund", "domestic", "refunds"]:
                return 200, self._refund(self._json(body))
            case "GET", ["v3", "refund", "domestic", "refunds", number]:
                if number not in self.refunds:
                    raise _refused("RESOURCE_NOT_EXISTS", "退款单不存在", 404)
                return 200, self._refund_object(self.refunds[number])
        raise _refused("NOT_FOUND", "请求的资源不存在", 404)

    @staticmethod
    def _json(body: bytes) -> dict[str, Any]:
        try:
            params = json.loads(body)
        except ValueError:
            params = None
        if not isinstance(params, dict):
            raise _refused("PARAM_ERROR", "请求的body不是合法的JSON对象")
        return params

    def _check_mchid(self, mchid: object) -> None:
        if mchid != self.mchid:
            raise _refused("PARAM_ERROR", "mchid与请求头中的商户号不一致")

    def _order(self, number: str) -> _Order:
        order = self.orders.get(number)
        if order is None:
            raise _refused("ORDER_NOT_EXIST", "订单不存在", 404)
        self._expire(order)
        return order

    def _order_of(self, payment_id: str) -> _Order:
        number = out_trade_no(payment_id)
        if number not in self.orders:
            raise LookupError(f"no order for payment {payment_id}")
        return self._order(number)

    def _expire(self, order: _Order) -> None:
        """WeChat Pay closes an unpaid order once its ``time_expire`` has passed."""
        if order.expires_at is not None and order.state == "NOTPAY" and datetime.now(UTC) >= order.expires_at:
            order.state, order.state_desc = "CLOSED", "订单已关闭"

    def _close(self, order: _Order) -> None:
        if order.state in PAID:
            raise _refused("ORDERPAID", "订单已支付", 403)
        order.state, order.state_desc = "CLOSED", "订单已关闭"

    def _native(self, params: dict[str, Any]) -> dict[str, Any]:
        appid = _string(params, "appid", 32)
        self._check_mchid(_string(params, "mchid", 32))
        if appid != self.appid:
            raise _refused("APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
        _string(params, "description", 127)
        number = _string(params, "out_trade_no", 32)
        if not OUT_TRADE_NO.fullmatch(number):
            raise _param_error("/out_trade_no", number, "商户订单号只能是6-32位数字、大小写字母_-|*")
        _notify_url(params)
        total = _amount(params, "total")
        expires_at = _time_expire(params)
        order = self.orders.get(number)
        if order is not None:
            self._expire(order)
            if order.state in PAID:
                raise _refused("ORDERPAID", "该订单已支付", 403)
            if order.state == "CLOSED":
                raise _refused("ORDER_CLOSED", "订单已关闭")
            if order.request != params:
                raise _refused("INVALID_REQUEST", "201 商户订单号重复")
            return {"code_url": order.code_url}
        code_url = "weixin://wxpay/bizpayurl?pr=" + "".join(secrets.choice(ALPHANUMERIC) for _ in range(9))
        self.orders[number] = _Order(number, params, total, code_url, expires_at)
        return {"code_url": code_url}

    def _refund(self, params: dict[str, Any]) -> dict[str, Any]:
        number, transaction_id = params.get("out_trade_no"), params.get("transaction_id")
        if not isinstance(number, str) and not isinstance(transaction_id, str):
            raise _param_error("/out_trade_no", None, "out_trade_no与transaction_id必须填写其一")
        refund_no = _string(params, "out_refund_no", 64)
        if not OUT_REFUND_NO.fullmatch(refund_no):
            raise _param_error("/out_refund_no", refund_no, "商户退款单号只能是数字、大小写字母_-|*@")
        amount, total = _amount(params, "refund"), _amount(params, "total")
        if params["amount"].get("currency") != "CNY":
            raise _param_error(
                "/amount/currency", params["amount"].get("currency"), "退款币种目前只支持人民币CNY"
            )
        if "reason" in params:
            _string(params, "reason", 80)
        if "notify_url" in params:
            _notify_url(params)
        found = [
            o
            for o in self.orders.values()
            if o.out_trade_no == number or (transaction_id and o.transaction_id == transaction_id)
        ]
        if not found:
            raise _refused("RESOURCE_NOT_EXISTS", "订单不存在", 404)
        order = found[0]
        existing = self.refunds.get(refund_no)
        if existing is not None:
            if (existing.out_trade_no, existing.refund, existing.total) != (
                order.out_trade_no,
                amount,
                total,
            ):
                raise _refused("INVALID_REQUEST", "订单金额或退款金额与之前请求不一致，请核实后再试")
            return self._refund_object(existing)
        if order.state not in PAID or order.transaction_id is None:
            raise _refused("INVALID_REQUEST", "订单未支付，不能发起退款")
        if total != order.total:
            raise _refused("INVALID_REQUEST", "订单金额与原订单金额不一致，请核实后再试")
        unrefunded = order.total - order.refunded
        if unrefunded <= 0:
            raise _refused("INVALID_REQUEST", "订单已全额退款")
        if amount > unrefunded:
            raise _refused("INVALID_REQUEST", "申请退款金额超过订单可退金额")
        refund = _Refund(
            refund_no,
            order.out_trade_no,
            order.transaction_id,
            f"50{_digits(27)}",
            amount,
            total,
            _now_text(),
        )
        self.refunds[refund_no] = refund
        order.refunded += amount
        order.state, order.state_desc = "REFUND", "订单发生过退款，退款详情请查询退款单"
        answer = self._refund_object(refund)
        if not self.settle_refunds_later:
            self._settle(refund, "SUCCESS")  # balance refunds settle in seconds; the answer said PROCESSING
        return answer

    def _settle(self, refund: _Refund, status: str) -> None:
        refund.status = status
        if status == "SUCCESS":
            refund.success_time = _now_text()
        if status == "CLOSED":
            self.orders[refund.out_trade_no].refunded -= refund.refund
        order = self.orders[refund.out_trade_no]
        resource = {
            "mchid": self.mchid,
            "out_trade_no": refund.out_trade_no,
            "transaction_id": refund.transaction_id,
            "out_refund_no": refund.out_refund_no,
            "refund_id": refund.refund_id,
            "refund_status": status,
            **({"success_time": refund.success_time} if refund.success_time else {}),
            "user_received_account": "支付用户零钱",
            "amount": {
                "total": refund.total,
                "refund": refund.refund,
                "payer_total": order.total,
                "payer_refund": refund.refund,
            },
        }
        self._emit(refund.out_trade_no, f"REFUND.{status}", "refund", resource)

    def _emit(self, number: str, event_type: str, associated_data: str, resource: Mapping[str, Any]) -> None:
        self._events.append(
            _Event(number, event_type, self.callback_body(event_type, associated_data, resource))
        )

    def _transaction(self, order: _Order) -> dict[str, Any]:
        """The transaction object, as queries answer and TRANSACTION.* callbacks carry it."""
        transaction: dict[str, Any] = {"appid": order.request["appid"], "mchid": self.mchid}
        transaction["out_trade_no"] = order.out_trade_no
        if order.transaction_id is None:
            transaction |= {
                "trade_state": order.state,
                "trade_state_desc": order.state_desc,
                "amount": {"payer_currency": "CNY", "total": order.total},
            }
            return transaction
        return transaction | {
            "transaction_id": order.transaction_id,
            "trade_type": "NATIVE",
            "trade_state": order.state,
            "trade_state_desc": order.state_desc,
            "bank_type": "OTHERS",
            "attach": "",
            "success_time": order.success_time,
            "payer": {"openid": order.openid},
            "amount": {
                "total": order.total,
                "payer_total": order.total,
                "currency": "CNY",
                "payer_currency": "CNY",
            },
        }

    def _refund_object(self, refund: _Refund) -> dict[str, Any]:
        order = self.orders[refund.out_trade_no]
        return {
            "refund_id": refund.refund_id,
            "out_refund_no": refund.out_refund_no,
            "transaction_id": refund.transaction_id,
            "out_trade_no": refund.out_trade_no,
            "channel": "ORIGINAL",
            "user_received_account": "支付用户零钱",
            **({"success_time": refund.success_time} if refund.success_time else {}),
            "create_time": refund.create_time,
            "status": refund.status,
            "funds_account": "AVAILABLE",
            "amount": {
                "total": refund.total,
                "refund": refund.refund,
                "payer_total": order.total,
                "payer_refund": refund.refund,
                "settlement_refund": refund.refund,
                "settlement_total": refund.total,
                "discount_refund": 0,
                "currency": "CNY",
            },
            "promotion_detail": [],
        }


def _string(params: Mapping[str, Any], name: str, limit: int) -> str:
    value = params.get(name)
    if not isinstance(value, str) or not 1 <= len(value) <= limit:
        raise _param_error(f"/{name}", value, f"应为长度1到{limit}的字符串")
    return value


def _amount(params: Mapping[str, Any], name: str) -> int:
    amount = params.get("amount")
    value = amount.get(name) if isinstance(amount, dict) else None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _param_error(f"/amount/{name}", value, "值低于最小值 1")
    if isinstance(amount, dict) and amount.get("currency", "CNY") != "CNY":
        raise _param_error("/amount/currency", amount.get("currency"), "目前只支持人民币CNY")
    return value


def _notify_url(params: Mapping[str, Any]) -> None:
    value = _string(params, "notify_url", 255)
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname or parts.query:
        raise _param_error("/notify_url", value, "通知地址必须是https且不能携带参数")


def _time_expire(params: Mapping[str, Any]) -> datetime | None:
    value = params.get("time_expire")
    if value is None:
        return None
    pattern = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)"
    if not isinstance(value, str) or not re.fullmatch(pattern, value):
        raise _param_error("/time_expire", value, "应为rfc3339格式的时间")
    moment = datetime.fromisoformat(value)
    if moment <= datetime.now(UTC):
        raise _param_error("/time_expire", value, "订单失效时间不能早于当前时间")
    return moment


class _Handler(BaseHTTPRequestHandler):
    server_version = "nginx"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def _answer(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        fake: FakeWeChatPay = self.server.fake  # type: ignore[attr-defined]
        answer = fake.handle(method, self.path, headers, body)
        try:
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: requests are kept in ``FakeWeChatPay.requests`` instead."""


class WeChatPayHarness:
    """``GatewayHarness`` over a ``FakeWeChatPay``: the buyer scans the Native order's
    ``code_url`` and pays; callbacks come from the fake's log, signed at delivery."""

    def __init__(self, fake: FakeWeChatPay, **config: Any) -> None:
        self.fake = fake
        self.currency = Currency.CNY
        self.gateway: PaymentGateway = WeChatPayGateway(fake.config(**config))

    def pay(self, request: PaymentRequest, started: PaymentStarted) -> None:
        code_url = started.next_action.value
        if code_url is None:
            raise AssertionError(f"nothing for the buyer to scan: {started}")
        transaction = self.fake.pay(code_url)
        if transaction["trade_state"] != "SUCCESS":
            raise AssertionError(f"the buyer could not pay: {transaction}")

    def notification(self, payment_id: str) -> RawNotification:
        return self.fake.notification_for(payment_id)

    def forged_notification(self, payment_id: str) -> RawNotification:
        return self.fake.forged_notification_for(payment_id)

    def unreachable(self) -> PaymentGateway:
        return WeChatPayGateway(self.fake.config(api_base=closed_address(), timeout_seconds=2.0))
