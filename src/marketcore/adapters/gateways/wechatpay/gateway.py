"""The WeChat Pay gateway: API v3 Native orders, refunds and signed, encrypted callbacks.

Spoken with ``requests`` and ``cryptography`` (docs/gateways/wechatpay.md says why not the
``wechatpayv3`` SDK). Every request is signed with the merchant key; every answer we act on,
refusals included, must carry WeChat Pay's signature, fresh, by the configured key. Idempotency
is WeChat's own: the order number derives from our payment id and the refund number is our
refund id, so a retry after a timeout finds the first order or refund instead of making another.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar, TypeVar

import requests

from marketcore.adapters.gateways.wechatpay.config import WeChatPayConfig
from marketcore.adapters.gateways.wechatpay.signing import (
    authorization,
    check_signed,
    decrypt,
    load_private_key,
    load_public_key,
    same_key_id,
)
from marketcore.adapters.gateways.wechatpay.translation import (
    PAYMENT_EVENTS,
    REFUND_EVENTS,
    REFUND_STATUS,
    changes_from,
    money,
    out_trade_no,
    payment_from_transaction,
    refund_failure,
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
from marketcore.domain.shared.errors import InvalidInput
from marketcore.domain.shared.money import Currency

T = TypeVar("T")

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")  # WeChat Pay writes times at +08:00
USER_AGENT = f"marketcore-wechatpay/1 python-requests/{requests.__version__}"  # WeChat requires one
# Refusals that are WeChat's infrastructure or our credentials, not a decision about the payment.
NOT_BUSINESS = frozenset({"SYSTEM_ERROR", "BANK_ERROR", "SIGN_ERROR", "FREQUENCY_LIMITED"})


class WeChatPayGateway:
    code: ClassVar[str] = "wechatpay"
    pays_on_delivery: ClassVar[bool] = False
    # §3.5: WeChat Pay takes HTTP 200 or 204 without a body as "received"; the status is what counts.
    acknowledgement: ClassVar[NotificationReply] = NotificationReply(200, b"")

    def __init__(self, config: WeChatPayConfig, *, clock: Callable[[], float] = time.time) -> None:
        self._config = config
        self._key = load_private_key(config.merchant_private_key, "wechatpay_merchant_private_key")
        self._platform_key, serial = load_public_key(
            config.platform_public_key, "wechatpay_platform_public_key"
        )
        if serial is not None and not same_key_id(serial, config.platform_public_key_id):
            raise InvalidInput(
                "wechatpay_platform_public_key_id", f"must be the certificate's serial {serial}"
            )
        self._apiv3_key = config.apiv3_key.encode()
        if len(self._apiv3_key) != 32:
            raise InvalidInput("wechatpay_apiv3_key", "must be exactly 32 ASCII characters")
        self._clock = clock
        self._local = threading.local()  # one requests.Session per thread: sessions are not thread-safe

    def __repr__(self) -> str:
        return f"WeChatPayGateway({self._config!r})"

    def create(self, request: PaymentRequest) -> PaymentStarted | PaymentDeclined:
        """A Native order: WeChat answers with the ``code_url`` the buyer scans. Re-sending the
        same order returns the same ``code_url``; an order already paid is reported as started,
        with nothing left for the buyer to do, for the callback or a query to settle."""
        if request.amount.currency is not Currency.CNY:
            return PaymentDeclined(f"WeChat Pay charges in CNY only, not {request.amount.currency}")
        number = out_trade_no(request.payment_id)
        order: dict[str, Any] = {
            "appid": self._config.appid,
            "mchid": self._config.mchid,
            "description": _clip(request.description, 127) or f"payment {request.payment_id}",
            "out_trade_no": number,
            "notify_url": self._config.notify_url,
            "amount": {"total": request.amount.amount, "currency": "CNY"},
        }
        if request.expires_at is not None:
            order["time_expire"] = rfc3339(request.expires_at)
        status, answer = self._call("POST", "/v3/pay/transactions/native", order)
        if status >= 400:
            if answer.get("code") == "ORDERPAID":
                return PaymentStarted(number, NextAction(NextActionKind.NONE), PaymentStatus.PENDING)
            return PaymentDeclined(_refusal(answer))
        code_url = answer.get("code_url")
        if not isinstance(code_url, str) or not code_url.startswith("weixin://"):
            raise GatewayUnavailable("WeChat Pay answered the order without a code_url")
        return PaymentStarted(
            number, NextAction(NextActionKind.QR_CODE, code_url), PaymentStatus.REQUIRES_ACTION
        )

    def query(self, query: PaymentQuery) -> ProviderPayment:
        """By our order number (``provider_reference`` is not needed); an order WeChat never
        made (``create`` never reached it) reads as PENDING."""
        found = self._transaction(query.payment_id)
        return found or ProviderPayment(query.payment_id, ProviderStatus.PENDING)

    def refund(self, request: RefundRequest) -> RefundAccepted | RefundDeclined:
        """WeChat wants the order's total beside the refund, which the request does not carry:
        the order is queried first, which also refuses refunds of orders not paid."""
        if request.amount.currency is not Currency.CNY:
            return RefundDeclined(f"WeChat Pay refunds in CNY only, not {request.amount.currency}")
        paid = self._transaction(request.payment_id)
        if paid is None:
            return RefundDeclined(f"WeChat Pay has no order for payment {request.payment_id}")
        if paid.status is not ProviderStatus.SUCCEEDED or paid.amount is None:
            return RefundDeclined(f"the WeChat Pay order is not paid ({paid.failure_reason or paid.status})")
        number = out_trade_no(request.payment_id)
        body: dict[str, Any] = {
            "out_trade_no": number,
            "out_refund_no": request.refund_id,
            "notify_url": self._config.notify_url,
            "amount": {"refund": request.amount.amount, "total": paid.amount.amount, "currency": "CNY"},
        }
        if reason := _clip(request.reason, 80):
            body["reason"] = reason
        status, answer = self._call("POST", "/v3/refund/domestic/refunds", body)
        if status >= 400:
            return RefundDeclined(_refusal(answer))
        if answer.get("out_refund_no") != request.refund_id or answer.get("out_trade_no") != number:
            raise GatewayUnavailable("WeChat Pay answered with a refund that is not this refund")
        refunded = _answered(lambda: money(answer.get("amount"), "refund"))
        if refunded != request.amount:
            raise GatewayUnavailable(f"WeChat Pay refunded {refunded}, not {request.amount}")
        reference, state = answer.get("refund_id"), answer.get("status")
        if not isinstance(reference, str) or not reference or state not in REFUND_STATUS:
            raise GatewayUnavailable(f"unusable refund from WeChat Pay (status {state!r})")
        outcome = REFUND_STATUS[str(state)]
        if outcome is RefundStatus.FAILED:
            return RefundDeclined(refund_failure(str(state)) or str(state))
        return RefundAccepted(reference, outcome)

    def parse_notification(self, raw: RawNotification) -> Notification:
        """Verify the callback's signature over the raw body with WeChat Pay's key, and its
        timestamp against when we received it (not the clock at parsing, so a stored callback
        parses the same later); then decrypt ``resource`` with the APIv3 key. Event types we do
        not act on are accepted unopened, with no changes."""
        headers = {name.lower(): value for name, value in raw.headers.items()}
        try:
            self._check_signed(headers, raw.body, raw.received_at.timestamp())
        except ValueError as error:
            raise InvalidNotification(f"WeChat Pay callback: {error}") from None
        try:
            event = json.loads(raw.body)
        except ValueError:
            raise InvalidNotification("not a WeChat Pay callback: the body is not JSON") from None
        event_id = event.get("id") if isinstance(event, dict) else None
        event_type = event.get("event_type") if isinstance(event, dict) else None
        if not isinstance(event_id, str) or not event_id or not isinstance(event_type, str):
            raise InvalidNotification("not a WeChat Pay callback: no id or event_type")
        if event_type not in PAYMENT_EVENTS and event_type not in REFUND_EVENTS:
            return Notification(event_id)
        try:
            resource = self._open(event)
            return Notification(event_id, changes_from(event_type, resource, self._config.mchid))
        except ValueError as error:
            raise InvalidNotification(f"callback {event_id}: {error}") from None

    # -- the wire ------------------------------------------------------------------------------

    def _transaction(self, payment_id: str) -> ProviderPayment | None:
        number = out_trade_no(payment_id)
        status, answer = self._call(
            "GET", f"/v3/pay/transactions/out-trade-no/{number}?mchid={self._config.mchid}"
        )
        if status >= 400:
            if answer.get("code") == "ORDER_NOT_EXIST":
                return None
            raise GatewayUnavailable(f"WeChat Pay refused the query: {_refusal(answer)}")
        seen = _answered(lambda: payment_from_transaction(answer, self._config.mchid))
        if seen is None or seen.payment_id != payment_id:
            raise GatewayUnavailable(
                f"WeChat Pay answered about order {answer.get('out_trade_no')!r}, not {number}"
            )
        return seen

    def _call(
        self, method: str, url: str, payload: Mapping[str, Any] | None = None
    ) -> tuple[int, dict[str, Any]]:
        """Send a signed request; return the status and JSON object of a signed 2xx or 4xx
        answer that is a business outcome. Anything else raises ``GatewayUnavailable``."""
        body = (
            b""
            if payload is None
            else json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        )
        headers = {
            "Authorization": authorization(
                method=method,
                url=url,
                body=body,
                mchid=self._config.mchid,
                serial_no=self._config.merchant_serial_no,
                key=self._key,
                timestamp=int(self._clock()),
                nonce=secrets.token_hex(16).upper(),
            ),
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
            "Wechatpay-Serial": self._config.platform_public_key_id,
        }
        if payload is not None:
            headers["Content-Type"] = "application/json"
        try:
            response = self._session().request(
                method,
                self._config.api_base + url,
                data=body or None,
                headers=headers,
                timeout=self._config.timeout_seconds,
                allow_redirects=False,
            )
        except requests.RequestException as error:
            raise GatewayUnavailable(f"WeChat Pay could not be reached: {type(error).__name__}") from error
        status, content = response.status_code, response.content
        if not (200 <= status < 300 or 400 <= status < 500) or status in (401, 429):
            raise GatewayUnavailable(f"WeChat Pay answered HTTP {status}{_code_in(content)}")
        try:
            self._check_signed({k.lower(): v for k, v in response.headers.items()}, content, self._clock())
        except ValueError as error:
            raise GatewayUnavailable(f"WeChat Pay answer (HTTP {status}) refused: {error}") from None
        try:
            answer = json.loads(content) if content else {}
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise GatewayUnavailable(
                f"WeChat Pay answered HTTP {status} with a body that is not a JSON object"
            )
        if status >= 400 and (answer.get("code") in NOT_BUSINESS or not isinstance(answer.get("code"), str)):
            raise GatewayUnavailable(f"WeChat Pay: {_refusal(answer)} (HTTP {status})")
        return status, answer

    def _check_signed(self, headers: Mapping[str, str], body: bytes, now: float) -> None:
        check_signed(
            headers,
            body,
            key=self._platform_key,
            key_id=self._config.platform_public_key_id,
            now=now,
            tolerance=self._config.timestamp_tolerance_seconds,
        )

    def _open(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """The decrypted ``resource`` of a callback, as a JSON object."""
        resource = event.get("resource")
        if event.get("resource_type") != "encrypt-resource" or not isinstance(resource, Mapping):
            raise ValueError("no encrypted resource")
        if resource.get("algorithm") != "AEAD_AES_256_GCM":
            raise ValueError(f"unsupported algorithm {resource.get('algorithm')!r}")
        nonce, ciphertext = resource.get("nonce"), resource.get("ciphertext")
        associated_data = resource.get("associated_data") or ""
        if (
            not isinstance(nonce, str)
            or not isinstance(ciphertext, str)
            or not isinstance(associated_data, str)
        ):
            raise ValueError("the resource lacks nonce or ciphertext")
        plaintext = decrypt(self._apiv3_key, nonce, ciphertext, associated_data)
        try:
            opened = json.loads(plaintext)
        except ValueError:
            raise ValueError("the decrypted resource is not JSON") from None
        if not isinstance(opened, dict):
            raise ValueError("the decrypted resource is not a JSON object")
        return opened

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session


def rfc3339(moment: datetime) -> str:
    """``time_expire`` as WeChat Pay writes times: seconds, at +08:00."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidInput("expires_at", "must carry a time zone")
    return moment.astimezone(CHINA).replace(microsecond=0).isoformat()


def _clip(text: str, limit: int) -> str:
    """At most ``limit`` UTF-8 bytes, cut between characters: within WeChat's limit whether it
    counts bytes or characters."""
    return text.strip().encode()[:limit].decode(errors="ignore")


def _refusal(answer: Mapping[str, Any]) -> str:
    """WeChat's code and message, with the field at fault when it names one."""
    code, message = answer.get("code"), answer.get("message")
    detail = answer.get("detail")
    field = detail.get("field") if isinstance(detail, Mapping) else None
    text = f"{code}: {message}" if message else str(code)
    return f"{text} ({field})" if isinstance(field, str) and field else text


def _code_in(content: bytes) -> str:
    """An unsigned error answer's code, for the log line only; nothing acts on it."""
    try:
        answer = json.loads(content)
    except ValueError:
        return ""
    return (
        f" {answer.get('code')}" if isinstance(answer, dict) and isinstance(answer.get("code"), str) else ""
    )


def _answered(read: Callable[[], T]) -> T:
    """Read WeChat's answer; an answer that cannot be ours is not a result we can act on."""
    try:
        return read()
    except ValueError as error:
        raise GatewayUnavailable(f"unusable answer from WeChat Pay: {error}") from None
