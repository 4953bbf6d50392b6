"""Checkout: the selected lines become one order per shop, paid by one payment.

Everything happens in one transaction: quote, risk, coupon locks, stock reservation (in SKU order,
so concurrent checkouts cannot deadlock), orders, cart clean-up. A retry with the same idempotency
key returns the first result; the same key with a different request is refused.

Pricing takes every active promotion of the checkout's shops and the platform's, the buyer's
member level and the coupons the buyer chose (none unless chosen: the preview suggests the best
ones). The coupons that applied are locked to the checkout in its transaction; the breakdown is
stored on the orders' lines.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

import attrs

from marketcore.application.ordering import coupon_holds, flash_sale_lines
from marketcore.application.ordering.flash_sale_lines import NO_OFFERS, FlashSaleOffers
from marketcore.application.ordering.ports import OrderingUnitOfWork
from marketcore.application.payments.ports import PaymentGateway
from marketcore.application.risk.services import RiskEngine
from marketcore.application.shared.ids import new_id, random_below
from marketcore.application.shared.ports import Clock, UnitOfWorkFactory
from marketcore.application.shared.services import Service
from marketcore.domain.cart.carts import check_quantity
from marketcore.domain.catalog.products import Product
from marketcore.domain.identity.users import User
from marketcore.domain.inventory.stock import InsufficientStock
from marketcore.domain.ordering.orders import (
    AddressSnapshot,
    Checkout,
    LineDiscount,
    Order,
    OrderLine,
)
from marketcore.domain.promotions.coupons import Coupon
from marketcore.domain.promotions.pricing import (
    Allocation,
    AppliedPromotion,
    PricingLine,
    PricingResult,
    PromotionTerms,
    ShopPricing,
    price,
)
from marketcore.domain.promotions.rules import BuyerContext
from marketcore.domain.promotions.selection import CouponSuggestion, best_coupons
from marketcore.domain.risk.rules import EventKind, RiskBlocked, RiskEvent, SubjectKind, Verdict
from marketcore.domain.shared.actors import Actor
from marketcore.domain.shared.deduction import DeductionMode
from marketcore.domain.shared.errors import (
    AlreadyExists,
    ConcurrencyConflict,
    Conflict,
    IdempotencyConflict,
    InvalidInput,
    MarketcoreError,
    NotFound,
)
from marketcore.domain.shared.money import Money

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
class PricingInputs:
    """What a quote was priced from, so the preview can search the buyer's coupons over it."""

    lines: tuple[PricingLine, ...]
    promotions: tuple[PromotionTerms, ...]
    fees: Mapping[str, Money]
    buyer: BuyerContext
    at: datetime


@attrs.frozen
class Quote:
    """What the buyer would pay: the pricing breakdown plus the catalog facts behind each line.
    ``coupons`` are the ones the buyer chose (``pricing.coupon_ids`` those that applied);
    ``suggestion`` (preview only) the best of the buyer's usable coupons."""

    lines: Mapping[str, QuotedLine]
    pricing: PricingResult
    from_cart: bool
    flash_sales: FlashSaleOffers = NO_OFFERS  # the running sales it was priced with
    coupons: tuple[Coupon, ...] = ()
    inputs: PricingInputs | None = attrs.field(default=None, eq=False, repr=False)
    suggestion: CouponSuggestion | None = None

    @property
    def suggestion_saves(self) -> Money | None:
        """How much less the buyer pays with the suggestion than with the coupons chosen."""
        if self.suggestion is None:
            return None
        return self.pricing.total - self.suggestion.pricing.total


