"""A local Alipay: the Open Platform gateway (``gateway.do``) for trades and refunds, in memory.

It speaks Alipay's wire format, not our adapter's: requests arrive as ``GET gateway.do?<all
parameters>`` (fzlee's SDK, and the buyer's browser on a page-pay redirect) or as ``POST
gateway.do?<common parameters>`` with a form body (the official SDK and ours); the fake merges
both and verifies the RSA2 signature with the app's public key, as Alipay does. Answers are
``{"<method>_response":{...},"sign":"..."}`` signed with the Alipay private key over the raw
response object, business failures included. Async notifications are form bodies signed the same
way. Its signing code is its own, written from shared/providers/README.md §2.2, so a mistake in
the adapter's signing is not mirrored here.

Drive it from tests and chaos runs::

    with FakeAlipay() as fake:
        gateway = AlipayGateway(fake.config())
        started = gateway.create(request)                # precreate: a QR code
        fake.pay(request.payment_id)                     # the buyer scans and pays
        raw = fake.notification_for(request.payment_id)  # the signed TRADE_SUCCESS notify
        fake.fail_next(1, code="20000")                  # the next call: service unavailable
"""

from __future__ import annotations

import base64
import functools
import html
import json
import re
import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl, urlencode, urlsplit

import attrs
import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from marketcore.adapters.gateways.alipay import AlipayConfig, AlipayGateway, AlipayMode
from marketcore.application.payments.ports import PaymentGateway
from marketcore.domain.payments.payments import NextActionKind, PaymentRequest, PaymentStarted
from marketcore.domain.payments.provider import RawNotification
from marketcore.domain.shared.money import Currency
from marketcore.testing.fakes.network import closed_address

__all__ = ["AlipayHarness", "FakeAlipay", "alipay_sign", "closed_address", "notify_body", "throwaway_keys"]

BEIJING = timezone(timedelta(hours=8))
GATEWAY_PATH = "/gateway.do"
MAX_FEN = 100_000_000_00
SELLER_ID = "2088102177649450"
NOTIFY_URL = "https://shop.example/alipay/notify"
RETURN_URL = "https://shop.example/alipay/return"
METHODS = frozenset(
    {
        "alipay.trade.precreate",
        "alipay.trade.page.pay",
        "alipay.trade.query",
        "alipay.trade.refund",
        "alipay.trade.fastpay.refund.query",
        "alipay.trade.close",
    }
)
_AMOUNT = re.compile(r"(0|[1-9]\d{0,11})(\.\d{1,2})?")
_OUT_NO = re.compile(r"[A-Za-z0-9_\-]{1,64}")
_TIMEOUT = re.compile(r"([1-9]\d{0,4})([mhd])")
_UNIT_MINUTES = {"m": 1, "h": 60, "d": 24 * 60}
_SUB_MESSAGES = {
    "isp.unknow-error": "系统繁忙",
    "ACQ.SYSTEM_ERROR": "系统错误",
    "ACQ.TRADE_NOT_EXIST": "交易不存在",
    "ACQ.TRADE_HAS_SUCCESS": "交易已被支付",
    "ACQ.TRADE_HAS_CLOSE": "交易已经关闭",
    "ACQ.TRADE_HAS_FINISHED": "交易已完结",
    "ACQ.TRADE_STATUS_ERROR": "交易状态不合法",
    "ACQ.CONTEXT_INCONSISTENT": "交易信息被篡改",
    "ACQ.TOTAL_FEE_EXCEED": "订单金额超过限额",
    "ACQ.INVALID_PARAMETER": "参数无效",
    "ACQ.REASON_TRADE_REFUND_FEE_ERR": "退款金额无效",
    "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL": "退款金额超限",
}
_CODE_MESSAGES = {
    "10000": "Success",
    "20000": "Service Currently Unavailable",
    "40001": "Missing Required Arguments",
    "40002": "Invalid Arguments",
    "40004": "Business Failed",
}


# -- Alipay's signing, written out independently of the adapter ---------------------------------


