"""Shop orders and their state machine; one checkout holds one order per shop.

pending_payment -> awaiting_shipment -> shipped -> delivered -> completed, and closed.
Cash on delivery starts at awaiting_shipment, unpaid. Every transition keeps a history row.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import attrs

from marketcore.domain.shared.deduction import DeductionMode
from marketcore.domain.shared.errors import Conflict, InvalidInput, NotFound
from marketcore.domain.shared.events import Aggregate, DomainEvent
from marketcore.domain.shared.money import Currency, Money, same_currency
from marketcore.domain.shared.text import require_text


class OrderStatus(enum.StrEnum):
    PENDING_PAYMENT = "pending_payment"
    AWAITING_SHIPMENT = "awaiting_shipment"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    COMPLETED = "completed"
    CLOSED = "closed"


class OrderNotCancellable(Conflict):
    code = "order_not_cancellable"


class OrderNotShippable(Conflict):
    code = "order_not_shippable"


class OrderNotConfirmable(Conflict):
    code = "order_not_confirmable"


class OrderNotPayable(Conflict):
    code = "order_not_payable"


class ReceiptNotExtendable(Conflict):
    code = "receipt_not_extendable"


@attrs.frozen
class AddressSnapshot:
    recipient: str
    phone: str
    province: str
    city: str
    district: str
    detail: str
    postal_code: str


@attrs.frozen
class LineDiscount:
    """One promotion's (or coupon's) share of a line, as priced at checkout: refunds return
    exactly these and settlement pays the shop back the platform-funded ones. ``kind`` is the
    offer's rule code; orders stored before coupons existed load with "" and False."""

    promotion_id: str  # the coupon's id for a coupon
    label: str
    amount: Money
    funder: str  # "shop" or "platform"
    kind: str = ""
    coupon: bool = False


@attrs.define
class OrderLine:
    id: str
    sku_id: str
    product_id: str
    title: str
    sku_code: str
    attributes: dict[str, str]
    unit_price: Money
    quantity: int
    discounts: list[LineDiscount]
    shipped_quantity: int = 0
    deduction: DeductionMode = DeductionMode.RESERVE_ON_ORDER
    flash_sale_id: str | None = None  # the flash sale whose quota (and set-aside stock) it took

    @property
    def holds_stock(self) -> bool:
        """Units of this line are reserved in the stock ledger until paid, shipped or released."""
        return self.deduction is DeductionMode.RESERVE_ON_ORDER

    @property
    def subtotal(self) -> Money:
        return self.unit_price * self.quantity

    @property
    def discount(self) -> Money:
        return Money(self.discount_amount(self.unit_price.currency), self.unit_price.currency)

    @property
    def total(self) -> Money:
        return Money(self.total_amount(self.unit_price.currency), self.unit_price.currency)

    # The sums in minor units, each a single pass: an order's totals are read for every answer
    # about it, and building a ``Money`` per step was most of a checkout response's cost.
    def subtotal_amount(self, currency: Currency) -> int:
        same_currency(currency, self.unit_price.currency)
        return self.unit_price.amount * self.quantity

    def discount_amount(self, currency: Currency) -> int:
        amount = 0
        for d in self.discounts:
            same_currency(currency, d.amount.currency)
            amount += d.amount.amount
        return amount

    def total_amount(self, currency: Currency) -> int:
        return self.subtotal_amount(currency) - self.discount_amount(currency)


@attrs.frozen
class Transition:
    from_status: OrderStatus | None
    to_status: OrderStatus
    actor: str
    reason: str
    at: datetime


@attrs.frozen
class ShipmentLine:
    order_line_id: str
    quantity: int


@attrs.frozen
class Shipment:
    id: str
    carrier_code: str
    tracking_no: str
    lines: tuple[ShipmentLine, ...]
    shipped_at: datetime


@attrs.frozen(kw_only=True)
class OrderPlaced(DomainEvent):
    order_id: str
    shop_id: str
    buyer_id: str


@attrs.frozen(kw_only=True)
class OrderPaid(DomainEvent):
    order_id: str


@attrs.frozen(kw_only=True)
class OrderShipped(DomainEvent):
    order_id: str
    shipment_id: str


