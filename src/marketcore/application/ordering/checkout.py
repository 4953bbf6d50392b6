"""Checkout: the selected lines become one order per shop, paid by one payment.

Everything happens in one transaction: quote, risk, stock reservation (in SKU order, so concurrent
checkouts cannot deadlock), orders, cart clean-up. A retry with the same idempotency key returns
the first result; the same key with a different request is refused.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import attrs

from marketcore.application.ordering import flash_sale_lines
from marketcore.application.ordering.flash_sale_lines import NO_OFFERS, FlashSaleOffers
from marketcore.application.ordering.ports import OrderingUnitOfWork
from marketcore.application.payments.ports import PaymentGateway
from marketcore.application.risk.services import RiskEngine
from marketcore.application.shared.ids import new_id
from marketcore.application.shared.ports import Clock, UnitOfWorkFactory
from marketcore.application.shared.services import Service
from marketcore.domain.cart.carts import check_quantity
from marketcore.domain.inventory.stock import InsufficientStock
from marketcore.domain.ordering.orders import (
    AddressSnapshot,
    Checkout,
    LineDiscount,
    Order,
    OrderLine,
)
from marketcore.domain.promotions.pricing import PricingLine, PricingResult, ShopPricing, price
from marketcore.domain.promotions.rules import BuyerContext
from marketcore.domain.risk.rules import EventKind, RiskBlocked, RiskEvent, SubjectKind, Verdict
from marketcore.domain.shared.actors import Actor
from marketcore.domain.shared.deduction import DeductionMode
from marketcore.domain.shared.errors import (
    AlreadyExists,
    ConcurrencyConflict,
    Conflict,
    IdempotencyConflict,
    InvalidInput,
    NotFound,
)

MAX_LINES = 100
ATTEMPTS = 3  # a checkout that loses a race is retried whole, this many times in all


class SkuUnavailable(Conflict):
    code = "sku_unavailable"

    def __init__(self, sku_id: str) -> None:
        super().__init__(f"sku {sku_id} is not on sale")
        self.sku_id = sku_id


@attrs.frozen
class ItemRequest:
    sku_id: str
    quantity: int


@attrs.frozen
class QuotedLine:
    sku_id: str
    product_id: str
    title: str
    sku_code: str
    attributes: Mapping[str, str]
    deduction: DeductionMode


@attrs.frozen
class Quote:
    """What the buyer would pay: the pricing breakdown plus the catalog facts behind each line."""

    lines: Mapping[str, QuotedLine]
    pricing: PricingResult
    from_cart: bool
    flash_sales: FlashSaleOffers = NO_OFFERS  # the running sales it was priced with


@attrs.frozen
class CheckoutResult:
    checkout: Checkout
    orders: tuple[Order, ...]


class CheckoutService(Service[OrderingUnitOfWork]):
    def __init__(
        self,
        uow: UnitOfWorkFactory[OrderingUnitOfWork],
        clock: Clock,
        gateways: Mapping[str, PaymentGateway],
        risk: RiskEngine,
        payment_window: timedelta,
    ) -> None:
        super().__init__(uow, clock)
        self._gateways = gateways
        self._risk = risk
        self._payment_window = payment_window

    def preview(self, actor: Actor, address_id: str, items: Sequence[ItemRequest] | None = None) -> Quote:
        buyer_id = actor.require_user()
        with self._reader() as uow:
            self._address(uow, buyer_id, address_id)
            return self._quote(uow, buyer_id, items)

    def checkout(
        self,
        actor: Actor,
        address_id: str,
        payment_method: str,
        items: Sequence[ItemRequest] | None = None,
        idempotency_key: str | None = None,
    ) -> CheckoutResult:
        buyer_id = actor.require_user()
        gateway = self._gateways.get(payment_method)
        if gateway is None:
            raise InvalidInput("payment_method", f"one of {', '.join(sorted(self._gateways))}")
        fingerprint = _fingerprint(address_id, payment_method, items)
        if idempotency_key is not None and not 1 <= len(idempotency_key) <= 100:
            raise InvalidInput("Idempotency-Key", "must be 1 to 100 characters")
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return self._place(buyer_id, address_id, gateway, items, idempotency_key, fingerprint)
            except AlreadyExists:
                # A racing request with the same key committed first: the next attempt replays it.
                if idempotency_key is None or attempt == ATTEMPTS:
                    raise
            except ConcurrencyConflict:
                # Lost a race on a row (PostgreSQL deadlock victim): nothing was written; go again.
                if attempt == ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    @staticmethod
    def _replay(uow: OrderingUnitOfWork, buyer_id: str, key: str, fingerprint: str) -> CheckoutResult | None:
        checkout = uow.checkouts.get_by_idempotency_key(buyer_id, key)
        if checkout is None:
            return None
        if checkout.fingerprint != fingerprint:
            raise IdempotencyConflict("this Idempotency-Key was used with a different request")
        orders = uow.orders.for_checkout(checkout.id)
        return CheckoutResult(checkout, tuple(sorted(orders, key=lambda o: checkout.order_ids.index(o.id))))

    def _place(
        self,
        buyer_id: str,
        address_id: str,
        gateway: PaymentGateway,
        items: Sequence[ItemRequest] | None,
        idempotency_key: str | None,
        fingerprint: str,
    ) -> CheckoutResult:
        now = self._clock.now()
        with self._uow() as uow:
            if idempotency_key is not None:
                earlier = self._replay(uow, buyer_id, idempotency_key, fingerprint)
                if earlier is not None:
                    return earlier
            address = self._address(uow, buyer_id, address_id)
            quote = self._quote(uow, buyer_id, items)
            decision = self._risk.evaluate(
                uow,
                RiskEvent(
                    EventKind.CHECKOUT,
                    buyer_id,
                    now,
                    quote.pricing.total,
                    (
                        (SubjectKind.USER, buyer_id),
                        (SubjectKind.PHONE, address.phone),
                        (SubjectKind.ADDRESS, _address_fingerprint(address)),
                    ),
                ),
            )
            if decision.verdict is Verdict.BLOCK:
                uow.commit()  # keep the risk record: operators and velocity rules need it
                raise RiskBlocked()
            checkout_id = new_id()
            quantities = {p.line.key: p.line.quantity for s in quote.pricing.shops for p in s.lines}
            flash = flash_sale_lines.take_quota(
                uow, buyer_id, quote.flash_sales, quote, gateway.pays_on_delivery, now
            )
            self._hold_stock(uow, quote, flash.ordinary(quantities), f"checkout:{checkout_id}", now)
            flash.hold_stock(uow, f"checkout:{checkout_id}", now)
            orders = [
                self._order(checkout_id, buyer_id, shop, quote, address, gateway, now)
                for shop in quote.pricing.shops
            ]
            flash.mark(orders, now)
            checkout = Checkout(
                checkout_id,
                buyer_id=buyer_id,
                order_ids=[o.id for o in orders],
                amount_due=quote.pricing.total,
                payment_method=gateway.code,
                created_at=now,
                idempotency_key=idempotency_key,
                fingerprint=fingerprint,
            )
            uow.checkouts.add(checkout)
            for order in orders:
                uow.orders.add(order)
            if quote.from_cart:
                cart = uow.carts.get(buyer_id)
                if cart is not None:
                    cart.remove_ordered(quantities)
            uow.commit()
        return CheckoutResult(checkout, tuple(orders))

    def _order(
        self,
        checkout_id: str,
        buyer_id: str,
        shop: ShopPricing,
        quote: Quote,
        address: AddressSnapshot,
        gateway: PaymentGateway,
        now: datetime,
    ) -> Order:
        lines = []
        for priced in shop.lines:
            facts = quote.lines[priced.line.key]
            lines.append(
                OrderLine(
                    new_id(),
                    sku_id=facts.sku_id,
                    product_id=facts.product_id,
                    title=facts.title,
                    sku_code=facts.sku_code,
                    attributes=dict(facts.attributes),
                    unit_price=priced.line.unit_price,
                    quantity=priced.line.quantity,
                    discounts=[
                        LineDiscount(a.promotion_id, a.label, a.amount, str(a.funder))
                        for a in priced.allocations
                    ],
                    deduction=facts.deduction,
                )
            )
        return Order.place(
            new_id(),
            number=_order_number(now),
            checkout_id=checkout_id,
            buyer_id=buyer_id,
            shop_id=shop.shop_id,
            lines=lines,
            shipping_fee=shop.shipping,
            address=address,
            payment_method=gateway.code,
            pay_on_delivery=gateway.pays_on_delivery,
            payment_deadline=now + self._payment_window,
            at=now,
        )

    @staticmethod
    def _hold_stock(
        uow: OrderingUnitOfWork, quote: Quote, quantities: Mapping[str, int], reference: str, now: datetime
    ) -> None:
        """Reserve reserve-on-order lines and check deduct-on-payment ones, in SKU order so
        concurrent checkouts lock rows alike; note SKUs that fall below their low-stock mark."""
        levels = uow.stock.get_many(quantities)
        for sku_id in sorted(quantities):
            wanted, level = quantities[sku_id], levels.get(sku_id)
            if level is None:
                raise InsufficientStock(f"not enough stock for sku {sku_id}")
            if quote.lines[sku_id].deduction is DeductionMode.DEDUCT_ON_PAYMENT:
                if level.available < wanted:
                    raise InsufficientStock(f"not enough stock for sku {sku_id}")
                continue
            if not uow.stock.reserve(sku_id, wanted, reference, now):
                raise InsufficientStock(f"not enough stock for sku {sku_id}")
            product = uow.products.get_by_sku(sku_id)
            if product is not None:  # loaded already by the quote: no extra query
                product.note_stock(sku_id, level.available, level.available - wanted, now)

    @staticmethod
    def _address(uow: OrderingUnitOfWork, buyer_id: str, address_id: str) -> AddressSnapshot:
        user = uow.users.get(buyer_id)
        if user is None:
            raise NotFound("user", buyer_id)
        try:
            a = user.address(address_id)
        except NotFound:
            raise InvalidInput("address_id", "no such address") from None
        return AddressSnapshot(a.recipient, a.phone, a.province, a.city, a.district, a.detail, a.postal_code)

    def _quote(self, uow: OrderingUnitOfWork, buyer_id: str, items: Sequence[ItemRequest] | None) -> Quote:
        from_cart = items is None
        if items is None:
            cart = uow.carts.get(buyer_id)
            items = [ItemRequest(i.sku_id, i.quantity) for i in (cart.selected_items if cart else [])]
            if not items:
                raise InvalidInput("items", "the cart has no selected items")
        if not items:
            raise InvalidInput("items", "must not be empty")
        if len(items) > MAX_LINES:
            raise InvalidInput("items", f"at most {MAX_LINES} lines")
        wanted: dict[str, int] = {}
        for index, item in enumerate(items):
            check_quantity(item.quantity, f"items[{index}].quantity")
            wanted[item.sku_id] = check_quantity(
                wanted.get(item.sku_id, 0) + item.quantity, f"items[{index}].quantity"
            )
        products = uow.products.get_by_skus(list(wanted))
        for sku_id in wanted:
            product = products.get(sku_id)
            if product is None or not product.is_buyable or not product.sku(sku_id).active:
                raise SkuUnavailable(sku_id)
        shop_ids = list(dict.fromkeys(p.shop_id for p in products.values()))
        shops = uow.shops.get_many(shop_ids)
        facts: dict[str, QuotedLine] = {}
        pricing_lines: list[PricingLine] = []
        for sku_id, quantity in wanted.items():
            product, shop = products[sku_id], shops.get(products[sku_id].shop_id)
            if shop is None or not shop.is_open:
                raise SkuUnavailable(sku_id)
            sku = product.sku(sku_id)
            deduction = sku.deduction_mode or shop.deduction_mode
            facts[sku_id] = QuotedLine(sku_id, product.id, product.title, sku.code, sku.attributes, deduction)
            pricing_lines.append(PricingLine(sku_id, product.shop_id, sku.price, quantity))
        now = self._clock.now()
        promotions = uow.promotions.active_for_shops(shop_ids, now)
        flash = flash_sale_lines.offers_for(uow, buyer_id, products, now)
        fees = {shop_id: shops[shop_id].shipping_fee for shop_id in shop_ids}
        buyer = BuyerContext(buyer_id, flash_sale_bought=flash.bought)
        pricing = price(pricing_lines, [*promotions, *flash.promotions], fees, buyer=buyer)
        return Quote(facts, pricing, from_cart, flash)


def _fingerprint(address_id: str, payment_method: str, items: Sequence[ItemRequest] | None) -> str:
    body = {
        "address_id": address_id,
        "payment_method": payment_method,
        "items": None if items is None else [[i.sku_id, i.quantity] for i in items],
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _address_fingerprint(address: AddressSnapshot) -> str:
    return "|".join((address.province, address.city, address.district, address.detail)).lower()


def _order_number(at: datetime) -> str:
    """Human-readable and not enumerable: the date, then twelve random digits."""
    return at.strftime("%Y%m%d") + f"{secrets.randbelow(10**12):012d}"
