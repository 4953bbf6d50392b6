"""The Alipay gateway: Open Platform trade APIs with RSA2, over ``requests`` and ``cryptography``.

Our ids are Alipay's idempotency keys: ``out_trade_no`` is the payment id and ``out_request_no``
the refund id (UUIDs fit Alipay's 64 characters), so a retry after a timeout, from any process,
finds the trade or the refund it made instead of making another. Every synchronous answer is
verified against Alipay's public key over the exact bytes it signed before anything in it is
read; an answer that is unsigned, mis-signed or about another trade is never acted on.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, ClassVar, NoReturn
from urllib.parse import parse_qsl, quote_plus

import attrs
import requests

from marketcore.adapters.gateways.alipay.config import AlipayConfig, AlipayMode
from marketcore.adapters.gateways.alipay.signing import (
    notification_content,
    private_key,
    public_key,
    request_content,
    sign,
    signed_query,
    top_level_members,
    verify,
)
from marketcore.adapters.gateways.alipay.translation import (
    MAX_FEN,
    MIN_FEN,
    changes_from_notification,
    fen,
    payment_from_trade,
    yuan,
)
from marketcore.application.payments.ports import GatewayUnavailable, InvalidNotification
from marketcore.domain.payments.payments import (
    NextAction,
    NextActionKind,
    PaymentDeclined,
    PaymentRequest,
    PaymentStarted,
    PaymentStatus,
    RefundAccepted,
    RefundDeclined,
    RefundRequest,
    RefundStatus,
)
from marketcore.domain.payments.provider import (
    Notification,
    NotificationReply,
    PaymentQuery,
    ProviderPayment,
    ProviderStatus,
    RawNotification,
)
from marketcore.domain.shared.money import Money

BEIJING = timezone(timedelta(hours=8), "CST")  # Alipay's timestamps; China keeps no daylight saving
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
SUCCESS = "10000"
BUSINESS_FAILURE = "40004"
MAX_TIMEOUT_MINUTES = 15 * 24 * 60  # timeout_express accepts 1m to 15d
MAX_SUBJECT = 256


@attrs.frozen
class _Answer:
    """A verified ``*_response`` object."""

    fields: Mapping[str, Any]

    @property
    def code(self) -> str:
        return str(self.fields.get("code", ""))

    @property
    def sub_code(self) -> str:
        return str(self.fields.get("sub_code") or "")

    @property
    def refused(self) -> bool:
        """A business refusal (40004) that Alipay decided on; its ``ACQ.SYSTEM_ERROR`` (in any
        prefix, such as ``aop.ACQ.SYSTEM_ERROR``) is a failure to decide and may be retried."""
        return self.code == BUSINESS_FAILURE and not self.sub_code.endswith("ACQ.SYSTEM_ERROR")

    def reason(self) -> str:
        """Alipay's sub_code and message, as a decline reason or an error detail."""
        message = str(self.fields.get("sub_msg") or self.fields.get("msg") or "no message")
        return f"{self.sub_code or self.code}: {message}"

    def unavailable(self) -> NoReturn:
        raise GatewayUnavailable(f"Alipay answered {self.code} {self.reason()}")


