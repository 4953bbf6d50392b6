"""Request and response bodies (msgspec Structs) and the mapping from domain objects to responses.

Money is integer minor units; the enclosing resource names the ``currency``. Shape rules (lengths,
ranges) live in the domain: these structs only fix the JSON types, so a wrong type is a 400.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Annotated, Generic, Literal, TypeVar

import msgspec

from marketcore.application.cart.services import CartView
from marketcore.application.catalog.services import CategoryNode, ProductView
from marketcore.application.ordering.checkout import CheckoutResult, Quote
from marketcore.application.reviews.ports import RatingSummary, ShopScoreSummary
from marketcore.domain.catalog.categories import Category
from marketcore.domain.catalog.products import Product, Sku
from marketcore.domain.identity.users import Address, User
from marketcore.domain.inventory.stock import StockLevel
from marketcore.domain.ordering.orders import LineDiscount, Order, OrderLine
from marketcore.domain.payments.payments import Payment, Refund
from marketcore.domain.promotions.pricing import Allocation, AppliedPromotion, SkippedPromotion
from marketcore.domain.reviews.reviews import Review
from marketcore.domain.risk.rules import BlacklistEntry
from marketcore.domain.shops.shops import Shop, ShopApplication

T = TypeVar("T")

# A registered gateway's code (sandbox, cod, stripe, alipay, wechatpay or an integrator's own).
GatewayCode = Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]


class In(msgspec.Struct, forbid_unknown_fields=False):
    """Base for request bodies: unknown fields are ignored, known ones must have the right type."""


# --------------------------------------------------------------------------- requests


class RegisterIn(In):
    email: str
    password: str
    display_name: str


class LoginIn(In):
    email: str
    password: str


class AddressIn(In):
    recipient: str
    phone: str
    province: str
    city: str
    detail: str
    district: str = ""
    postal_code: str = ""


class ShopApplicationIn(In):
    shop_name: str
    legal_name: str
    license_no: str
    contact_phone: str
    description: str = ""


class ReasonIn(In):
    reason: str


class ShopSettingsIn(In):
    shipping_fee: int | None = None
    deduction_mode: Literal["reserve_on_order", "deduct_on_payment"] | None = None


class CategoryIn(In):
    name: str
    commission_rate_bps: int
    parent_id: str | None = None


class SalesAttributeIn(In):
    name: str
    values: list[str]


class SkuIn(In):
    code: str
    price: int
    stock: int
    attributes: dict[str, str] = {}
    market_price: int | None = None
    weight_grams: int = 0


class ProductIn(In):
    title: str
    category_id: str
    skus: list[SkuIn]
    brand: str | None = None
    description: str = ""
    images: list[str] = []
    attributes: dict[str, str] = {}
    sales_attributes: list[SalesAttributeIn] = []


class SkuPatchIn(In):
    price: int | None = None
    stock_delta: int | None = None
    reason: str | None = None
    low_stock_threshold: int | None = None
    deduction_mode: Literal["shop", "reserve_on_order", "deduct_on_payment"] | None = None


class CartItemIn(In):
    sku_id: str
    quantity: int


class CartItemPatchIn(In):
    quantity: int | None = None
    selected: bool | None = None


class ItemIn(In):
    sku_id: str
    quantity: int


class PreviewIn(In):
    address_id: str
    coupon_ids: list[str] | None = None  # the buyer's coupons to use; none when absent
    items: list[ItemIn] | None = None


class CheckoutIn(In):
    address_id: str
    payment_method: GatewayCode
    coupon_ids: list[str] | None = None
    items: list[ItemIn] | None = None


class ShipmentLineIn(In):
    order_line_id: str
    quantity: int


class ShipmentIn(In):
    carrier_code: str
    tracking_no: str
    lines: list[ShipmentLineIn] | None = None


class CancelIn(In):
    reason: str = "cancelled by buyer"


class PaymentIn(In):
    gateway: GatewayCode


class SandboxCompleteIn(In):
    outcome: Literal["succeeded", "failed"]


class RefundIn(In):
    amount: int  # minor units
    reason: str
    order_id: str | None = None  # required when the payment paid several orders


class DeliveryRefusalIn(In):
    reason: str = "refused on delivery"


class ShopScoresIn(In):
    description: int
    service: int
    logistics: int


class ReviewIn(In):
    order_line_id: str
    rating: int
    content: str = ""
    images: list[str] = []
    anonymous: bool = False
    shop_scores: ShopScoresIn | None = None


class BlacklistIn(In):
    kind: Literal["user", "phone", "address", "ip", "device"]
    value: str
    reason: str


# --------------------------------------------------------------------------- responses


class Out(msgspec.Struct):
    pass


class PageOut(Out, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


class TokenOut(Out):
    access_token: str
    expires_in: int
    token_type: str = "bearer"


class UserOut(Out):
    id: str
    email: str
    display_name: str
    roles: list[str]
    created_at: datetime


class MembershipOut(Out):
    shop_id: str
    name: str
    status: str
    role: Literal["owner", "staff"]


class MeOut(Out):
    id: str
    email: str
    display_name: str
    roles: list[str]
    created_at: datetime
    shops: list[MembershipOut]
    member_level: int = 0


class AddressOut(Out):
    id: str
    recipient: str
    phone: str
    province: str
    city: str
    district: str
    detail: str
    postal_code: str


class ShopApplicationOut(Out):
    id: str
    applicant_id: str
    status: str
    shop_name: str
    description: str
    legal_name: str
    license_no: str
    contact_phone: str
    submitted_at: datetime
    reviewed_at: datetime | None
    rejection_reason: str | None
    shop_id: str | None


class ShopApprovedOut(Out):
    shop_id: str
    application_id: str
    status: str


class ShopScoresOut(Out):
    count: int
    description: float | None
    service: float | None
    logistics: float | None


class ShopOut(Out):
    id: str
    name: str
    description: str
    status: str
    currency: str
    shipping_fee: int
    deduction_mode: str
    opened_at: datetime
    scores: ShopScoresOut | None = None  # on the public shop page only


class CategoryOut(Out):
    id: str
    name: str
    parent_id: str | None
    commission_rate_bps: int


class CategoryNodeOut(Out):
    id: str
    name: str
    parent_id: str | None
    commission_rate_bps: int
    children: list[CategoryNodeOut]


class CategoryTreeOut(Out):
    items: list[CategoryNodeOut]


class SalesAttributeOut(Out):
    name: str
    values: list[str]


class SkuOut(Out):
    id: str
    code: str
    attributes: dict[str, str]
    price: int
    market_price: int | None
    weight_grams: int
    active: bool
    available: int
    on_hand: int | None = None  # shop staff and operators only
    reserved: int | None = None
    low_stock_threshold: int | None = None
    deduction_mode: str | None = None  # "shop" when the SKU follows its shop's mode


class ProductOut(Out):
    id: str
    shop_id: str
    title: str
    category_id: str
    brand: str | None
    description: str
    images: list[str]
    attributes: dict[str, str]
    sales_attributes: list[SalesAttributeOut]
    status: str
    listed: bool
    buyable: bool
    rejection_reason: str | None
    currency: str
    min_price: int | None
    created_at: datetime
    skus: list[SkuOut]


class ProductSummaryOut(Out):
    id: str
    shop_id: str
    title: str
    category_id: str
    brand: str | None
    image: str | None
    status: str
    listed: bool
    currency: str
    min_price: int | None
    created_at: datetime


class CartLineOut(Out):
    sku_id: str
    product_id: str
    title: str
    attributes: dict[str, str]
    unit_price: int | None
    quantity: int
    line_total: int | None
    selected: bool
    available: bool
    unavailable_reason: str | None


class CartShopOut(Out):
    shop_id: str
    shop_name: str
    selected_subtotal: int
    lines: list[CartLineOut]


class CartOut(Out):
    currency: str
    selected_subtotal: int
    shops: list[CartShopOut]


class AllocationOut(Out):
    promotion_id: str  # the coupon's id for a coupon
    label: str
    amount: int
    funder: str
    kind: str = ""
    coupon: bool = False


class SkippedOut(Out):
    promotion_id: str
    label: str
    reason: str
    detail: str = ""
    line_key: str | None = None  # the SKU, for a unit-price offer


class SuggestionOut(Out):
    """The best coupons of the buyer's for this quote."""

    coupon_ids: list[str]
    total: int  # what the buyer would pay with them
    saving: int  # against using no coupon
    saves: int  # against the coupons chosen in this request