@attrs.frozen
class RequestFingerprint:
    """What an Idempotency-Key stands for: the request's fields, and their hash (``value``, stored
    on the checkout). The hash is BLAKE2b over the fields' ``repr``: run cold between the rest of
    a checkout's work, the stdlib JSON encoder and OpenSSL's SHA-256 it replaced took 28 µs of
    it (5 µs warm), this takes 13 (docs/performance.md).

    Checkouts stored before then hold the SHA-256 of the request's JSON, 64 hex digits without
    the ``v2:`` prefix: ``matches`` computes that one for them, so a retry that spans an upgrade
    still replays."""

    address_id: str
    payment_method: str
    items: tuple[tuple[str, int], ...] | None
    coupon_ids: tuple[str, ...]
    value: str = attrs.field(init=False)

    @value.default
    def _hash(self) -> str:
        fields = (self.address_id, self.payment_method, self.items, self.coupon_ids)
        return "v2:" + hashlib.blake2b(repr(fields).encode(), digest_size=16).hexdigest()

    def matches(self, stored: str | None) -> bool:
        if stored is None or stored.startswith("v2:"):
            return stored == self.value
        body: dict[str, object] = {
            "address_id": self.address_id,
            "payment_method": self.payment_method,
            "items": None if self.items is None else [list(item) for item in self.items],
        }
        if self.coupon_ids:  # absent without coupons: keys used before coupons existed still replay
            body["coupon_ids"] = list(self.coupon_ids)
        return stored == hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


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

    def preview(
        self,
        actor: Actor,
        address_id: str,
        items: Sequence[ItemRequest] | None = None,
        coupon_ids: Sequence[str] = (),
    ) -> Quote:
        """The quote with the coupons chosen, and the best coupons of the buyer's to compare."""
        buyer_id = actor.require_user()
        with self._reader() as uow:
            user = self._buyer(uow, buyer_id)
            _address(user, address_id)
            quote = self._quote(uow, user, items, coupon_ids, lock=False)
            return _with_suggestion(uow, user.id, quote)

    def checkout(
        self,
        actor: Actor,
        address_id: str,
        payment_method: str,
        items: Sequence[ItemRequest] | None = None,
        idempotency_key: str | None = None,
        coupon_ids: Sequence[str] = (),
    ) -> CheckoutResult:
        """Place the orders. Only the coupons in ``coupon_ids`` are used (none by default)."""
        buyer_id = actor.require_user()
        gateway = self._gateways.get(payment_method)
        if gateway is None:
            raise InvalidInput("payment_method", f"one of {', '.join(sorted(self._gateways))}")
        coupon_ids = coupon_holds.check_ids(coupon_ids)
        fingerprint = _fingerprint(address_id, payment_method, items, coupon_ids)
        if idempotency_key is not None and not 1 <= len(idempotency_key) <= 100:
            raise InvalidInput("Idempotency-Key", "must be 1 to 100 characters")
        for attempt in range(1, ATTEMPTS + 1):
            # The first attempt takes the key to be new and lets its unique key (claimed at
            # commit) catch a repeat, saving a read; a later attempt looks for the first result.
            replay_first = attempt > 1
            try:
                return self._place(
                    buyer_id,
                    address_id,
                    gateway,
                    items,
                    coupon_ids,
                    idempotency_key,
                    fingerprint,
                    replay_first,
                )
            except AlreadyExists:
                # The idempotency key was taken (a retry, or a racing request): the next attempt
                # replays it. Or an order number was drawn twice (``order_number``): nothing
                # was written, and the next attempt draws new ones.
                if attempt == ATTEMPTS:
                    raise
            except ConcurrencyConflict:
                # Lost a race on a row (PostgreSQL deadlock victim): nothing was written; go again.
                if attempt == ATTEMPTS:
                    raise
            except MarketcoreError:
                # A retry of a checkout that succeeded may now fail (stock gone, buyer blocked):
                # it gets the first result, as it would have with the read done first.
                earlier = (
                    None
                    if idempotency_key is None or replay_first
                    else self._earlier(buyer_id, idempotency_key, fingerprint)
                )
                if earlier is None:
                    raise
                return earlier
        raise AssertionError("unreachable")

    def _earlier(self, buyer_id: str, key: str, fingerprint: RequestFingerprint) -> CheckoutResult | None:
        with self._reader() as uow:
            return self._replay(uow, buyer_id, key, fingerprint)

    @staticmethod
    def _replay(
        uow: OrderingUnitOfWork, buyer_id: str, key: str, fingerprint: RequestFingerprint
    ) -> CheckoutResult | None:
        checkout = uow.checkouts.get_by_idempotency_key(buyer_id, key)
        if checkout is None:
            return None
        if not fingerprint.matches(checkout.fingerprint):
            raise IdempotencyConflict("this Idempotency-Key was used with a different request")
        orders = uow.orders.for_checkout(checkout.id)
        return CheckoutResult(checkout, tuple(sorted(orders, key=lambda o: checkout.order_ids.index(o.id))))

    def _place(
        self,
        buyer_id: str,
        address_id: str,
        gateway: PaymentGateway,
        items: Sequence[ItemRequest] | None,
        coupon_ids: Sequence[str],
        idempotency_key: str | None,
        fingerprint: RequestFingerprint,
        replay_first: bool,
    ) -> CheckoutResult:
        now = self._clock.now()
        with self._uow(cached=True) as uow:  # a stale cached shop or product: retried below
            if idempotency_key is not None and replay_first:
                earlier = self._replay(uow, buyer_id, idempotency_key, fingerprint)
                if earlier is not None:
                    return earlier
            user = self._buyer(uow, buyer_id)
            address = _address(user, address_id)
            quote = self._quote(uow, user, items, coupon_ids, lock=True)
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
                if idempotency_key is not None and not replay_first:
                    earlier = self._replay(uow, buyer_id, idempotency_key, fingerprint)
                    if earlier is not None:  # a retry of a checkout placed before the block
                        return earlier
                uow.commit()  # keep the risk record: operators and velocity rules need it
                raise RiskBlocked()
            checkout_id = new_id()
            locked = _lock_coupons(quote, checkout_id, now)
            quantities = {p.line.key: p.line.quantity for s in quote.pricing.shops for p in s.lines}
            flash = flash_sale_lines.take_quota(
                uow, buyer_id, quote.flash_sales, quote, gateway.pays_on_delivery, now
            )
            self._hold_stock(uow, quote, flash.ordinary(quantities), f"checkout:{checkout_id}", now)
            flash.hold_stock(uow, f"checkout:{checkout_id}", now)
            orders = [
                self._order(checkout_id, buyer_id, shop, quote, address, gateway, now, locked)
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
                fingerprint=fingerprint.value,
                coupon_ids=[c.id for c in locked],
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
        locked: Sequence[Coupon],
    ) -> Order:
        coupons = coupon_holds.order_coupons(locked, shop.shop_id)
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
                    discounts=[_line_discount(a, coupons) for a in priced.allocations],
                    deduction=facts.deduction,
                )
            )
        return Order.place(
            new_id(),
            number=order_number(now),
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
            coupon_ids=coupons,
            shipping_waiver=_waiver(shop.shipping_waiver),
        )

    @staticmethod
    def _hold_stock(
        uow: OrderingUnitOfWork, quote: Quote, quantities: Mapping[str, int], reference: str, now: datetime
    ) -> None:
        """Reserve reserve-on-order lines and check deduct-on-payment ones, in SKU order so
        concurrent checkouts lock rows alike; note SKUs that fall below their low-stock mark."""
        checked = {
            s: q for s, q in quantities.items() if quote.lines[s].deduction is DeductionMode.DEDUCT_ON_PAYMENT
        }
        reserved = {s: q for s, q in quantities.items() if s not in checked}
        levels = uow.stock.get_many(checked) if checked else {}
        for sku_id in sorted(checked):
            level = levels.get(sku_id)
            if level is None or level.available < checked[sku_id]:
                raise InsufficientStock(f"not enough stock for sku {sku_id}")
        held = uow.stock.reserve_many(reserved, reference, now) if reserved else {}
        for sku_id in sorted(reserved):
            level = held.get(sku_id)
            if level is None:
                raise InsufficientStock(f"not enough stock for sku {sku_id}")
            product = uow.products.get_by_sku(sku_id)
            if product is not None:  # loaded already by the quote: no extra query
                product.note_stock(sku_id, level.available + reserved[sku_id], level.available, now)

    @staticmethod
    def _buyer(uow: OrderingUnitOfWork, buyer_id: str) -> User:
        user = uow.users.get(buyer_id)
        if user is None:
            raise NotFound("user", buyer_id)
        return user

    def _quote(
        self,
        uow: OrderingUnitOfWork,
        user: User,
        items: Sequence[ItemRequest] | None,
        coupon_ids: Sequence[str],
        *,
        lock: bool,
    ) -> Quote:
        from_cart = items is None
        if items is None:
            cart = uow.carts.get(user.id)
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
        flash = flash_sale_lines.offers_for(uow, user.id, products, now)
        promotions = [*uow.promotions.active_for_checkout(shop_ids, now), *flash.promotions]
        fees = {shop_id: shops[shop_id].shipping_fee for shop_id in shop_ids}
        buyer = BuyerContext(user.id, member_level=user.member_level, flash_sale_bought=flash.bought)
        coupons = coupon_holds.chosen(uow, user.id, coupon_ids, now, lock=lock)
        lines = _with_categories(uow, pricing_lines, products, [*promotions, *coupons])
        inputs = PricingInputs(tuple(lines), tuple(promotions), fees, buyer, now)
        pricing = _price_with(inputs, coupons)
        return Quote(facts, pricing, from_cart, flash, tuple(coupons), inputs)