@attrs.frozen(kw_only=True)
class OrderCompleted(DomainEvent):
    order_id: str


@attrs.frozen(kw_only=True)
class OrderClosed(DomainEvent):
    order_id: str
    reason: str


@attrs.define(eq=False)
class Order(Aggregate):
    number: str
    checkout_id: str
    buyer_id: str
    shop_id: str
    payment_method: str
    currency: Currency
    lines: list[OrderLine]
    shipping_fee: Money  # what the buyer pays for shipping, after any waiver
    address: AddressSnapshot
    placed_at: datetime
    payment_deadline: datetime | None
    status: OrderStatus = OrderStatus.PENDING_PAYMENT
    paid_at: datetime | None = None
    shipments: list[Shipment] = attrs.Factory(list)
    history: list[Transition] = attrs.Factory(list)
    close_reason: str | None = None
    auto_complete_at: datetime | None = None  # shipped orders complete by themselves then
    receipt_extended: bool = False
    # The coupons its checkout locked that concern this order: its shop's and the platform's
    # (the latter on every order of the checkout, allocated here or not). Used when it is paid,
    # returned when it closes unpaid (see application/ordering/coupon_holds.py).
    coupon_ids: list[str] = attrs.Factory(list)
    shipping_waiver: LineDiscount | None = None  # the part of the fee a free-shipping offer took

    @classmethod
    def place(
        cls,
        id: str,
        number: str,
        checkout_id: str,
        buyer_id: str,
        shop_id: str,
        lines: Sequence[OrderLine],
        shipping_fee: Money,
        address: AddressSnapshot,
        payment_method: str,
        pay_on_delivery: bool,
        payment_deadline: datetime | None,
        at: datetime,
        coupon_ids: Sequence[str] = (),
        shipping_waiver: LineDiscount | None = None,
    ) -> Order:
        if not lines:
            raise InvalidInput("items", "an order needs at least one line")
        order = cls(
            id,
            number=number,
            checkout_id=checkout_id,
            buyer_id=buyer_id,
            shop_id=shop_id,
            payment_method=payment_method,
            currency=shipping_fee.currency,
            lines=list(lines),
            shipping_fee=shipping_fee,
            address=address,
            placed_at=at,
            payment_deadline=None if pay_on_delivery else payment_deadline,
            coupon_ids=list(coupon_ids),
            shipping_waiver=shipping_waiver,
        )
        start = OrderStatus.AWAITING_SHIPMENT if pay_on_delivery else OrderStatus.PENDING_PAYMENT
        order._move(start, buyer_id, "placed", at)
        order.record(OrderPlaced(occurred_at=at, order_id=id, shop_id=shop_id, buyer_id=buyer_id))
        return order

    @property
    def subtotal(self) -> Money:
        return Money(sum(line.subtotal_amount(self.currency) for line in self.lines), self.currency)

    @property
    def discount(self) -> Money:
        return Money(sum(line.discount_amount(self.currency) for line in self.lines), self.currency)

    @property
    def total(self) -> Money:
        same_currency(self.currency, self.shipping_fee.currency)
        lines = sum(line.total_amount(self.currency) for line in self.lines)
        return Money(lines + self.shipping_fee.amount, self.currency)

    @property
    def is_paid(self) -> bool:
        return self.paid_at is not None

    @property
    def due_at(self) -> datetime | None:
        """When the system must next act on this order by itself, if ever: close it unpaid at the
        payment deadline, or complete it once the receipt window after shipment has passed."""
        if self.status is OrderStatus.PENDING_PAYMENT:
            return self.payment_deadline
        if self.status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
            return self.auto_complete_at
        return None

    def reserved_quantities(self) -> dict[str, int]:
        """Units this order still holds in the stock ledger, per SKU: reserve-on-order lines not
        yet committed (committed at payment, or at shipment for unpaid cash-on-delivery orders)."""
        held: dict[str, int] = {}
        for line in self._holding_lines():
            held[line.sku_id] = held.get(line.sku_id, 0) + line.quantity - line.shipped_quantity
        return held

    def flash_sale_holds(self) -> dict[str, str]:
        """SKU -> flash sale, for the lines still holding stock that came from a sale's quota: if
        the order closes unpaid, those units go back to the sale, not to ordinary stock."""
        return {line.sku_id: line.flash_sale_id for line in self._holding_lines() if line.flash_sale_id}

    def _holding_lines(self) -> list[OrderLine]:
        if self.status is OrderStatus.PENDING_PAYMENT or (
            self.status is OrderStatus.AWAITING_SHIPMENT and not self.is_paid
        ):
            return [line for line in self.lines if line.holds_stock and line.quantity > line.shipped_quantity]
        return []

    def mark_flash_sale_line(self, line_id: str, flash_sale_id: str, payment_deadline: datetime) -> None:
        """At placing: the line took a flash sale's quota. It holds stock whatever the SKU's
        deduction mode (the units come reserved from the sale's set-aside), and the order must be
        paid by the sale's (shorter) deadline."""
        if self.status is not OrderStatus.PENDING_PAYMENT or self.payment_deadline is None:
            raise OrderNotPayable(f"order {self.number}: flash-sale items are paid online, before shipment")
        line = self.line(line_id)
        line.flash_sale_id = flash_sale_id
        line.deduction = DeductionMode.RESERVE_ON_ORDER
        self.payment_deadline = min(self.payment_deadline, payment_deadline)

    def line(self, line_id: str) -> OrderLine:
        for line in self.lines:
            if line.id == line_id:
                return line
        raise NotFound("order line", line_id)

    def mark_paid(self, at: datetime) -> None:
        if self.status is not OrderStatus.PENDING_PAYMENT:
            raise OrderNotPayable(f"order {self.number} is {self.status}")
        self.paid_at = at
        self._move(OrderStatus.AWAITING_SHIPMENT, "system", "payment succeeded", at)
        self.record(OrderPaid(occurred_at=at, order_id=self.id))

    def taken_quantities(self) -> dict[str, int]:
        """Units a paid order took from stock at payment and has not shipped, per SKU: what goes
        back on the shelf if it closes before they leave."""
        taken: dict[str, int] = {}
        if self.is_paid and self.status is OrderStatus.AWAITING_SHIPMENT:
            for line in self.lines:
                if line.quantity > line.shipped_quantity:
                    taken[line.sku_id] = taken.get(line.sku_id, 0) + line.quantity - line.shipped_quantity
        return taken

    def cancel(self, actor: str, reason: str, at: datetime) -> None:
        """Before shipment only. An unpaid order's reservations are released by the caller
        (``reserved_quantities``); a paid one's units go back to stock (``taken_quantities``)
        and its share of the payment is refunded."""
        if self.status not in (OrderStatus.PENDING_PAYMENT, OrderStatus.AWAITING_SHIPMENT) or self.shipments:
            raise OrderNotCancellable(f"order {self.number} is {self.status}; it can no longer be cancelled")
        self.close(actor, require_text("reason", reason, 200), at)

    def refunded_in_full(self, actor: str, at: datetime) -> dict[str, int]:
        """Everything paid for this order went back to the buyer: it closes (a completed order
        stays completed). Returns the units to put back on the shelf."""
        if self.status in (OrderStatus.COMPLETED, OrderStatus.CLOSED):
            return {}
        returned = self.taken_quantities()
        self.close(actor, "refunded in full", at)
        return returned

    def collected_on_delivery(self, actor: str, at: datetime) -> None:
        """Cash on delivery: the courier or the shop took the money at the door."""
        if self.status not in (OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.COMPLETED):
            raise OrderNotPayable(f"order {self.number} is {self.status}; cash is collected on delivery")
        if self.is_paid:
            raise OrderNotPayable(f"order {self.number} is already paid")
        self.paid_at = at
        self.history.append(Transition(self.status, self.status, actor, "cash collected on delivery", at))
        self.record(OrderPaid(occurred_at=at, order_id=self.id))

    def refused_on_delivery(self, actor: str, reason: str, at: datetime) -> dict[str, int]:
        """Cash on delivery refused at the door: the order closes and the parcel comes back.
        Returns the shipped units to put back on the shelf."""
        if self.status not in (OrderStatus.SHIPPED, OrderStatus.DELIVERED) or self.is_paid:
            raise OrderNotCancellable(
                f"order {self.number} is {self.status}; only an unpaid delivery is refused"
            )
        returned: dict[str, int] = {}
        for line in self.lines:
            if line.shipped_quantity:
                returned[line.sku_id] = returned.get(line.sku_id, 0) + line.shipped_quantity
        self.auto_complete_at = None
        self.close(actor, require_text("reason", reason, 200), at)
        return returned

    def close(self, actor: str, reason: str, at: datetime) -> None:
        self.close_reason = reason
        self._move(OrderStatus.CLOSED, actor, reason, at)
        self.record(OrderClosed(occurred_at=at, order_id=self.id, reason=reason))

    def ship(
        self,
        shipment_id: str,
        carrier_code: str,
        tracking_no: str,
        quantities: Mapping[str, int] | None,
        actor: str,
        at: datetime,
        receipt_window: timedelta,
    ) -> Shipment:
        """Ship some or all remaining units; the order is ``shipped`` once every unit has left."""
        if self.status is not OrderStatus.AWAITING_SHIPMENT:
            raise OrderNotShippable(f"order {self.number} is {self.status}")
        carrier_code = require_text("carrier_code", carrier_code, 32)
        tracking_no = require_text("tracking_no", tracking_no, 64)
        if quantities is None:
            quantities = {line.id: line.quantity - line.shipped_quantity for line in self.lines}
            quantities = {k: v for k, v in quantities.items() if v}
        if not quantities:
            raise InvalidInput("lines", "nothing to ship")
        for line_id, quantity in quantities.items():
            try:
                line = self.line(line_id)
            except NotFound:
                raise InvalidInput("lines", f"order has no line {line_id}") from None
            if not 0 < quantity <= line.quantity - line.shipped_quantity:
                raise InvalidInput(
                    "lines", f"line {line_id} has {line.quantity - line.shipped_quantity} to ship"
                )
        for line_id, quantity in quantities.items():
            self.line(line_id).shipped_quantity += quantity
        shipment = Shipment(
            shipment_id,
            carrier_code,
            tracking_no,
            tuple(ShipmentLine(k, v) for k, v in quantities.items()),
            at,
        )
        self.shipments.append(shipment)
        if all(line.shipped_quantity == line.quantity for line in self.lines):
            self.auto_complete_at = at + receipt_window
            self._move(OrderStatus.SHIPPED, actor, f"shipped {carrier_code} {tracking_no}", at)
        self.record(OrderShipped(occurred_at=at, order_id=self.id, shipment_id=shipment_id))
        return shipment

    def confirm_receipt(self, actor: str, at: datetime, reason: str = "receipt confirmed") -> None:
        if self.status not in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
            raise OrderNotConfirmable(f"order {self.number} is {self.status}")
        self.auto_complete_at = None
        self._move(OrderStatus.COMPLETED, actor, reason, at)
        self.record(OrderCompleted(occurred_at=at, order_id=self.id))

    def extend_receipt(self, actor: str, extension: timedelta, at: datetime) -> None:
        """The buyer may push automatic completion back once, e.g. while a parcel is late."""
        if self.status not in (OrderStatus.SHIPPED, OrderStatus.DELIVERED) or self.auto_complete_at is None:
            raise ReceiptNotExtendable(f"order {self.number} is {self.status}")
        if self.receipt_extended:
            raise ReceiptNotExtendable("the receipt window can be extended only once")
        self.receipt_extended = True
        self.auto_complete_at += extension
        self.history.append(
            Transition(self.status, self.status, actor, f"receipt window extended by {extension}", at)
        )

    def _move(self, to: OrderStatus, actor: str, reason: str, at: datetime) -> None:
        previous = self.status if self.history else None
        self.status = to
        self.history.append(Transition(previous, to, actor, reason, at))


@attrs.define(eq=False)
class Checkout(Aggregate):
    """One buyer's purchase across shops: one order per shop, one payment for all of them."""

    buyer_id: str
    order_ids: list[str]
    amount_due: Money
    payment_method: str
    created_at: datetime
    idempotency_key: str | None = None
    fingerprint: str | None = None  # hash of the request, to refuse a reused key
    coupon_ids: list[str] = attrs.Factory(list)  # the coupons it locked (that applied)