class QuoteLineOut(Out):
    sku_id: str
    product_id: str
    title: str
    sku_code: str
    attributes: dict[str, str]
    quantity: int
    unit_price: int
    subtotal: int
    discount: int
    total: int
    allocations: list[AllocationOut]
    list_price: int  # before a member, limited-time or flash-sale price
    price_source: str | None  # the offer whose price unit_price is


class QuoteShopOut(Out):
    shop_id: str
    subtotal: int
    discount: int
    shipping: int
    total: int
    applied: list[AllocationOut]
    skipped: list[SkippedOut]
    hints: list[str]
    lines: list[QuoteLineOut]
    shipping_fee: int  # before any free-shipping offer
    shipping_waiver: AllocationOut | None
    coupon_id: str | None


class QuoteOut(Out):
    currency: str
    from_cart: bool
    subtotal: int
    discount: int
    shipping: int
    total: int
    shops: list[QuoteShopOut]
    coupon_ids: list[str]  # the chosen coupons that applied: checkout locks these
    applied: list[AllocationOut]  # platform promotions and coupon, whole amounts
    skipped: list[SkippedOut]  # platform offers, and coupons that did not apply
    hints: list[str]
    suggestion: SuggestionOut | None


class OrderLineOut(Out):
    id: str
    sku_id: str
    product_id: str
    title: str
    sku_code: str
    attributes: dict[str, str]
    unit_price: int
    quantity: int
    subtotal: int
    discount: int
    total: int
    shipped_quantity: int
    allocations: list[AllocationOut]
    flash_sale_id: str | None = None  # the flash sale this line was bought in (at its price)