def _address(user: User, address_id: str) -> AddressSnapshot:
    try:
        a = user.address(address_id)
    except NotFound:
        raise InvalidInput("address_id", "no such address") from None
    return AddressSnapshot(a.recipient, a.phone, a.province, a.city, a.district, a.detail, a.postal_code)


def _with_categories(
    uow: OrderingUnitOfWork,
    lines: Sequence[PricingLine],
    products: Mapping[str, Product],
    offers: Sequence[PromotionTerms | Coupon],
) -> Sequence[PricingLine]:
    """The lines with their category and its ancestors, when an offer is scoped by category (the
    category tree is read only then)."""
    if not any(offer.scope.category_ids for offer in offers):
        return lines
    parents = {c.id: c.parent_id for c in uow.categories.all()}
    paths: dict[str, tuple[str, ...]] = {}
    for category_id in {products[line.sku_id].category_id for line in lines}:
        path: list[str] = []
        at: str | None = category_id
        while at is not None and at not in path and len(path) < 32:  # a cycle cannot loop
            path.append(at)
            at = parents.get(at)
        paths[category_id] = tuple(path)
    return [attrs.evolve(line, category_ids=paths[products[line.sku_id].category_id]) for line in lines]


def _price_with(inputs: PricingInputs, coupons: Sequence[Coupon]) -> PricingResult:
    return price(
        inputs.lines, inputs.promotions, inputs.fees, buyer=inputs.buyer, coupons=coupons, at=inputs.at
    )


