"""A local Stripe: the v1 PaymentIntents and Refunds API and signed webhooks, in memory.

It speaks what the SDK sends (form-encoded bodies with ``a[b]`` keys, Bearer auth, the
``Idempotency-Key`` header) and answers with Stripe's JSON objects and error bodies, so the
adapter's real SDK calls are what gets tested. Stripe does not sign API responses (TLS
authenticates them); it signs webhooks, and so does this fake (``Stripe-Signature``).

Drive it from tests and chaos runs::

    with FakeStripe() as fake:
        gateway = StripeGateway(fake.config())
        started = gateway.create(request)
        fake.pay(started.provider_reference)              # the buyer pays (or: the harness's pay)
        raw = fake.notification_for(request.payment_id)  # the signed payment_intent.succeeded
        fake.fail_next(2, status=503)                    # the next two API calls fail
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

import attrs
import requests

from marketcore.adapters.gateways.stripe import StripeConfig, StripeGateway
from marketcore.application.payments.ports import PaymentGateway
from marketcore.domain.payments.payments import PaymentRequest, PaymentStarted
from marketcore.domain.payments.provider import RawNotification
from marketcore.domain.shared.money import Currency
from marketcore.testing.fakes.network import closed_address

__all__ = ["FakeStripe", "StripeHarness", "closed_address", "form_decode", "sign"]

API_VERSION = "2026-06-24.dahlia"
MAX_AMOUNT = 99_999_999  # eight digits, Stripe's limit for two-decimal currencies
# Stripe's published minimums; CNY is not in its table (it settles elsewhere), 0.50 is assumed.
MINIMUM_CHARGE = {"usd": 50, "eur": 50, "gbp": 30, "cny": 50, "jpy": 50, "hkd": 400, "sgd": 50}
CURRENCIES = frozenset(MINIMUM_CHARGE) | {"aud", "cad", "chf", "krw", "twd"}
_SYMBOL = {"usd": "$", "eur": "€", "gbp": "£", "cny": "¥", "jpy": "¥"}
ZERO_DECIMAL = frozenset({"jpy", "krw"})

SUCCEEDING_METHODS = frozenset({"pm_card_visa", "pm_card_mastercard", "pm_card_amex", "pm_card_us"})
DECLINING_METHODS = {
    "pm_card_visa_chargeDeclined": ("card_declined", "generic_decline", "Your card was declined."),
    "pm_card_chargeDeclinedInsufficientFunds": (
        "card_declined",
        "insufficient_funds",
        "Your card has insufficient funds.",
    ),
}
AUTHENTICATING_METHODS = frozenset({"pm_card_authenticationRequired", "pm_card_threeDSecure2Required"})


class StripeApiError(Exception):
    """An error answer, shaped like Stripe's ``{"error": {...}}``."""

    def __init__(
        self, status: int, kind: str, message: str, *, code: str | None = None, **extra: Any
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"type": kind, "message": message, **extra}
        if code:
            self.body["code"] = code
            self.body["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"


def _invalid(
    message: str, *, param: str | None = None, code: str | None = None, status: int = 400
) -> StripeApiError:
    extra = {"param": param} if param else {}
    return StripeApiError(status, "invalid_request_error", message, code=code, **extra)


def _missing(kind: str, ident: str, param: str) -> StripeApiError:
    return _invalid(f"No such {kind}: '{ident}'", param=param, code="resource_missing", status=404)


def _new_id(prefix: str) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return prefix + "".join(secrets.choice(alphabet) for _ in range(24))


def _display(amount: int, currency: str) -> str:
    symbol = _SYMBOL.get(currency, "")
    if currency in ZERO_DECIMAL:
        return f"{symbol}{amount:,}"
    return f"{symbol}{amount // 100:,}.{amount % 100:02d}"


def form_decode(body: str) -> dict[str, Any]:
    """Stripe's form encoding back to nested values: ``metadata[k]=v`` is a dict, indexed
    ``list[0]=a`` (or ``list[]=a``) a list; scalars stay strings."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        names = [key.split("[", 1)[0], *re.findall(r"\[([^\]]*)\]", key)]
        node = root
        for name in names[:-1]:
            node = node.setdefault(name or str(len(node)), {})
            if not isinstance(node, dict):
                raise _invalid(f"Invalid hash: {key}", param=names[0])
        node[names[-1] or str(len(node))] = value
    return {key: _listify(value) for key, value in root.items()}


def _listify(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    items = {key: _listify(inner) for key, inner in value.items()}
    if items and all(key.isdigit() for key in items):
        return [items[key] for key in sorted(items, key=int)]
    return items


def _integer(params: Mapping[str, Any], name: str, *, required: bool) -> int | None:
    text = params.get(name)
    if text is None:
        if required:
            raise _invalid(f"Missing required param: {name}.", param=name, code="parameter_missing")
        return None
    if not isinstance(text, str) or not re.fullmatch(r"-?\d+", text):
        raise _invalid(f"Invalid integer: {text}", param=name, code="parameter_invalid_integer")
    return int(text)


def _boolean(params: Mapping[str, Any], name: str) -> bool | None:
    text = params.get(name)
    if text is None:
        return None
    if not isinstance(text, str) or text.lower() not in ("true", "false"):
        raise _invalid(f"Invalid boolean: {text}", param=name)
    return text.lower() == "true"


def _metadata(params: Mapping[str, Any]) -> dict[str, str]:
    metadata = params.get("metadata", {})
    if metadata == "":
        return {}
    if not isinstance(metadata, dict):
        raise _invalid("Invalid object", param="metadata")
    if len(metadata) > 50:
        raise _invalid("You can specify up to 50 keys in metadata.", param="metadata")
    for key, value in metadata.items():
        if len(key) > 40:
            raise _invalid(
                f"Metadata key too long: {key}. Keys can be up to 40 characters.", param="metadata"
            )
        if not isinstance(value, str) or len(value) > 500:
            raise _invalid(
                f"Invalid metadata value for {key}: up to 500 characters.", param=f"metadata[{key}]"
            )
    return dict(metadata)


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    """The ``Stripe-Signature`` header: ``t=<unix>,v1=hex(HMAC-SHA256(secret, "<t>.<body>"))``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@attrs.define
class _Event:
    payment_id: str | None
    type: str
    body: bytes


@attrs.define
class _Answer:
    status: int
    body: bytes
    headers: dict[str, str] = attrs.Factory(dict)


class FakeStripe:
    """Stripe's API and webhook signer on ``127.0.0.1:<free port>``, in a daemon thread."""

    def __init__(
        self,
        *,
        api_key: str = "sk_test_mc_fake_51Nq0marketcore",
        publishable_key: str = "pk_test_mc_fake_51Nq0marketcore",
        webhook_secret: str = "whsec_test_mc_fake_5f2c1d9e8a7b4c3d",
    ) -> None:
        self.api_key = api_key
        self.publishable_key = publishable_key
        self.webhook_secret = webhook_secret
        self.intents: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.charges: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str, dict[str, str], str]] = []  # method, path, headers, body
        self.settle_refunds_later = False  # True: refunds start pending, like some bank transfers
        self._events: list[_Event] = []
        self._idempotent: dict[tuple[str, str], tuple[tuple[Any, ...], _Answer]] = {}
        self._amount_overrides: dict[str, int] = {}
        self._faults: list[tuple[str, float]] = []
        self._canned: list[_Answer] = []
        self._request_context: tuple[str | None, str | None] = (None, None)  # for events' "request"
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

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
            target=server.serve_forever, args=(0.05,), name="fake-stripe", daemon=True
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

    def config(self, **overrides: Any) -> StripeConfig:
        """A gateway config pointed at this fake: no SDK retries, short timeout."""
        values: dict[str, Any] = {
            "api_key": self.api_key,
            "webhook_secret": self.webhook_secret,
            "api_base": self.url,
            "timeout_seconds": 5.0,
            "max_network_retries": 0,
        }
        return StripeConfig(**(values | overrides))

    # -- the buyer and the provider's operations staff ------------------------------------

    def pay(self, intent_id: str, payment_method: str = "pm_card_visa") -> dict[str, Any]:
        """The buyer confirms with a test PaymentMethod (``pm_card_visa`` pays,
        ``pm_card_visa_chargeDeclined`` is declined, ``pm_card_authenticationRequired`` asks
        for 3-D Secure, finished with ``authenticate``). Returns the PaymentIntent."""
        with self._lock:
            try:
                return self._confirm(self._intent(intent_id), {"payment_method": payment_method})
            except StripeApiError as error:
                return {"error": error.body}

    def authenticate(self, intent_id: str, *, passed: bool = True) -> dict[str, Any]:
        """The buyer finishes (or fails) the 3-D Secure challenge."""
        with self._lock:
            intent = self._intent(intent_id)
            if intent["status"] != "requires_action":
                raise ValueError(f"{intent_id} is {intent['status']}")
            intent["next_action"] = None
            if passed:
                self._capture(intent)
            else:
                self._decline(intent, "authentication_required", None, "The card was not authenticated.")
            return dict(intent)

    def cancel(self, intent_id: str, reason: str = "abandoned") -> dict[str, Any]:
        with self._lock:
            return self._cancel(self._intent(intent_id), {"cancellation_reason": reason})

    def charge_instead(self, payment_id: str, amount: int) -> None:
        """Make Stripe capture ``amount`` instead of what the PaymentIntent asks when the buyer
        pays our payment: queries and webhooks then report it, for mismatch tests."""
        with self._lock:
            self._amount_overrides[payment_id] = amount

    def settle_refund(self, refund_id: str, *, succeeded: bool = True) -> dict[str, Any]:
        """Finish a pending refund; a failed one gives its amount back to the charge."""
        with self._lock:
            refund = self.refunds[refund_id]
            if refund["status"] != "pending":
                raise ValueError(f"{refund_id} is {refund['status']}")
            if succeeded:
                refund["status"] = "succeeded"
                self._emit("refund.updated", refund, {"status": "pending"})
            else:
                refund["status"] = "failed"
                refund["failure_reason"] = "lost_or_stolen_card"
                charge = self.charges[refund["charge"]]
                charge["amount_refunded"] -= refund["amount"]
                charge["refunded"] = False
                self._emit("refund.failed", refund, {"status": "pending"})
            return dict(refund)

    def intent_for(self, payment_id: str) -> dict[str, Any]:
        with self._lock:
            found = [i for i in self.intents.values() if i["metadata"].get("payment_id") == payment_id]
            if not found:
                raise LookupError(f"no PaymentIntent for payment {payment_id}")
            return dict(found[-1])

    # -- faults ----------------------------------------------------------------------------

    def fail_next(self, count: int = 1, *, status: int = 500) -> None:
        """The next ``count`` API requests answer ``status``: 5xx api_error, 429 rate limit, or
        402 card_declined (what an issuer's refusal looks like on any call)."""
        with self._lock:
            self._faults.extend([("status", float(status))] * count)

    def stall_next(self, seconds: float, count: int = 1) -> None:
        """The next requests wait ``seconds`` before being handled (client timeouts)."""
        with self._lock:
            self._faults.extend([("stall", seconds)] * count)

    def garble_next(self, count: int = 1) -> None:
        """The next answers are 200 with a body that is not JSON (a broken proxy, say)."""
        with self._lock:
            self._faults.extend([("garble", 0.0)] * count)

    def answer_next(self, payload: Mapping[str, Any], status: int = 200) -> None:
        """The next request is answered with ``payload`` as JSON, whatever it asked: a proxy
        or a misrouted account answering with someone else's object."""
        with self._lock:
            self._canned.append(_Answer(status, json.dumps(payload).encode()))
            self._faults.append(("canned", 0.0))

    # -- webhooks --------------------------------------------------------------------------

    def events_for(self, payment_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [json.loads(e.body) for e in self._events if e.payment_id == payment_id]

    def notification_for(
        self,
        payment_id: str,
        event_type: str | None = None,
        *,
        signed_at: int | None = None,
        received_at: datetime | None = None,
        secret: str | None = None,
    ) -> RawNotification:
        """The latest event about our payment (of ``event_type`` if given), delivered now:
        the stored body, signed at delivery as Stripe does on every attempt."""
        with self._lock:
            events = [
                e
                for e in self._events
                if e.payment_id == payment_id and (event_type is None or e.type == event_type)
            ]
        if not events:
            raise LookupError(f"no {event_type or 'event'} for payment {payment_id}")
        return self.deliver(events[-1].body, signed_at=signed_at, received_at=received_at, secret=secret)

    def forged_notification_for(self, payment_id: str) -> RawNotification:
        """A ``payment_intent.succeeded`` for the payment, signed with a secret that is not ours."""
        intent = self.intent_for(payment_id) | {"status": "succeeded"}
        intent["amount_received"] = intent["amount"]
        body = self._event_body("payment_intent.succeeded", intent, None)
        return self.deliver(body, secret="whsec_" + secrets.token_hex(16))

    def deliver(
        self,
        body: bytes,
        *,
        signed_at: int | None = None,
        received_at: datetime | None = None,
        secret: str | None = None,
    ) -> RawNotification:
        timestamp = int(time.time()) if signed_at is None else signed_at
        headers = {
            "content-type": "application/json; charset=utf-8",
            "stripe-signature": sign(body, secret or self.webhook_secret, timestamp),
            "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        }
        return RawNotification(headers, body, received_at or datetime.now(UTC))

    # -- the API ---------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: str) -> _Answer:
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
        elif fault is not None:
            status = int(fault[1])
            if status == 402:
                error = StripeApiError(
                    402,
                    "card_error",
                    "Your card was declined.",
                    code="card_declined",
                    decline_code="generic_decline",
                )
            elif status == 429:
                error = _invalid("Too many requests hit the API too quickly.", code="rate_limit", status=429)
            else:
                error = StripeApiError(status, "api_error", "An unknown error occurred")
            return self._error(error)
        with self._lock:
            try:
                return self._handle(method, target, headers, body)
            except StripeApiError as error:
                return self._error(error)

    def _handle(self, method: str, target: str, headers: Mapping[str, str], body: str) -> _Answer:
        url = urlsplit(target)
        params = form_decode(body if method == "POST" else url.query)
        key = self._authenticate(headers, params)
        if (
            method == "POST"
            and body
            and not headers.get("content-type", "").startswith("application/x-www-form-urlencoded")
        ):
            raise _invalid("Invalid request: POST bodies must be application/x-www-form-urlencoded.")
        idempotency_key = headers.get("idempotency-key") if method == "POST" else None
        fingerprint = (method, url.path, tuple(sorted(parse_qsl(body, keep_blank_values=True))))
        if idempotency_key is not None:
            if len(idempotency_key) > 255:
                raise _invalid("Idempotency-Key is too long; it can be at most 255 characters.")
            saved = self._idempotent.get((key, idempotency_key))
            if saved is not None:
                if saved[0] != fingerprint:
                    raise StripeApiError(
                        400,
                        "idempotency_error",
                        "Keys for idempotent requests can only be used with the same parameters they were "
                        f"first used with. Try using a key other than '{idempotency_key}' if you meant to "
                        "execute a different request.",
                    )
                replay = saved[1]
                return _Answer(replay.status, replay.body, replay.headers | {"Idempotent-Replayed": "true"})
        self._request_context = (f"req_{secrets.token_hex(7)}", idempotency_key)
        try:
            status, payload = self._route(method, url.path, params, publishable=key == self.publishable_key)
            answer = _Answer(status, json.dumps(payload).encode())
        except StripeApiError as error:
            answer = self._error(error)
        finally:
            self._request_context = (None, None)
        if idempotency_key is not None and answer.status != 400:
            # Stripe saves what an executed request answered (402s and 5xx too), not a request
            # refused by validation before it ran.
            self._idempotent[(key, idempotency_key)] = (fingerprint, answer)
        return answer

    def _authenticate(self, headers: Mapping[str, str], params: Mapping[str, Any]) -> str:
        authorization = headers.get("authorization", "")
        scheme, _, key = authorization.partition(" ")
        if not authorization and isinstance(params.get("key"), str):
            key = params["key"]  # Stripe.js sends the publishable key as a parameter
        elif authorization and scheme.lower() != "bearer":
            raise _invalid("Invalid authorization header; use Bearer auth.", status=401)
        if not key:
            raise _invalid(
                "You did not provide an API key. You need to provide your API key in the Authorization "
                "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
                status=401,
            )
        if key not in (self.api_key, self.publishable_key):
            masked = key[:8] + "*" * max(len(key) - 12, 0) + key[-4:] if len(key) > 12 else "****"
            raise _invalid(f"Invalid API Key provided: {masked}", status=401)
        return key

    def _route(
        self, method: str, path: str, params: dict[str, Any], *, publishable: bool
    ) -> tuple[int, dict[str, Any]]:
        parts = path.strip("/").split("/")
        if publishable:
            return self._route_publishable(method, parts, params)
        match method, parts:
            case "POST", ["v1", "payment_intents"]:
                return 200, self._create_intent(params)
            case "GET", ["v1", "payment_intents", "search"]:
                return 200, self._search(params)
            case "GET", ["v1", "payment_intents", intent_id]:
                return 200, dict(self._intent(intent_id))
            case "POST", ["v1", "payment_intents", intent_id, "confirm"]:
                return 200, self._confirm(self._intent(intent_id), params)
            case "POST", ["v1", "payment_intents", intent_id, "cancel"]:
                return 200, self._cancel(self._intent(intent_id), params)
            case "POST", ["v1", "refunds"]:
                return 200, self._create_refund(params)
            case "GET", ["v1", "refunds", refund_id]:
                if refund_id not in self.refunds:
                    raise _missing("refund", refund_id, "id")
                return 200, dict(self.refunds[refund_id])
        raise _invalid(f"Unrecognized request URL ({method}: {path}).", status=404)

    def _route_publishable(self, method: str, parts: list[str], params: dict[str, Any]) -> tuple[int, Any]:
        """What a browser may do with a publishable key: read and confirm its own PaymentIntent,
        proving it with the client secret."""
        match method, parts:
            case ("GET", ["v1", "payment_intents", intent_id]) | (
                "POST",
                ["v1", "payment_intents", intent_id, "confirm"],
            ):
                intent = self._intent(intent_id)
                if params.get("client_secret") != intent["client_secret"]:
                    raise _invalid(
                        "The client_secret provided does not match the client_secret associated with "
                        "the PaymentIntent.",
                        param="client_secret",
                    )
                if method == "GET":
                    return 200, dict(intent)
                return 200, self._confirm(intent, params)
        raise _invalid(
            "This API call cannot be made with a publishable API key. Please use a secret API key.",
            status=401,
        )

    def _create_intent(self, params: dict[str, Any]) -> dict[str, Any]:
        amount = _integer(params, "amount", required=True)
        currency = params.get("currency")
        if currency is None:
            raise _invalid("Missing required param: currency.", param="currency", code="parameter_missing")
        if currency not in CURRENCIES:
            raise _invalid(f"Invalid currency: {currency}.", param="currency")
        assert amount is not None
        minimum = MINIMUM_CHARGE.get(currency, 50)
        if amount < minimum:
            raise _invalid(
                f"Amount must be at least {_display(minimum, currency)} {currency}",
                param="amount",
                code="amount_too_small",
            )
        if amount > MAX_AMOUNT:
            raise _invalid(
                f"Amount must be no more than {_display(MAX_AMOUNT, currency)}",
                param="amount",
                code="amount_too_large",
            )
        metadata = _metadata(params)
        automatic = params.get("automatic_payment_methods")
        listed = params.get("payment_method_types") or params.get("allowed_payment_method_types")
        if automatic is not None and listed is not None:
            raise _invalid(
                "You may only specify one of these parameters: automatic_payment_methods, "
                "payment_method_types.",
                param="automatic_payment_methods",
            )
        enabled = _boolean(automatic, "enabled") if isinstance(automatic, dict) else None
        intent_id = _new_id("pi_")
        intent: dict[str, Any] = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_capturable": 0,
            "amount_received": 0,
            "automatic_payment_methods": {"enabled": True} if enabled else None,
            "canceled_at": None,
            "cancellation_reason": None,
            "capture_method": params.get("capture_method", "automatic"),
            "client_secret": f"{intent_id}_secret_{secrets.token_urlsafe(18)}",
            "confirmation_method": "automatic",
            "created": int(time.time()),
            "currency": currency,
            "description": params.get("description"),
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "metadata": metadata,
            "next_action": None,
            "payment_method": None,
            "payment_method_types": listed if isinstance(listed, list) else ["card", "link"],
            "status": "requires_payment_method",
        }
        self.intents[intent_id] = intent
        self._emit("payment_intent.created", intent)
        if _boolean(params, "confirm"):
            return self._confirm(intent, params)
        return dict(intent)

    def _search(self, params: dict[str, Any]) -> dict[str, Any]:
        query = params.get("query", "")
        match = re.fullmatch(r"\s*metadata\['([^']+)'\]\s*:\s*'([^']*)'\s*", query)
        if match is None:
            raise _invalid(f"Invalid search query: {query}", param="query")
        field, value = match.groups()
        found = [dict(i) for i in self.intents.values() if i["metadata"].get(field) == value]
        found.sort(key=lambda i: i["created"], reverse=True)
        limit = _integer(params, "limit", required=False) or 10
        return {
            "object": "search_result",
            "data": found[:limit],
            "has_more": len(found) > limit,
            "next_page": None,
            "url": "/v1/payment_intents/search",
        }

    def _intent(self, intent_id: str) -> dict[str, Any]:
        if intent_id not in self.intents:
            raise _missing("payment_intent", intent_id, "intent")
        return self.intents[intent_id]

    def _confirm(self, intent: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        if intent["status"] not in ("requires_payment_method", "requires_confirmation"):
            raise _invalid(
                f"You cannot confirm this PaymentIntent because it has a status of {intent['status']}.",
                code="payment_intent_unexpected_state",
            )
        method = params.get("payment_method") or intent["payment_method"]
        if not method:
            raise _invalid(
                "You cannot confirm this PaymentIntent because it's missing a payment method.",
                code="payment_intent_unexpected_state",
            )
        if method not in SUCCEEDING_METHODS | AUTHENTICATING_METHODS | set(DECLINING_METHODS):
            raise _missing("PaymentMethod", method, "payment_method")
        intent["payment_method"] = method
        intent["last_payment_error"] = None
        if method in DECLINING_METHODS:
            code, decline_code, message = DECLINING_METHODS[method]
            self._decline(intent, code, decline_code, message)
            raise StripeApiError(
                402,
                "card_error",
                message,
                code=code,
                decline_code=decline_code,
                param="",
                payment_intent=dict(intent),
            )
        if method in AUTHENTICATING_METHODS:
            intent["status"] = "requires_action"
            intent["next_action"] = {
                "type": "use_stripe_sdk",
                "use_stripe_sdk": {"type": "three_d_secure_redirect"},
            }
            self._emit("payment_intent.requires_action", intent)
            return dict(intent)
        if intent["capture_method"] == "manual":
            intent.update(status="requires_capture", amount_capturable=intent["amount"])
            self._emit("payment_intent.amount_capturable_updated", intent)
            return dict(intent)
        self._capture(intent)
        return dict(intent)

    def _capture(self, intent: dict[str, Any]) -> None:
        received = self._amount_overrides.get(intent["metadata"].get("payment_id", ""), intent["amount"])
        charge_id = _new_id("ch_")
        charge = {
            "id": charge_id,
            "object": "charge",
            "amount": received,
            "amount_captured": received,
            "amount_refunded": 0,
            "captured": True,
            "created": int(time.time()),
            "currency": intent["currency"],
            "livemode": False,
            "metadata": {},
            "paid": True,
            "payment_intent": intent["id"],
            "payment_method": intent["payment_method"],
            "refunded": False,
            "status": "succeeded",
        }
        self.charges[charge_id] = charge
        intent.update(status="succeeded", amount_received=received, latest_charge=charge_id, next_action=None)
        self._emit("charge.succeeded", charge)
        self._emit("payment_intent.succeeded", intent)

    def _decline(self, intent: dict[str, Any], code: str, decline_code: str | None, message: str) -> None:
        error = {"type": "card_error", "code": code, "message": message}
        if decline_code:
            error["decline_code"] = decline_code
        intent.update(status="requires_payment_method", last_payment_error=error, next_action=None)
        self._emit("payment_intent.payment_failed", intent)

    def _cancel(self, intent: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        if intent["status"] in ("succeeded", "canceled", "processing"):
            raise _invalid(
                "You cannot cancel this PaymentIntent because it has a status of "
                f"{intent['status']}. Only a PaymentIntent with one of the following statuses may be "
                "canceled: requires_payment_method, requires_capture, requires_confirmation, "
                "requires_action.",
                code="payment_intent_unexpected_state",
            )
        reason = params.get("cancellation_reason")
        if reason not in (None, "duplicate", "fraudulent", "requested_by_customer", "abandoned"):
            raise _invalid(f"Invalid cancellation_reason: {reason}", param="cancellation_reason")
        intent.update(status="canceled", canceled_at=int(time.time()), cancellation_reason=reason)
        self._emit("payment_intent.canceled", intent)
        return dict(intent)

    def _create_refund(self, params: dict[str, Any]) -> dict[str, Any]:
        intent_id, charge_id = params.get("payment_intent"), params.get("charge")
        if not intent_id and not charge_id:
            raise _invalid(
                "One of the following params should be provided for this request: payment_intent or charge."
            )
        if intent_id:
            if intent_id not in self.intents:
                raise _missing("payment_intent", str(intent_id), "payment_intent")
            intent = self.intents[str(intent_id)]
            if intent["status"] != "succeeded" or not intent["latest_charge"]:
                raise _invalid(
                    f"This PaymentIntent ({intent_id}) does not have a successful charge to refund.",
                    param="payment_intent",
                    code="charge_not_refundable" if intent["status"] == "succeeded" else None,
                )
            charge = self.charges[intent["latest_charge"]]
        else:
            if charge_id not in self.charges:
                raise _missing("charge", str(charge_id), "charge")
            charge = self.charges[str(charge_id)]
        unrefunded = charge["amount"] - charge["amount_refunded"]
        if unrefunded <= 0:
            raise _invalid(
                f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded"
            )
        amount = _integer(params, "amount", required=False)
        amount = unrefunded if amount is None else amount
        if amount <= 0:
            raise _invalid(f"Invalid positive integer: {amount}", param="amount")
        if amount > unrefunded:
            currency = charge["currency"]
            raise _invalid(
                f"Refund amount ({_display(amount, currency)}) is greater than unrefunded amount on "
                f"charge ({_display(unrefunded, currency)})",
                param="amount",
            )
        reason = params.get("reason")
        if reason not in (None, "duplicate", "fraudulent", "requested_by_customer"):
            raise _invalid(
                "Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer",
                param="reason",
            )
        refund = {
            "id": _new_id("re_"),
            "object": "refund",
            "amount": amount,
            "charge": charge["id"],
            "created": int(time.time()),
            "currency": charge["currency"],
            "failure_reason": None,
            "metadata": _metadata(params),
            "payment_intent": charge["payment_intent"],
            "reason": reason,
            "status": "pending" if self.settle_refunds_later else "succeeded",
        }
        self.refunds[refund["id"]] = refund
        previous = charge["amount_refunded"]
        charge["amount_refunded"] = previous + amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        self._emit("charge.refunded", charge, {"amount_refunded": previous})
        self._emit("refund.created", refund)
        return dict(refund)

    # -- events and answers ----------------------------------------------------------------

    def _payment_of(self, obj: Mapping[str, Any]) -> str | None:
        intent_id = obj["id"] if obj["object"] == "payment_intent" else obj.get("payment_intent")
        intent = self.intents.get(intent_id) if isinstance(intent_id, str) else None
        found = intent["metadata"].get("payment_id") if intent is not None else None
        return found if isinstance(found, str) else None

    def _emit(self, kind: str, obj: Mapping[str, Any], previous: Mapping[str, Any] | None = None) -> None:
        self._events.append(_Event(self._payment_of(obj), kind, self._event_body(kind, obj, previous)))

    def _event_body(self, kind: str, obj: Mapping[str, Any], previous: Mapping[str, Any] | None) -> bytes:
        request_id, idempotency_key = self._request_context
        data: dict[str, Any] = {"object": dict(obj)}
        if previous is not None:
            data["previous_attributes"] = dict(previous)
        event = {
            "id": _new_id("evt_"),
            "object": "event",
            "api_version": API_VERSION,
            "created": int(time.time()),
            "data": data,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": request_id, "idempotency_key": idempotency_key},
            "type": kind,
        }
        return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()

    @staticmethod
    def _error(error: StripeApiError) -> _Answer:
        return _Answer(error.status, json.dumps({"error": error.body}).encode())


class _Handler(BaseHTTPRequestHandler):
    server_version = "nginx"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def do_DELETE(self) -> None:
        self._answer("DELETE")

    def _answer(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", errors="replace") if length else ""
        headers = {name.lower(): value for name, value in self.headers.items()}
        fake: FakeStripe = self.server.fake  # type: ignore[attr-defined]
        answer = fake.handle(method, self.path, headers, body)
        try:
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.headers.get("Content-Type", "application/json"))
            self.send_header("Content-Length", str(len(answer.body)))
            self.send_header("Request-Id", f"req_{secrets.token_hex(7)}")
            self.send_header("Stripe-Version", headers.get("stripe-version", API_VERSION))
            for name, value in answer.headers.items():
                if name != "Content-Type":
                    self.send_header(name, value)
            self.end_headers()
            self.wfile.write(answer.body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: requests are kept in ``FakeStripe.requests`` instead."""


class StripeHarness:
    """``GatewayHarness`` over a ``FakeStripe``: the buyer pays as Stripe.js does, with the
    publishable key and the client secret; notifications come from the fake's event log."""

    def __init__(self, fake: FakeStripe, currency: Currency = Currency.USD, **config: Any) -> None:
        self.fake = fake
        self.currency = currency
        self.gateway: PaymentGateway = StripeGateway(fake.config(**config))

    def pay(
        self, request: PaymentRequest, started: PaymentStarted, payment_method: str = "pm_card_visa"
    ) -> None:
        answer = requests.post(
            f"{self.fake.url}/v1/payment_intents/{started.provider_reference}/confirm",
            data={
                "key": self.fake.publishable_key,
                "client_secret": started.next_action.value,
                "payment_method": payment_method,
            },
            timeout=5,
        )
        if answer.status_code != 200 or answer.json().get("status") != "succeeded":
            raise AssertionError(f"the buyer could not pay: {answer.status_code} {answer.text}")

    def notification(self, payment_id: str) -> RawNotification:
        return self.fake.notification_for(payment_id)

    def forged_notification(self, payment_id: str) -> RawNotification:
        return self.fake.forged_notification_for(payment_id)

    def unreachable(self) -> PaymentGateway:
        return StripeGateway(self.fake.config(api_base=closed_address(), timeout_seconds=2.0))