class CheckoutOrderOut(Out):
    id: str
    number: str
    shop_id: str
    status: str
    subtotal: int
    discount: int
    shipping: int
    total: int
    applied: list[AllocationOut]
    lines: list[OrderLineOut]


class CheckoutOut(Out):
    checkout_id: str
    payment_method: str
    amount_due: int
    currency: str
    orders: list[CheckoutOrderOut]
    coupon_ids: list[str]  # locked to this checkout until it is paid or closes unpaid


class TransitionOut(Out):
    from_: str | None = msgspec.field(name="from")
    to: str
    actor: str
    reason: str
    at: datetime


class ShipmentLineOut(Out):
    order_line_id: str
    quantity: int


class ShipmentOut(Out):
    id: str
    carrier_code: str
    tracking_no: str
    shipped_at: datetime
    lines: list[ShipmentLineOut]


class AddressSnapshotOut(Out):
    recipient: str
    phone: str
    province: str
    city: str
    district: str
    detail: str
    postal_code: str


class OrderSummaryOut(Out):
    id: str
    number: str
    checkout_id: str
    shop_id: str
    status: str
    payment_method: str
    currency: str
    total: int
    item_count: int
    placed_at: datetime


class OrderOut(Out):
    id: str
    number: str
    checkout_id: str
    buyer_id: str
    shop_id: str
    status: str
    payment_method: str
    currency: str
    subtotal: int
    discount: int
    shipping: int
    total: int
    placed_at: datetime
    paid_at: datetime | None
    payment_deadline: datetime | None
    auto_complete_at: datetime | None
    receipt_extended: bool
    close_reason: str | None
    address: AddressSnapshotOut
    lines: list[OrderLineOut]
    history: list[TransitionOut]
    shipments: list[ShipmentOut]
    coupon_ids: list[str] = msgspec.field(default_factory=list)  # its checkout's coupons that concern it
    shipping_waiver: AllocationOut | None = None  # what a free-shipping offer took off the fee