def _with_suggestion(uow: OrderingUnitOfWork, buyer_id: str, quote: Quote) -> Quote:
    """The quote with the best combination of the buyer's usable coupons (preview only)."""
    inputs = quote.inputs
    assert inputs is not None
    held = uow.coupons.usable_by(buyer_id, inputs.at)
    suggestion = best_coupons(
        inputs.lines, inputs.promotions, inputs.fees, held, buyer=inputs.buyer, at=inputs.at
    )
    return attrs.evolve(quote, suggestion=suggestion)


def _lock_coupons(quote: Quote, checkout_id: str, now: datetime) -> list[Coupon]:
    """Lock the chosen coupons that applied to ``checkout_id`` (the quote loaded them locked)."""
    applied = set(coupon_holds.lock_applied(quote.coupons, quote.pricing.coupon_ids, checkout_id, now))
    return [c for c in quote.coupons if c.id in applied]


def _line_discount(a: Allocation, coupon_ids: Sequence[str]) -> LineDiscount:
    return LineDiscount(
        a.promotion_id, a.label, a.amount, str(a.funder), a.kind, coupon=a.promotion_id in coupon_ids
    )


def _waiver(waiver: AppliedPromotion | None) -> LineDiscount | None:
    if waiver is None:
        return None
    return LineDiscount(waiver.promotion_id, waiver.label, waiver.amount, str(waiver.funder), waiver.kind)


def _fingerprint(
    address_id: str, payment_method: str, items: Sequence[ItemRequest] | None, coupon_ids: Sequence[str]
) -> RequestFingerprint:
    return RequestFingerprint(
        address_id,
        payment_method,
        None if items is None else tuple((i.sku_id, i.quantity) for i in items),
        tuple(sorted(coupon_ids)),
    )


def _address_fingerprint(address: AddressSnapshot) -> str:
    return "|".join((address.province, address.city, address.district, address.detail)).lower()


def order_number(at: datetime) -> str:
    """Human-readable and not enumerable: the UTC date, the second of the day, then nine random
    digits (22 digits). A second's numbers follow the clock, so their unique keys are appended to
    the key index instead of each landing on a page of its own; at 2,000 orders a second one is
    drawn twice about every eight minutes, and the checkout draws again (``checkout``)."""
    at = at.astimezone(UTC)
    second = at.hour * 3600 + at.minute * 60 + at.second
    return f"{at.year:04d}{at.month:02d}{at.day:02d}{second:05d}{random_below(10**9):09d}"