def alipay_sign(content: str, key: rsa.RSAPrivateKey) -> str:
    """RSA2: base64(SHA256withRSA PKCS#1 v1.5 over the UTF-8 bytes)."""
    return base64.b64encode(key.sign(content.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


def _verify(content: str, signature: str, key: rsa.RSAPublicKey) -> bool:
    try:
        key.verify(
            base64.b64decode(signature, validate=True), content.encode(), padding.PKCS1v15(), hashes.SHA256()
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def _content(pairs: Iterable[tuple[str, str]]) -> str:
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def notify_body(params: Mapping[str, str], key: rsa.RSAPrivateKey) -> bytes:
    """A notification's form body: the fields but ``sign``/``sign_type`` signed, then every
    field (``sign`` and ``sign_type`` included) sorted and form-encoded, as §2.6(e) shows."""
    fields = {k: v for k, v in params.items() if k != "sign"}
    fields.setdefault("sign_type", "RSA2")
    fields["sign"] = alipay_sign(
        _content((k, v) for k, v in fields.items() if k not in ("sign", "sign_type")), key
    )
    return urlencode(sorted(fields.items())).encode()


@functools.cache
def throwaway_keys() -> tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey, rsa.RSAPrivateKey]:
    """Keys made once per process: the app's, Alipay's and a forger's (RSA-2048)."""
    make = functools.partial(rsa.generate_private_key, public_exponent=65537, key_size=2048)
    return make(), make(), make()


def _pem_private(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _pem_public(key: rsa.RSAPublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def _now() -> str:
    return datetime.now(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def _digits(count: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(count))


class AlipayError(Exception):
    """An answer with a code other than 10000; signed like any other."""

    def __init__(self, code: str, sub_code: str, sub_msg: str | None = None, **extra: str) -> None:
        super().__init__(f"{code} {sub_code}")
        self.fields: dict[str, str] = {
            "code": code,
            "msg": _CODE_MESSAGES.get(code, "Business Failed"),
            "sub_code": sub_code,
            "sub_msg": sub_msg or _SUB_MESSAGES.get(sub_code, sub_code),
            **extra,
        }


def _refused(sub_code: str, sub_msg: str | None = None, **extra: str) -> AlipayError:
    return AlipayError("40004", sub_code, sub_msg, **extra)


@attrs.define
class _Refund:
    out_request_no: str
    amount: int
    at: str


@attrs.define
class _Trade:
    out_trade_no: str
    total: int  # fen, what the trade is for
    subject: str
    qr_code: str
    product_code: str
    deadline: datetime | None
    state: str = "NOT_EXIST"  # precreated or opened in the cashier; Alipay answers ACQ.TRADE_NOT_EXIST
    trade_no: str | None = None
    gmt_create: str | None = None
    gmt_payment: str | None = None
    gmt_close: str | None = None
    refunds: dict[str, _Refund] = attrs.Factory(dict)

    @property
    def refunded(self) -> int:
        return sum(refund.amount for refund in self.refunds.values())


@attrs.define
class _Notification:
    out_trade_no: str
    trade_status: str
    params: dict[str, str]
    body: bytes


@attrs.define
class _Answer:
    status: int
    body: bytes
    content_type: str = "text/html;charset=utf-8"


@attrs.frozen
class SeenRequest:
    """A request as it reached the fake: the HTTP method, path, raw query and body, and the
    merged parameters Alipay reads."""

    http_method: str
    path: str
    query: str
    body: str
    params: Mapping[str, str]


class FakeAlipay:
    """Alipay's gateway and notifier on ``127.0.0.1:<free port>``, in a daemon thread.

    Keys are PEM text; by default a fresh set made once per process. Pass the README's Appendix A
    pairs to reproduce its vectors."""

    def __init__(
        self,
        *,
        app_id: str = "2021000000000001",
        app_private_key: str | None = None,
        alipay_private_key: str | None = None,
    ) -> None:
        app, platform, forger = throwaway_keys()
        self.app_id = app_id
        self.app_private_key = app_private_key or _pem_private(app)
        self.alipay_private_key = alipay_private_key or _pem_private(platform)
        self._app_public = _loaded_private(self.app_private_key).public_key()
        self._alipay_key = _loaded_private(self.alipay_private_key)
        self._forger_key = forger
        self.alipay_public_key = _pem_public(self._alipay_key.public_key())
        self.trades: dict[str, _Trade] = {}
        self.requests: list[SeenRequest] = []
        self._notifications: list[_Notification] = []
        self._amount_overrides: dict[str, int] = {}
        self._faults: list[tuple[str, Any]] = []
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------

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
            target=server.serve_forever, args=(0.05,), name="fake-alipay", daemon=True
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

    @property
    def gateway_url(self) -> str:
        return self.url + GATEWAY_PATH

    def config(self, **overrides: Any) -> AlipayConfig:
        """A gateway config pointed at this fake, with a short timeout."""
        values: dict[str, Any] = {
            "app_id": self.app_id,
            "app_private_key": self.app_private_key,
            "alipay_public_key": self.alipay_public_key,
            "notify_url": NOTIFY_URL,
            "return_url": RETURN_URL,
            "mode": AlipayMode.PRECREATE,
            "gateway_url": self.gateway_url,
            "timeout_seconds": 5.0,
        }
        return AlipayConfig(**(values | overrides))

    # -- the buyer and Alipay's back office ------------------------------------------------------

    def scan(self, code: str) -> str:
        """The buyer scans the QR (``code`` is its content or the ``out_trade_no``): the trade now
        exists at Alipay, ``WAIT_BUYER_PAY`` (which Alipay does not notify). Returns the
        ``out_trade_no``."""
        with self._lock:
            trade = next((t for t in self.trades.values() if code in (t.qr_code, t.out_trade_no)), None)
            if trade is None:
                raise LookupError(f"no trade for {code!r}")
            self._expire(trade)
            if trade.state == "NOT_EXIST":
                trade.state = "WAIT_BUYER_PAY"
                trade.trade_no = datetime.now(BEIJING).strftime("%Y%m%d") + "22001" + _digits(15)
                trade.gmt_create = _now()
            return trade.out_trade_no

    def pay(self, out_trade_no: str) -> None:
        """The buyer pays (scanning first if need be): ``TRADE_SUCCESS``, notified."""
        with self._lock:
            self.scan(out_trade_no)
            trade = self.trades[out_trade_no]
            if trade.state != "WAIT_BUYER_PAY":
                raise ValueError(f"trade {out_trade_no} is {trade.state}")
            trade.total = self._amount_overrides.get(out_trade_no, trade.total)
            trade.state = "TRADE_SUCCESS"
            trade.gmt_payment = _now()
            self._notify(trade)

    def close_trade(self, out_trade_no: str) -> None:
        """Alipay closes an unpaid trade (its timeout, or the merchant's close): ``TRADE_CLOSED``,
        notified when the buyer had scanned it (a trade nobody opened never existed)."""
        with self._lock:
            trade = self.trades[out_trade_no]
            if trade.state not in ("NOT_EXIST", "WAIT_BUYER_PAY"):
                raise ValueError(f"trade {out_trade_no} is {trade.state}")
            self._close(trade)

    def finish(self, out_trade_no: str) -> None:
        """The refund period ends: ``TRADE_SUCCESS`` becomes ``TRADE_FINISHED``, notified."""
        with self._lock:
            trade = self.trades[out_trade_no]
            if trade.state != "TRADE_SUCCESS":
                raise ValueError(f"trade {out_trade_no} is {trade.state}")
            trade.state = "TRADE_FINISHED"
            self._notify(trade)

    def charge_instead(self, payment_id: str, amount: int) -> None:
        """When the buyer pays our payment, Alipay records ``amount`` fen as the trade's total:
        queries and notifications then report it, for mismatch tests."""
        with self._lock:
            self._amount_overrides[payment_id] = amount

    # -- faults ----------------------------------------------------------------------------------

    def fail_next(
        self, count: int = 1, *, status: int = 500, code: str | None = None, sub_code: str | None = None
    ) -> None:
        """The next ``count`` calls fail without being carried out: HTTP ``status`` with an HTML
        page, or (``code`` given) a signed answer with that code, e.g. ``code="20000"`` or
        ``code="40004", sub_code="ACQ.SYSTEM_ERROR"``."""
        with self._lock:
            if code is None:
                self._faults.extend([("status", status)] * count)
            else:
                default = "isp.unknow-error" if code == "20000" else "ACQ.SYSTEM_ERROR"
                self._faults.extend([("code", (code, sub_code or default))] * count)

    def stall_next(self, seconds: float, count: int = 1) -> None:
        """The next requests are carried out, then answered ``seconds`` late (a lost answer)."""
        with self._lock:
            self._faults.extend([("stall", seconds)] * count)

    def garble_next(self, count: int = 1) -> None:
        """The next answers are 200 with a body that is not JSON (a broken proxy, say)."""
        with self._lock:
            self._faults.extend([("garble", None)] * count)

    def drop_signature_next(self, count: int = 1) -> None:
        """The next calls are carried out but answered without ``sign``."""
        with self._lock:
            self._faults.extend([("unsigned", None)] * count)

    def sign_wrongly_next(self, count: int = 1) -> None:
        """The next calls are carried out but answered signed with a key that is not Alipay's."""
        with self._lock:
            self._faults.extend([("missigned", None)] * count)

    def answer_next(self, payload: Mapping[str, Any] | bytes, status: int = 200) -> None:
        """The next request is answered with ``payload``, whatever it asked: a mapping becomes the
        ``<method>_response`` object, signed with the Alipay key (a misrouted answer about
        someone else's trade); bytes are sent as they are."""
        with self._lock:
            self._faults.append(("canned", (payload, status)))

    # -- notifications ---------------------------------------------------------------------------

    def notification_for(
        self, payment_id: str, trade_status: str | None = None, *, received_at: datetime | None = None
    ) -> RawNotification:
        """The latest notification about the trade (of ``trade_status`` if given). A re-delivery
        of the same notification is the same body, with the same ``notify_id``."""
        with self._lock:
            found = [
                n
                for n in self._notifications
                if n.out_trade_no == payment_id and trade_status in (None, n.trade_status)
            ]
        if not found:
            raise LookupError(f"no {trade_status or 'notification'} for trade {payment_id}")
        return self._raw(found[-1].body, received_at)

    def notifications_for(self, payment_id: str) -> list[RawNotification]:
        """Every distinct notification sent about the trade, oldest first, as re-delivered now."""
        with self._lock:
            bodies = [n.body for n in self._notifications if n.out_trade_no == payment_id]
        return [self._raw(body, None) for body in bodies]

    def notification_params(self, payment_id: str) -> dict[str, str]:
        """The fields of the latest notification about the trade, ``sign`` and ``sign_type``
        excluded: change them and ``deliver`` to make an edge case."""
        with self._lock:
            found = [n for n in self._notifications if n.out_trade_no == payment_id]
        if not found:
            raise LookupError(f"no notification for trade {payment_id}")
        return dict(found[-1].params)

    def deliver(
        self,
        params: Mapping[str, str],
        *,
        key: rsa.RSAPrivateKey | None = None,
        received_at: datetime | None = None,
    ) -> RawNotification:
        """``params`` as a notification signed by Alipay (or by ``key``)."""
        return self._raw(notify_body(params, key or self._alipay_key), received_at)

    def forged_notification_for(self, payment_id: str) -> RawNotification:
        """A ``TRADE_SUCCESS`` for the trade, signed with a key that is not Alipay's."""
        with self._lock:
            trade = self.trades[payment_id]
            params = self._notify_params(trade, "TRADE_SUCCESS")
            params.setdefault("gmt_payment", _now())
        return self.deliver(params, key=self._forger_key)

    @staticmethod
    def _raw(body: bytes, received_at: datetime | None) -> RawNotification:
        headers = {
            "content-type": "application/x-www-form-urlencoded; charset=utf-8",
            "user-agent": "Mozilla/4.0",
        }
        return RawNotification(headers, body, received_at or datetime.now(UTC))

    def _notify(self, trade: _Trade, refund: _Refund | None = None) -> None:
        params = self._notify_params(trade, trade.state, refund)
        self._notifications.append(
            _Notification(trade.out_trade_no, trade.state, params, notify_body(params, self._alipay_key))
        )

    def _notify_params(self, trade: _Trade, status: str, refund: _Refund | None = None) -> dict[str, str]:
        """Every field of §2.5 that applies to the trade's state."""
        paid = trade.gmt_payment is not None
        amount = _yuan(trade.total) if paid else "0.00"
        params = {
            "notify_time": _now(),
            "notify_type": "trade_status_sync",
            "notify_id": datetime.now(BEIJING).strftime("%Y%m%d") + "00222" + _digits(25),
            "app_id": self.app_id,
            "auth_app_id": self.app_id,
            "charset": "utf-8",
            "version": "1.0",
            "trade_no": trade.trade_no or "",
            "out_trade_no": trade.out_trade_no,
            "buyer_id": "2088102177846880",
            "buyer_logon_id": "sbx***@sandbox.com",
            "seller_id": SELLER_ID,
            "seller_email": "merchant@shop.example",
            "trade_status": status,
            "total_amount": _yuan(trade.total),
            "receipt_amount": amount,
            "invoice_amount": amount,
            "buyer_pay_amount": amount,
            "point_amount": "0.00",
            "subject": trade.subject,
            "gmt_create": trade.gmt_create or _now(),
        }
        if paid:
            params["gmt_payment"] = trade.gmt_payment or ""
            params["fund_bill_list"] = json.dumps(
                [{"amount": amount, "fundChannel": "ALIPAYACCOUNT"}], separators=(",", ":")
            )
        if refund is not None:
            params |= {
                "out_biz_no": refund.out_request_no,
                "refund_fee": _yuan(trade.refunded),
                "gmt_refund": refund.at,
            }
        if status == "TRADE_CLOSED":
            params["gmt_close"] = trade.gmt_close or _now()
        return params

    # -- the gateway -----------------------------------------------------------------------------

    def handle(self, http_method: str, target: str, headers: Mapping[str, str], body: str) -> _Answer:
        url = urlsplit(target)
        form = body if headers.get("content-type", "").startswith("application/x-www-form-urlencoded") else ""
        params, conflict = _merged(url.query, form)
        with self._lock:
            self.requests.append(SeenRequest(http_method, url.path, url.query, body, params))
            fault = self._faults.pop(0) if self._faults else None
        if url.path != GATEWAY_PATH:
            return _Answer(404, b"<html><body>404 Not Found</body></html>")
        method = params.get("method", "")
        name = method.replace(".", "_") + "_response" if method in METHODS else "error_response"
        if fault is not None:
            kind, value = fault
            if kind == "status":
                return _Answer(value, f"<html><body>{value} error</body></html>".encode())
            elif kind == "garble":
                return _Answer(200, b"<html><body>502 Bad Gateway</body></html>")
            elif kind == "code":
                return self._signed(name, AlipayError(value[0], value[1]).fields)
            elif kind == "canned":
                payload, status = value
                if isinstance(payload, bytes):
                    return _Answer(status, payload, "application/json;charset=utf-8")
                answer = self._signed(name, dict(payload))
                return _Answer(status, answer.body, answer.content_type)
        with self._lock:
            try:
                self._authenticate(params, conflict)
                if method == "alipay.trade.page.pay":
                    return self._cashier(params)
                answer = self._signed(name, self._route(method, params))
            except AlipayError as error:
                if method == "alipay.trade.page.pay":
                    return _Answer(
                        200, _page("错误", f"错误代码 {error.fields['sub_code']}", error.fields["sub_msg"])
                    )
                answer = self._signed(name, error.fields)
        if fault is not None and fault[0] == "stall":
            time.sleep(fault[1])  # carried out, then answered late: the client may have given up
        if fault is not None and fault[0] == "unsigned":
            return _Answer(200, answer.body.split(b',"sign":')[0] + b"}", answer.content_type)
        if fault is not None and fault[0] == "missigned":
            fields = json.loads(answer.body)[name]
            return self._signed(name, fields, key=self._forger_key)
        return answer

    def _authenticate(self, params: Mapping[str, str], conflict: str | None) -> None:
        """Alipay's common-parameter checks, then the signature over every parameter but
        ``sign``, empty values left out, sorted, raw values joined with ``&``."""
        for required in ("app_id", "method", "sign", "sign_type", "timestamp", "version", "charset"):
            if not params.get(required):
                sub = {"sign": "signature", "sign_type": "signature-type"}.get(
                    required, required.replace("_", "-")
                )
                raise AlipayError("40001", f"isv.missing-{sub}", f"缺少{required}参数")
        if conflict is not None:
            raise AlipayError("40002", "isv.invalid-parameter", f"{conflict}在查询串和表单中的值不一致")
        if params["app_id"] != self.app_id:
            raise AlipayError("40002", "isv.invalid-app-id", "无效的AppID参数")
        if params["method"] not in METHODS:
            raise AlipayError("40002", "isv.invalid-method", "不存在的方法名")
        if params["sign_type"] != "RSA2":
            raise AlipayError("40002", "isv.invalid-signature-type", "无效的签名类型")
        if params["charset"].lower() not in ("utf-8", "utf8"):
            raise AlipayError("40002", "isv.invalid-charset", "无效的字符集")
        if params["version"] != "1.0":
            raise AlipayError("40002", "isv.invalid-version", "无效的版本号")
        try:
            datetime.strptime(params["timestamp"], "%Y-%m-%d %H:%M:%S")
        except ValueError:
            raise AlipayError("40002", "isv.invalid-timestamp", "非法的时间戳参数") from None
        content = _content((k, v) for k, v in params.items() if k != "sign" and v != "")
        if not _verify(content, params["sign"], self._app_public):
            raise AlipayError(
                "40002",
                "isv.invalid-signature",
                f"验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：{content}",
            )

    def _signed(
        self, name: str, fields: Mapping[str, Any], *, key: rsa.RSAPrivateKey | None = None
    ) -> _Answer:
        """``{"<name>":<object>,"sign":"..."}``: the sign after the object, over its exact text."""
        content = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
        signature = alipay_sign(content, key or self._alipay_key)
        body = f'{{"{name}":{content},"sign":"{signature}"}}'
        return _Answer(200, body.encode(), "application/json;charset=utf-8")

    def _route(self, method: str, params: Mapping[str, str]) -> dict[str, str]:
        biz = _biz(params)
        if method == "alipay.trade.precreate":
            return self._precreate(biz)
        if method == "alipay.trade.query":
            return self._query(biz)
        if method == "alipay.trade.refund":
            return self._refund(biz)
        if method == "alipay.trade.fastpay.refund.query":
            return self._refund_query(biz)
        return self._close_call(biz)

    # -- trades ----------------------------------------------------------------------------------

    def _open_trade(self, biz: Mapping[str, Any], product_code: str) -> _Trade:
        """The trade for a precreate or a cashier visit, under §2.4's ``out_trade_no`` rules:
        the same content finds the same trade; other content, a paid or a closed trade refuse."""
        out_trade_no = _text(biz, "out_trade_no")
        if not _OUT_NO.fullmatch(out_trade_no):
            raise _refused("ACQ.INVALID_PARAMETER", "参数无效: out_trade_no")
        total = _fen(biz, "total_amount")
        if not 1 <= total <= MAX_FEN:
            raise _refused("ACQ.TOTAL_FEE_EXCEED")
        subject = _text(biz, "subject")
        if not subject or len(subject) > 256:
            raise _refused("ACQ.INVALID_PARAMETER", "参数无效: subject")
        deadline = _deadline(biz)
        trade = self.trades.get(out_trade_no)
        if trade is None:
            trade = _Trade(
                out_trade_no,
                total,
                subject,
                "https://qr.alipay.com/bax0" + secrets.token_hex(10),
                product_code,
                deadline,
            )
            self.trades[out_trade_no] = trade
            return trade
        self._expire(trade)
        if trade.state in ("TRADE_SUCCESS", "TRADE_FINISHED"):
            raise _refused("ACQ.TRADE_HAS_SUCCESS", out_trade_no=out_trade_no)
        if trade.state in ("TRADE_CLOSED", "GONE"):
            raise _refused("ACQ.TRADE_HAS_CLOSE", out_trade_no=out_trade_no)
        if (trade.total, trade.subject, trade.product_code) != (total, subject, product_code):
            raise _refused("ACQ.CONTEXT_INCONSISTENT", out_trade_no=out_trade_no)
        return trade

    def _precreate(self, biz: Mapping[str, Any]) -> dict[str, str]:
        trade = self._open_trade(biz, "FACE_TO_FACE_PAYMENT")
        return {
            "code": "10000",
            "msg": "Success",
            "out_trade_no": trade.out_trade_no,
            "qr_code": trade.qr_code,
        }

    def _cashier(self, params: Mapping[str, str]) -> _Answer:
        """The desktop cashier the buyer's browser lands on from a page-pay redirect."""
        biz = _biz(params)
        if biz.get("product_code") != "FAST_INSTANT_TRADE_PAY":
            raise _refused("ACQ.INVALID_PARAMETER", "参数无效: product_code")
        trade = self._open_trade(biz, "FAST_INSTANT_TRADE_PAY")
        return _Answer(200, _page("支付宝 - 网上支付 安全快速！", trade.subject, f"¥{_yuan(trade.total)}"))

    def _trade(self, biz: Mapping[str, Any]) -> _Trade:
        """A trade Alipay knows of, by ``out_trade_no`` or else ``trade_no``."""
        if biz.get("out_trade_no"):
            trade = self.trades.get(str(biz["out_trade_no"]))
        else:
            trade = next((t for t in self.trades.values() if t.trade_no == biz.get("trade_no")), None)
        if trade is not None:
            self._expire(trade)
        if trade is None or trade.state in ("NOT_EXIST", "GONE"):
            named = {"out_trade_no": str(biz["out_trade_no"])} if biz.get("out_trade_no") else {}
            zero = "0.00"
            raise _refused(
                "ACQ.TRADE_NOT_EXIST",
                buyer_pay_amount=zero,
                invoice_amount=zero,
                **named,
                point_amount=zero,
                receipt_amount=zero,
            )
        return trade

    def _query(self, biz: Mapping[str, Any]) -> dict[str, str]:
        trade = self._trade(biz)
        paid = trade.gmt_payment is not None
        amount = _yuan(trade.total) if paid else "0.00"
        answer = {
            "code": "10000",
            "msg": "Success",
            "trade_no": trade.trade_no or "",
            "out_trade_no": trade.out_trade_no,
            "buyer_logon_id": "sbx***@sandbox.com",
            "trade_status": trade.state,
            "total_amount": _yuan(trade.total),
            "buyer_pay_amount": amount,
            "point_amount": "0.00",
            "invoice_amount": amount,
            "receipt_amount": amount,
            "buyer_user_id": "2088102177846880",
        }
        if paid:
            answer["send_pay_date"] = trade.gmt_payment or ""
        return answer

    def _refund(self, biz: Mapping[str, Any]) -> dict[str, str]:
        trade = self._trade(biz)
        amount = _fen(biz, "refund_amount")
        number = str(biz.get("out_request_no") or trade.out_trade_no)
        if not _OUT_NO.fullmatch(number):
            raise _refused("ACQ.INVALID_PARAMETER", "参数无效: out_request_no")
        previous = trade.refunds.get(number)
        if previous is not None:  # a retry: taken once, answered again without moving money
            if previous.amount != amount:
                raise _refused("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额与该退款请求号的原金额不一致")
            return self._refund_answer(trade, previous, fund_change="N")
        if trade.state == "TRADE_FINISHED":
            raise _refused("ACQ.TRADE_HAS_FINISHED")
        if trade.state == "TRADE_CLOSED":
            raise _refused("ACQ.TRADE_HAS_CLOSE")
        if trade.state != "TRADE_SUCCESS":
            raise _refused("ACQ.TRADE_STATUS_ERROR")
        if number == trade.out_trade_no and amount != trade.total:
            raise _refused("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL")  # a partial refund needs out_request_no
        if not 1 <= amount <= trade.total - trade.refunded:
            raise _refused("ACQ.REASON_TRADE_REFUND_FEE_ERR")
        refund = _Refund(number, amount, _now())
        trade.refunds[number] = refund
        if trade.refunded == trade.total:
            trade.state = "TRADE_CLOSED"
            trade.gmt_close = refund.at
        self._notify(trade, refund)
        return self._refund_answer(trade, refund, fund_change="Y")

    @staticmethod
    def _refund_answer(trade: _Trade, refund: _Refund, *, fund_change: str) -> dict[str, str]:
        return {
            "code": "10000",
            "msg": "Success",
            "trade_no": trade.trade_no or "",
            "out_trade_no": trade.out_trade_no,
            "buyer_logon_id": "sbx***@sandbox.com",
            "fund_change": fund_change,
            "refund_fee": _yuan(trade.refunded),
            "gmt_refund_pay": refund.at,
            "buyer_user_id": "2088102177846880",
        }

    def _refund_query(self, biz: Mapping[str, Any]) -> dict[str, str]:
        trade = self._trade(biz)
        number = _text(biz, "out_request_no")
        refund = trade.refunds.get(number)
        if refund is None:
            return {"code": "10000", "msg": "Success"}  # Alipay's way of saying "no such refund"
        return {
            "code": "10000",
            "msg": "Success",
            "trade_no": trade.trade_no or "",
            "out_trade_no": trade.out_trade_no,
            "out_request_no": number,
            "total_amount": _yuan(trade.total),
            "refund_amount": _yuan(refund.amount),
            "refund_status": "REFUND_SUCCESS",
            "gmt_refund_pay": refund.at,
        }

    def _close_call(self, biz: Mapping[str, Any]) -> dict[str, str]:
        trade = self._trade(biz)
        if trade.state != "WAIT_BUYER_PAY":
            raise _refused("ACQ.TRADE_STATUS_ERROR")
        self._close(trade)
        return {
            "code": "10000",
            "msg": "Success",
            "trade_no": trade.trade_no or "",
            "out_trade_no": trade.out_trade_no,
        }

    def _close(self, trade: _Trade) -> None:
        """A scanned trade closes (and is notified); one nobody opened is gone, its
        ``out_trade_no`` spent: queries still find no trade, a new precreate is refused."""
        if trade.state == "NOT_EXIST":
            trade.state = "GONE"
            return
        trade.state = "TRADE_CLOSED"
        trade.gmt_close = _now()
        self._notify(trade)

    def _expire(self, trade: _Trade) -> None:
        """An unpaid trade past its ``timeout_express``/``time_expire`` is closed."""
        unpaid = trade.state in ("NOT_EXIST", "WAIT_BUYER_PAY")
        if unpaid and trade.deadline is not None and datetime.now(UTC) >= trade.deadline:
            self._close(trade)


@functools.cache
def _loaded_private(pem: str) -> rsa.RSAPrivateKey:
    """Parsed once per process: checking an RSA key on load takes tens of milliseconds."""
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def _merged(query: str, form: str) -> tuple[dict[str, str], str | None]:
    """Query and form parameters as one set, as Alipay reads them; a name given two different
    values is reported."""
    params: dict[str, str] = {}
    conflict = None
    for key, value in parse_qsl(query, keep_blank_values=True) + parse_qsl(form, keep_blank_values=True):
        if key in params and params[key] != value:
            conflict = key
        params[key] = value
    return params, conflict


def _biz(params: Mapping[str, str]) -> dict[str, Any]:
    """``biz_content`` exactly as received (the signature already covered its text)."""
    try:
        biz = json.loads(params.get("biz_content") or "{}")
    except ValueError:
        raise AlipayError("40002", "isv.invalid-parameter", "biz_content不是合法的JSON") from None
    if not isinstance(biz, dict):
        raise AlipayError("40002", "isv.invalid-parameter", "biz_content不是JSON对象")
    return biz


def _text(biz: Mapping[str, Any], key: str) -> str:
    value = biz.get(key)
    if not isinstance(value, str) or not value:
        raise AlipayError(
            "40002", "isv.missing-parameter" if value is None else "isv.invalid-parameter", f"{key}参数有误"
        )
    return value


def _fen(biz: Mapping[str, Any], key: str) -> int:
    value = biz.get(key)
    match = _AMOUNT.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise _refused("ACQ.INVALID_PARAMETER", f"参数无效: {key}")
    units, decimals = match.groups()
    return int(units) * 100 + int((decimals or ".0")[1:].ljust(2, "0"))


def _deadline(biz: Mapping[str, Any]) -> datetime | None:
    if biz.get("time_expire"):
        try:
            local = datetime.strptime(str(biz["time_expire"]), "%Y-%m-%d %H:%M:%S")
        except ValueError:
            raise _refused("ACQ.INVALID_PARAMETER", "参数无效: time_expire") from None
        return local.replace(tzinfo=BEIJING)
    if biz.get("timeout_express"):
        match = _TIMEOUT.fullmatch(str(biz["timeout_express"]))
        minutes = int(match.group(1)) * _UNIT_MINUTES[match.group(2)] if match else 0
        if not 1 <= minutes <= 15 * 24 * 60:
            raise _refused("ACQ.INVALID_PARAMETER", "参数无效: timeout_express")
        return datetime.now(UTC) + timedelta(minutes=minutes)
    return None


def _page(title: str, heading: str, detail: str) -> bytes:
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(heading)}</h1><p>{html.escape(detail)}</p></body></html>"
    ).encode()


class _Handler(BaseHTTPRequestHandler):
    server_version = "Tengine/Aserver"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def _answer(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", errors="replace") if length else ""
        headers = {name.lower(): value for name, value in self.headers.items()}
        fake: FakeAlipay = self.server.fake  # type: ignore[attr-defined]
        answer = fake.handle(method, self.path, headers, body)
        try:
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: requests are kept in ``FakeAlipay.requests`` instead."""


class AlipayHarness:
    """``GatewayHarness`` over a ``FakeAlipay``, in CNY: the buyer scans the QR code, or opens
    the page-pay URL in a browser (the fake checks its signature), then pays."""

    def __init__(self, fake: FakeAlipay, mode: AlipayMode = AlipayMode.PRECREATE, **config: Any) -> None:
        self.fake = fake
        self.currency = Currency.CNY
        self._config = {"mode": mode, **config}
        self.gateway: PaymentGateway = AlipayGateway(fake.config(**self._config))

    def pay(self, request: PaymentRequest, started: PaymentStarted) -> None:
        action = started.next_action
        if action.kind is NextActionKind.QR_CODE and action.value:
            self.fake.pay(self.fake.scan(action.value))
            return
        if action.kind is NextActionKind.REDIRECT and action.value:
            page = requests.get(action.value, timeout=5)
            if page.status_code != 200 or "错误代码" in page.text:
                raise AssertionError(f"the cashier refused the redirect: {page.status_code} {page.text}")
            self.fake.pay(request.payment_id)
            return
        raise AssertionError(f"nothing for the buyer to do: {action}")

    def notification(self, payment_id: str) -> RawNotification:
        return self.fake.notification_for(payment_id)

    def forged_notification(self, payment_id: str) -> RawNotification:
        return self.fake.forged_notification_for(payment_id)

    def unreachable(self) -> PaymentGateway:
        unreachable = {"gateway_url": closed_address() + GATEWAY_PATH, "timeout_seconds": 2.0}
        return AlipayGateway(self.fake.config(**(self._config | unreachable)))