class NextActionOut(Out):
    kind: str
    value: str | None


class RefundOut(Out):
    id: str
    amount: int
    status: str
    reason: str
    created_at: datetime
    order_id: str | None
    submitted_at: datetime | None
    failure_reason: str | None
    requested_by: str


class PaymentReviewOut(Out):
    reason: str
    reported_amount: int | None
    flagged_at: datetime


class PaymentOut(Out):
    payment_id: str
    checkout_id: str
    gateway: str
    status: str
    amount: int
    currency: str
    next_action: NextActionOut
    failure_reason: str | None
    created_at: datetime
    completed_at: datetime | None
    refunds: list[RefundOut]
    review: PaymentReviewOut | None  # set when a provider reported another amount: an operator decides


class ShopScoresReviewOut(Out):
    description: int
    service: int
    logistics: int


class ReviewOut(Out):
    id: str
    order_id: str
    order_line_id: str
    product_id: str
    sku_id: str
    shop_id: str
    author_name: str
    anonymous: bool
    rating: int
    content: str
    images: list[str]
    shop_scores: ShopScoresReviewOut | None
    created_at: datetime


class RatingSummaryOut(Out):
    count: int
    average: float | None
    good_rate: float | None


class ReviewPageOut(Out):
    items: list[ReviewOut]
    summary: RatingSummaryOut
    next_cursor: str | None = None


class BlacklistOut(Out):
    id: str
    kind: str
    value: str
    reason: str
    added_by: str
    added_at: datetime


class HealthOut(Out):
    status: str


# --------------------------------------------------------------------------- mapping


def user_out(user: User) -> UserOut:
    return UserOut(
        user.id, user.email, user.display_name, sorted(str(r) for r in user.roles), user.created_at
    )


def me_out(user: User, shops: Iterable[Shop]) -> MeOut:
    memberships = [
        MembershipOut(s.id, s.name, str(s.status), "owner" if s.owner_id == user.id else "staff")
        for s in shops
    ]
    return MeOut(
        user.id,
        user.email,
        user.display_name,
        sorted(str(r) for r in user.roles),
        user.created_at,
        memberships,
        user.member_level,
    )


def address_out(a: Address) -> AddressOut:
    return AddressOut(a.id, a.recipient, a.phone, a.province, a.city, a.district, a.detail, a.postal_code)


def application_out(a: ShopApplication) -> ShopApplicationOut:
    return ShopApplicationOut(
        id=a.id,
        applicant_id=a.applicant_id,
        status=str(a.status),
        shop_name=a.shop_name,
        description=a.description,
        legal_name=a.legal_name,
        license_no=a.license_no,
        contact_phone=a.contact_phone,
        submitted_at=a.submitted_at,
        reviewed_at=a.reviewed_at,
        rejection_reason=a.rejection_reason,
        shop_id=a.shop_id,
    )


def shop_out(shop: Shop, scores: ShopScoreSummary | None = None) -> ShopOut:
    return ShopOut(
        id=shop.id,
        name=shop.name,
        description=shop.description,
        status=str(shop.status),
        currency=str(shop.shipping_fee.currency),
        shipping_fee=shop.shipping_fee.amount,
        deduction_mode=str(shop.deduction_mode),
        opened_at=shop.opened_at,
        scores=ShopScoresOut(scores.count, scores.description, scores.service, scores.logistics)
        if scores
        else None,
    )


def category_out(c: Category) -> CategoryOut:
    return CategoryOut(c.id, c.name, c.parent_id, c.commission_rate_bps)


def category_node_out(node: CategoryNode) -> CategoryNodeOut:
    c = node.category
    return CategoryNodeOut(
        c.id, c.name, c.parent_id, c.commission_rate_bps, [category_node_out(n) for n in node.children]
    )