class AlipayGateway:
    code: ClassVar[str] = "alipay"
    pays_on_delivery: ClassVar[bool] = False
    # Any other body, even with a 200, makes Alipay deliver the notification again.
    acknowledgement: ClassVar[NotificationReply] = NotificationReply(200, b"success", "text/plain")

    def __init__(self, config: AlipayConfig, *, clock: Callable[[], datetime] | None = None) -> None:
        self._config = config
        self._app_key = private_key(config.app_private_key)
        self._alipay_key = public_key(config.alipay_public_key)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._sessions = threading.local()  # requests.Session is not meant to be shared by threads

    def __repr__(self) -> str:
        return f"AlipayGateway({self._config!r})"

    # -- the port ------------------------------------------------------------------------------

    def create(self, request: PaymentRequest) -> PaymentStarted | PaymentDeclined:
        try:
            total = yuan(request.amount)
        except ValueError as error:
            return PaymentDeclined(str(error))
        subject = request.description.strip()[:MAX_SUBJECT] or f"Payment {request.payment_id}"
        if self._config.mode is AlipayMode.PAGE:
            return self._page(request, total, subject)
        biz: dict[str, str] = {"out_trade_no": request.payment_id, "total_amount": total, "subject": subject}
        if request.expires_at is not None:
            minutes = self._minutes_left(request.expires_at)
            if minutes is None:
                return PaymentDeclined("the payment deadline has passed")
            biz["timeout_express"] = f"{minutes}m"
        answer = self._call("alipay.trade.precreate", biz, notify=True)
        if answer.code != SUCCESS:
            if answer.refused and answer.sub_code == "ACQ.TRADE_HAS_SUCCESS":
                return self._already_paid(request)
            if answer.refused:
                return PaymentDeclined(answer.reason())
            answer.unavailable()
        _same_trade(answer, request.payment_id)
        qr_code = answer.fields.get("qr_code")
        if not isinstance(qr_code, str) or not qr_code:
            raise GatewayUnavailable("Alipay precreated the trade without a qr_code")
        return PaymentStarted(
            provider_reference=request.payment_id,  # the trade_no exists only once the QR is scanned
            next_action=NextAction(NextActionKind.QR_CODE, qr_code),
            status=PaymentStatus.REQUIRES_ACTION,
        )

    def query(self, query: PaymentQuery) -> ProviderPayment:
        """``alipay.trade.query`` by our ``out_trade_no``. A precreated QR nobody has scanned yet
        is ``ACQ.TRADE_NOT_EXIST`` at Alipay: PENDING, not an error."""
        answer = self._call("alipay.trade.query", {"out_trade_no": query.payment_id})
        if answer.code == BUSINESS_FAILURE and answer.sub_code == "ACQ.TRADE_NOT_EXIST":
            if answer.fields.get("out_trade_no") not in (None, query.payment_id):
                raise GatewayUnavailable(f"Alipay answered about trade {answer.fields['out_trade_no']!r}")
            return ProviderPayment(query.payment_id, ProviderStatus.PENDING)
        if answer.code != SUCCESS:
            answer.unavailable()  # a query has no business outcome to decline
        _same_trade(answer, query.payment_id)
        try:
            return payment_from_trade(answer.fields, paid_at_key="send_pay_date")
        except ValueError as error:
            raise GatewayUnavailable(f"unusable trade from Alipay: {error}") from None

    def refund(self, request: RefundRequest) -> RefundAccepted | RefundDeclined:
        """``alipay.trade.refund`` keyed by ``out_request_no`` = our refund id, so partial refunds
        are distinct and a retry is taken once. Alipay's trade refund is synchronous: a success
        that moved money (``fund_change=Y``) is final; ``fund_change=N`` is a replay or money
        still moving, so the refund is confirmed by number with ``fastpay.refund.query``. The
        trade is named by ``out_trade_no`` (our payment id), which Alipay always knows, rather than
        by ``provider_reference``, which may predate the ``trade_no``."""
        try:
            amount = yuan(request.amount)
        except ValueError as error:
            return RefundDeclined(str(error))
        biz = {"refund_amount": amount, "out_request_no": request.refund_id}
        if request.reason.strip():
            biz["refund_reason"] = request.reason.strip()[:MAX_SUBJECT]
        biz["out_trade_no"] = request.payment_id
        answer = self._call("alipay.trade.refund", biz)
        if answer.code != SUCCESS:
            if answer.refused:
                return RefundDeclined(answer.reason())
            answer.unavailable()
        _same_trade(answer, request.payment_id)
        refunded = _amount(answer, "refund_fee")  # the trade's cumulative refunds, this one included
        if refunded < request.amount:
            raise GatewayUnavailable(f"Alipay reports {refunded} refunded in all, below this refund")
        if answer.fields.get("fund_change") != "Y":
            self._confirm_refund(request)
        return RefundAccepted(request.refund_id, RefundStatus.SUCCEEDED)

    def parse_notification(self, raw: RawNotification) -> Notification:
        """Verify an async notification (RSA2 over the sorted form fields but ``sign`` and
        ``sign_type``), then that it is for our app, before reading anything else."""
        fields = _form_fields(raw.body)
        signature = fields.get("sign")
        if not signature:
            raise InvalidNotification("Alipay notification without a sign")
        if fields.get("sign_type", "RSA2") != "RSA2":
            raise InvalidNotification(f"sign_type {fields.get('sign_type')!r}, not RSA2")
        if not verify(notification_content(fields), signature, self._alipay_key):
            raise InvalidNotification("the sign does not verify with the Alipay public key")
        if fields.get("app_id") != self._config.app_id:
            raise InvalidNotification(f"a notification for app {fields.get('app_id')!r}, not ours")
        notify_id = fields.get("notify_id")
        if not notify_id:
            raise InvalidNotification("Alipay notification without a notify_id")
        try:
            return Notification(notify_id, changes_from_notification(fields))
        except ValueError as error:
            raise InvalidNotification(f"notification {notify_id}: {error}") from None

    # -- the calls -----------------------------------------------------------------------------

    def _page(self, request: PaymentRequest, total: str, subject: str) -> PaymentStarted | PaymentDeclined:
        """The signed URL of Alipay's cashier; Alipay makes the trade when the buyer opens it."""
        if not MIN_FEN <= request.amount.amount <= MAX_FEN:
            return PaymentDeclined("ACQ.TOTAL_FEE_EXCEED: Alipay takes 0.01 to 100000000.00 yuan a trade")
        biz = {
            "subject": subject,
            "out_trade_no": request.payment_id,
            "total_amount": total,
            "product_code": "FAST_INSTANT_TRADE_PAY",
        }
        if request.expires_at is not None:
            if request.expires_at <= self._clock():
                return PaymentDeclined("the payment deadline has passed")
            biz["time_expire"] = request.expires_at.astimezone(BEIJING).strftime(TIMESTAMP_FORMAT)
        params = self._common("alipay.trade.page.pay", biz)
        params["notify_url"] = self._config.notify_url
        if self._config.return_url:
            params["return_url"] = self._config.return_url
        url = f"{self._config.gateway_url}?{signed_query(params, self._app_key)}"
        return PaymentStarted(request.payment_id, NextAction(NextActionKind.REDIRECT, url))

    def _already_paid(self, request: PaymentRequest) -> PaymentStarted:
        """``create`` for a trade the buyer has already paid: nothing is left for the buyer to do;
        the payment stays PENDING until the query or the notification settles it."""
        seen = self.query(PaymentQuery(request.payment_id, None, request.amount))
        if seen.status is not ProviderStatus.SUCCEEDED or seen.amount != request.amount:
            raise GatewayUnavailable(f"Alipay says paid, yet its trade is {seen.status} for {seen.amount}")
        return PaymentStarted(
            seen.provider_reference or request.payment_id,
            NextAction(NextActionKind.NONE),
            PaymentStatus.PENDING,
        )

    def _confirm_refund(self, request: RefundRequest) -> None:
        """Alipay's rule: the refund exists when the query returns its data with a
        ``refund_status`` that is empty or ``REFUND_SUCCESS``; no data, no refund (yet)."""
        answer = self._call(
            "alipay.trade.fastpay.refund.query",
            {"out_trade_no": request.payment_id, "out_request_no": request.refund_id},
        )
        if answer.code != SUCCESS:
            answer.unavailable()
        if not answer.fields.get("refund_amount"):
            raise GatewayUnavailable(f"Alipay has no refund {request.refund_id} yet; retry to settle it")
        _same_trade(answer, request.payment_id)
        if answer.fields.get("out_request_no") not in (None, request.refund_id):
            raise GatewayUnavailable(f"Alipay answered about refund {answer.fields['out_request_no']!r}")
        if answer.fields.get("refund_status") not in (None, "", "REFUND_SUCCESS"):
            raise GatewayUnavailable(f"refund {request.refund_id} is {answer.fields['refund_status']}")
        taken = _amount(answer, "refund_amount")
        if taken != request.amount:
            raise GatewayUnavailable(
                f"Alipay's refund {request.refund_id} is for {taken}, not {request.amount}"
            )

    def _common(self, method: str, biz: Mapping[str, str]) -> dict[str, str]:
        return {
            "app_id": self._config.app_id,
            "method": method,
            "charset": "utf-8",
            "sign_type": "RSA2",
            "timestamp": self._clock().astimezone(BEIJING).strftime(TIMESTAMP_FORMAT),
            "version": "1.0",
            # Sent as the literal text signed; ensure_ascii=False as the official SDK does.
            "biz_content": json.dumps(biz, ensure_ascii=False, separators=(",", ":")),
        }

    def _call(self, method: str, biz: Mapping[str, str], *, notify: bool = False) -> _Answer:
        """One server-to-server call, as the official SDK makes it: ``POST gateway.do?<common
        parameters and sign>`` with ``biz_content`` in the form body (amounts stay out of URLs
        and access logs); the signature covers both."""
        params = self._common(method, biz)
        if notify:
            params["notify_url"] = self._config.notify_url
        signature = sign(request_content(params), self._app_key)
        biz_content = params.pop("biz_content")
        query = "&".join(f"{k}={quote_plus(v)}" for k, v in sorted(params.items()))
        try:
            response = self._session().post(
                f"{self._config.gateway_url}?{query}&sign={quote_plus(signature)}",
                data=f"biz_content={quote_plus(biz_content)}".encode("ascii"),
                headers={"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"},
                timeout=self._config.timeout_seconds,
                allow_redirects=False,
            )
        except requests.RequestException as error:
            raise GatewayUnavailable(f"Alipay could not be reached ({type(error).__name__})") from None
        if response.status_code != 200:
            raise GatewayUnavailable(f"Alipay answered HTTP {response.status_code}")
        return _Answer(self._verified(response.content, method))

    def _verified(self, body: bytes, method: str) -> Mapping[str, Any]:
        """The ``<method>_response`` (or ``error_response``) object, once its signature is
        checked over its raw text."""
        try:
            text = body.decode("utf-8")
            members = top_level_members(text)
        except ValueError:  # UnicodeDecodeError included
            raise GatewayUnavailable("Alipay's answer is not a JSON object") from None
        name = method.replace(".", "_") + "_response"
        if name not in members:
            name = "error_response"
        if name not in members:
            raise GatewayUnavailable(f"Alipay's answer has no {method.replace('.', '_')}_response")
        start, end = members[name]
        content = text[start:end]
        if "sign" not in members:
            raise GatewayUnavailable(f"Alipay's answer is not signed (unverified: {_peek(content)})")
        signature = json.loads(text[slice(*members["sign"])])
        if not isinstance(signature, str) or not verify(content, signature, self._alipay_key):
            raise GatewayUnavailable("Alipay's answer does not verify with the Alipay public key")
        fields = json.loads(content)
        if not isinstance(fields, dict):
            raise GatewayUnavailable(f"Alipay's {name} is not an object")
        return fields

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._sessions, "session", None)
        if session is None:
            session = requests.Session()
            session.trust_env = False  # no proxy or netrc picked up from the environment by surprise
            self._sessions.session = session
        return session

    def _minutes_left(self, expires_at: datetime) -> int | None:
        """``timeout_express`` for a deadline: whole minutes left (at least 1), at most 15 days;
        ``None`` once the deadline has passed."""
        seconds = (expires_at - self._clock()).total_seconds()
        if seconds <= 0:
            return None
        return min(max(1, math.floor(seconds / 60)), MAX_TIMEOUT_MINUTES)


