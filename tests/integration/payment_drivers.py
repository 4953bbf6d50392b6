"""Drivers for payment tests across providers: each plays a provider's buyer and its notifier
against that provider's local fake, so one chaos test runs for every real gateway."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import requests

from marketcore.adapters.gateways.wechatpay.translation import out_trade_no
from marketcore.domain.payments.payments import Payment
from marketcore.domain.payments.provider import RawNotification
from marketcore.testing.fakes.alipay import FakeAlipay
from marketcore.testing.fakes.stripe import FakeStripe
from marketcore.testing.fakes.wechatpay import FakeWeChatPay


class ProviderDriver(Protocol):
    code: str

    def options(self) -> dict[str, str]:
        """The gateway's settings (``MARKETCORE_<CODE>_<KEY>``), pointed at the fake."""
        ...

    def pay(self, payment: Payment) -> None:
        """The buyer pays the payment at the provider."""
        ...

    def overcharge(self, payment_id: str, amount: int) -> None:
        """Make the provider capture ``amount`` instead when the buyer pays."""
        ...

    def notifications(self, payment_id: str) -> list[RawNotification]:
        """Every distinct notification the provider sent about the payment, signed for delivery now."""
        ...

    def forged(self, payment_id: str) -> RawNotification:
        """A success notification for the payment that the provider did not sign."""
        ...

    def captured(self, payment_id: str) -> int:
        """What the provider captured for the payment, in minor units."""
        ...

    def refunded(self, payment_id: str) -> int:
        """What the provider has refunded of it, in minor units."""
        ...


class StripeDriver:
    code = "stripe"

    def __init__(self, fake: FakeStripe) -> None:
        self.fake = fake

    def options(self) -> dict[str, str]:
        return {
            "api_key": self.fake.api_key,
            "webhook_secret": self.fake.webhook_secret,
            "api_base": self.fake.url,
            "max_network_retries": "0",
            "timeout_seconds": "20",
        }

    def pay(self, payment: Payment) -> None:
        answer = requests.post(
            f"{self.fake.url}/v1/payment_intents/{payment.provider_reference}/confirm",
            data={
                "key": self.fake.publishable_key,
                "client_secret": payment.next_action.value,
                "payment_method": "pm_card_visa",
            },
            timeout=20,
        )
        assert answer.status_code == 200, answer.text

    def overcharge(self, payment_id: str, amount: int) -> None:
        self.fake.charge_instead(payment_id, amount)

    def notifications(self, payment_id: str) -> list[RawNotification]:
        return [self.fake.deliver(json.dumps(event).encode()) for event in self.fake.events_for(payment_id)]

    def forged(self, payment_id: str) -> RawNotification:
        return self.fake.forged_notification_for(payment_id)

    def captured(self, payment_id: str) -> int:
        return int(self.fake.intent_for(payment_id).get("amount_received") or 0)

    def refunded(self, payment_id: str) -> int:
        charge = self.fake.intent_for(payment_id).get("latest_charge")
        return int(self.fake.charges[charge]["amount_refunded"]) if charge else 0


class AlipayDriver:
    code = "alipay"

    def __init__(self, fake: FakeAlipay) -> None:
        self.fake = fake

    def options(self) -> dict[str, str]:
        return {
            "app_id": self.fake.app_id,
            "app_private_key": self.fake.app_private_key,
            "alipay_public_key": self.fake.alipay_public_key,
            "gateway_url": self.fake.gateway_url,
            "notify_url": "https://shop.example.cn/api/v1/webhooks/payments/alipay",
            "timeout_seconds": "20",
        }

    def pay(self, payment: Payment) -> None:
        assert payment.next_action.value, payment
        self.fake.pay(self.fake.scan(payment.next_action.value))

    def overcharge(self, payment_id: str, amount: int) -> None:
        self.fake.charge_instead(payment_id, amount)

    def notifications(self, payment_id: str) -> list[RawNotification]:
        return self.fake.notifications_for(payment_id)

    def forged(self, payment_id: str) -> RawNotification:
        return self.fake.forged_notification_for(payment_id)

    def captured(self, payment_id: str) -> int:
        trade = self.fake.trades[payment_id]
        return trade.total if trade.state in ("TRADE_SUCCESS", "TRADE_FINISHED") else 0

    def refunded(self, payment_id: str) -> int:
        return self.fake.trades[payment_id].refunded


class WeChatPayDriver:
    code = "wechatpay"

    def __init__(self, fake: FakeWeChatPay) -> None:
        self.fake = fake

    def options(self) -> dict[str, str]:
        return self.fake.options()

    def pay(self, payment: Payment) -> None:
        assert payment.next_action.value, payment
        self.fake.pay(payment.next_action.value)

    def overcharge(self, payment_id: str, amount: int) -> None:
        self.fake.charge_instead(payment_id, amount)

    def notifications(self, payment_id: str) -> list[RawNotification]:
        return self.fake.notifications_for(payment_id)

    def forged(self, payment_id: str) -> RawNotification:
        return self.fake.forged_notification_for(payment_id)

    def _order(self, payment_id: str) -> Any:
        return self.fake.orders[out_trade_no(payment_id)]

    def captured(self, payment_id: str) -> int:
        order = self._order(payment_id)
        return int(order.total) if order.state in ("SUCCESS", "REFUND") else 0

    def refunded(self, payment_id: str) -> int:
        return int(self._order(payment_id).refunded)


@contextmanager
def stripe_driver() -> Iterator[ProviderDriver]:
    with FakeStripe() as fake:
        yield StripeDriver(fake)


@contextmanager
def alipay_driver() -> Iterator[ProviderDriver]:
    with FakeAlipay() as fake:
        yield AlipayDriver(fake)


@contextmanager
def wechatpay_driver() -> Iterator[ProviderDriver]:
    with FakeWeChatPay() as fake:
        yield WeChatPayDriver(fake)


DRIVERS = {"stripe": stripe_driver, "alipay": alipay_driver, "wechatpay": wechatpay_driver}