def _min_price(product: Product) -> int | None:
    prices = [s.price.amount for s in product.skus if s.active]
    return min(prices) if prices else None


def _sku_out(sku: Sku, level: StockLevel | None, privileged: bool) -> SkuOut:
    return SkuOut(
        id=sku.id,
        code=sku.code,
        attributes=dict(sku.attributes),
        price=sku.price.amount,
        market_price=sku.market_price.amount if sku.market_price else None,
        weight_grams=sku.weight_grams,
        active=sku.active,
        available=max(level.available, 0) if level else 0,
        on_hand=level.on_hand if level and privileged else None,
        reserved=level.reserved if level and privileged else None,
        low_stock_threshold=sku.low_stock_threshold if privileged else None,
        deduction_mode=str(sku.deduction_mode or "shop") if privileged else None,
    )


def product_out(view: ProductView, privileged: bool) -> ProductOut:
    p = view.product
    return ProductOut(
        id=p.id,
        shop_id=p.shop_id,
        title=p.title,
        category_id=p.category_id,
        brand=p.brand,
        description=p.description,
        images=list(p.images),
        attributes=dict(p.attributes),
        sales_attributes=[SalesAttributeOut(a.name, list(a.values)) for a in p.sales_attributes],
        status=str(p.status),
        listed=p.listed,
        buyable=p.is_buyable,
        rejection_reason=p.rejection_reason,
        currency=str(p.currency),
        min_price=_min_price(p),
        created_at=p.created_at,
        skus=[_sku_out(s, view.stock.get(s.id), privileged) for s in p.skus],
    )


def product_summary_out(p: Product) -> ProductSummaryOut:
    return ProductSummaryOut(
        id=p.id,
        shop_id=p.shop_id,
        title=p.title,
        category_id=p.category_id,
        brand=p.brand,
        image=p.images[0] if p.images else None,
        status=str(p.status),
        listed=p.listed,
        currency=str(p.currency),
        min_price=_min_price(p),
        created_at=p.created_at,
    )


def cart_out(view: CartView) -> CartOut:
    shops = [
        CartShopOut(
            shop_id=shop.shop_id,
            shop_name=shop.shop_name,
            selected_subtotal=shop.selected_subtotal.amount,
            lines=[
                CartLineOut(
                    sku_id=line.sku_id,
                    product_id=line.product_id,
                    title=line.title,
                    attributes=dict(line.attributes),
                    unit_price=line.unit_price.amount if line.unit_price else None,
                    quantity=line.quantity,
                    line_total=line.unit_price.amount * line.quantity if line.unit_price else None,
                    selected=line.selected,
                    available=line.available,
                    unavailable_reason=line.unavailable_reason,
                )
                for line in shop.lines
            ],
        )
        for shop in view.shops
    ]
    total = view.selected_subtotal
    return CartOut(currency=str(total.currency), selected_subtotal=total.amount, shops=shops)


def _allocation_out(a: Allocation | LineDiscount, coupons: Sequence[str] = ()) -> AllocationOut:
    coupon = a.coupon if isinstance(a, LineDiscount) else a.promotion_id in coupons
    return AllocationOut(a.promotion_id, a.label, a.amount.amount, str(a.funder), a.kind, coupon)


def _applied_out(a: AppliedPromotion, coupons: Sequence[str]) -> AllocationOut:
    return AllocationOut(
        a.promotion_id, a.label, a.amount.amount, str(a.funder), a.kind, a.promotion_id in coupons
    )


def _skipped_out(s: SkippedPromotion) -> SkippedOut:
    return SkippedOut(s.promotion_id, s.label, s.reason, s.detail, s.line_key)