def _same_trade(answer: _Answer, payment_id: str) -> None:
    named = answer.fields.get("out_trade_no")
    if named != payment_id:
        raise GatewayUnavailable(f"Alipay answered about trade {named!r}, not {payment_id!r}")


def _amount(answer: _Answer, key: str) -> Money:
    try:
        return fen(answer.fields.get(key))
    except ValueError as error:
        raise GatewayUnavailable(f"Alipay's {key}: {error}") from None


def _peek(content: str) -> str:
    """The code of an answer we cannot verify, for the operator only; nothing is acted on."""
    try:
        fields = json.loads(content)
    except ValueError:
        return "unreadable"
    if not isinstance(fields, dict):
        return "unreadable"
    return " ".join(str(fields[k]) for k in ("code", "sub_code") if fields.get(k))[:120] or "no code"


def _form_fields(body: bytes) -> dict[str, str]:
    """The notification's form fields, decoded strictly as UTF-8 (the charset we ask for);
    a field named twice is refused, since the signature would cover only one reading."""
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise InvalidNotification("not a UTF-8 form-encoded Alipay notification") from None
    fields: dict[str, str] = {}
    for key, value in pairs:
        if key in fields:
            raise InvalidNotification(f"field {key!r} appears twice")
        fields[key] = value
    return fields