def quote_out(quote: Quote) -> QuoteOut:
    pricing = quote.pricing
    coupons = pricing.coupon_ids
    shops = []
    for shop in pricing.shops:
        lines = []
        for priced in shop.lines:
            facts = quote.lines[priced.line.key]
            lines.append(
                QuoteLineOut(
                    sku_id=facts.sku_id,
                    product_id=facts.product_id,
                    title=facts.title,
                    sku_code=facts.sku_code,
                    attributes=dict(facts.attributes),
                    quantity=priced.line.quantity,
                    unit_price=priced.line.unit_price.amount,
                    subtotal=priced.line.subtotal.amount,
                    discount=priced.discount.amount,
                    total=priced.total.amount,
                    allocations=[_allocation_out(a, coupons) for a in priced.allocations],
                    list_price=priced.list_price.amount,
                    price_source=None if priced.price_source is None else priced.price_source.promotion_id,
                )
            )
        shops.append(
            QuoteShopOut(
                shop_id=shop.shop_id,
                subtotal=shop.subtotal.amount,
                discount=shop.discount.amount,
                shipping=shop.shipping.amount,
                total=shop.total.amount,
                applied=[_applied_out(a, coupons) for a in shop.applied],
                skipped=[_skipped_out(s) for s in shop.skipped],
                hints=[h.text for h in shop.hints],
                lines=lines,
                shipping_fee=shop.shipping_fee.amount,
                shipping_waiver=None
                if shop.shipping_waiver is None
                else _applied_out(shop.shipping_waiver, ()),
                coupon_id=shop.coupon_id,
            )
        )
    suggestion = quote.suggestion
    saves = quote.suggestion_saves
    return QuoteOut(
        currency=str(pricing.currency),
        from_cart=quote.from_cart,
        subtotal=pricing.subtotal.amount,
        discount=pricing.discount.amount,
        shipping=pricing.shipping.amount,
        total=pricing.total.amount,
        shops=shops,
        coupon_ids=list(coupons),
        applied=[_applied_out(a, coupons) for a in pricing.applied],
        skipped=[_skipped_out(s) for s in pricing.skipped],
        hints=[h.text for h in pricing.hints],
        suggestion=None
        if suggestion is None or saves is None
        else SuggestionOut(
            list(suggestion.coupon_ids),
            suggestion.pricing.total.amount,
            suggestion.saving.amount,
            saves.amount,
        ),
    )


def _order_line_out(line: OrderLine) -> OrderLineOut:
    return OrderLineOut(
        id=line.id,
        sku_id=line.sku_id,
        product_id=line.product_id,
        title=line.title,
        sku_code=line.sku_code,
        attributes=dict(line.attributes),
        unit_price=line.unit_price.amount,
        quantity=line.quantity,
        subtotal=line.subtotal.amount,
        discount=line.discount.amount,
        total=line.total.amount,
        shipped_quantity=line.shipped_quantity,
        allocations=[_allocation_out(d) for d in line.discounts],
        flash_sale_id=line.flash_sale_id,
    )


def _applied(lines: Sequence[OrderLine]) -> list[AllocationOut]:
    """Each promotion's total over the order, from the per-line allocations."""
    totals: dict[str, AllocationOut] = {}
    for line in lines:
        for d in line.discounts:
            seen = totals.get(d.promotion_id)
            if seen is None:
                totals[d.promotion_id] = _allocation_out(d)
            else:
                seen.amount += d.amount.amount
    return list(totals.values())


def checkout_out(result: CheckoutResult) -> CheckoutOut:
    c = result.checkout
    return CheckoutOut(
        checkout_id=c.id,
        payment_method=c.payment_method,
        amount_due=c.amount_due.amount,
        currency=str(c.amount_due.currency),
        orders=[
            CheckoutOrderOut(
                id=o.id,
                number=o.number,
                shop_id=o.shop_id,
                status=str(o.status),
                subtotal=o.subtotal.amount,
                discount=o.discount.amount,
                shipping=o.shipping_fee.amount,
                total=o.total.amount,
                applied=_applied(o.lines),
                lines=[_order_line_out(line) for line in o.lines],
            )
            for o in result.orders
        ],
        coupon_ids=list(c.coupon_ids),
    )


def order_summary_out(o: Order) -> OrderSummaryOut:
    return OrderSummaryOut(
        id=o.id,
        number=o.number,
        checkout_id=o.checkout_id,
        shop_id=o.shop_id,
        status=str(o.status),
        payment_method=o.payment_method,
        currency=str(o.currency),
        total=o.total.amount,
        item_count=sum(line.quantity for line in o.lines),
        placed_at=o.placed_at,
    )


def order_out(o: Order) -> OrderOut:
    a = o.address
    return OrderOut(
        id=o.id,
        number=o.number,
        checkout_id=o.checkout_id,
        buyer_id=o.buyer_id,
        shop_id=o.shop_id,
        status=str(o.status),
        payment_method=o.payment_method,
        currency=str(o.currency),
        subtotal=o.subtotal.amount,
        discount=o.discount.amount,
        shipping=o.shipping_fee.amount,
        total=o.total.amount,
        placed_at=o.placed_at,
        paid_at=o.paid_at,
        payment_deadline=o.payment_deadline,
        auto_complete_at=o.auto_complete_at,
        receipt_extended=o.receipt_extended,
        close_reason=o.close_reason,
        address=AddressSnapshotOut(
            a.recipient, a.phone, a.province, a.city, a.district, a.detail, a.postal_code
        ),
        lines=[_order_line_out(line) for line in o.lines],
        history=[
            TransitionOut(
                from_=str(t.from_status) if t.from_status else None,
                to=str(t.to_status),
                actor=t.actor,
                reason=t.reason,
                at=t.at,
            )
            for t in o.history
        ],
        shipments=[
            ShipmentOut(
                s.id,
                s.carrier_code,
                s.tracking_no,
                s.shipped_at,
                [ShipmentLineOut(line.order_line_id, line.quantity) for line in s.lines],
            )
            for s in o.shipments
        ],
        coupon_ids=list(o.coupon_ids),
        shipping_waiver=None if o.shipping_waiver is None else _allocation_out(o.shipping_waiver),
    )


def payment_out(p: Payment) -> PaymentOut:
    return PaymentOut(
        payment_id=p.id,
        checkout_id=p.checkout_id,
        gateway=p.gateway,
        status=str(p.status),
        amount=p.amount.amount,
        currency=str(p.amount.currency),
        next_action=NextActionOut(str(p.next_action.kind), p.next_action.value),
        failure_reason=p.failure_reason,
        created_at=p.created_at,
        completed_at=p.completed_at,
        refunds=[refund_out(r) for r in p.refunds],
        review=None
        if p.review is None
        else PaymentReviewOut(
            p.review.reason,
            None if p.review.reported_amount is None else p.review.reported_amount.amount,
            p.review.flagged_at,
        ),
    )


def refund_out(r: Refund) -> RefundOut:
    return RefundOut(
        r.id,
        r.amount.amount,
        str(r.status),
        r.reason,
        r.created_at,
        r.order_id,
        r.submitted_at,
        r.failure_reason,
        r.requested_by,
    )


def review_out(r: Review) -> ReviewOut:
    scores = r.shop_scores
    return ReviewOut(
        id=r.id,
        order_id=r.order_id,
        order_line_id=r.order_line_id,
        product_id=r.product_id,
        sku_id=r.sku_id,
        shop_id=r.shop_id,
        author_name=r.author_name,
        anonymous=r.anonymous,
        rating=r.rating,
        content=r.content,
        images=list(r.images),
        shop_scores=ShopScoresReviewOut(scores.description, scores.service, scores.logistics)
        if scores
        else None,
        created_at=r.created_at,
    )


def summary_out(s: RatingSummary) -> RatingSummaryOut:
    return RatingSummaryOut(s.count, s.average, s.good_rate)


def blacklist_out(e: BlacklistEntry) -> BlacklistOut:
    return BlacklistOut(e.id, str(e.kind), e.value, e.reason, e.added_by, e.added_at)


def page_out(items: list[T], next_cursor: str | None) -> PageOut[T]:
    return PageOut(items=items, next_cursor=next_cursor)
