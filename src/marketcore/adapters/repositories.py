"""Every aggregate repository, written once over the ``DocumentStore`` protocol.

The memory and SQLAlchemy units of work differ only in the store and stock ledger they open;
``Repositories`` hangs the same repository objects on both.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Generic

import attrs
import msgspec

from marketcore.adapters.documents import (
    A,
    Between,
    Column,
    ColumnValue,
    Contains,
    DocumentSpec,
    DocumentStore,
    Eq,
    Filter,
    In,
    Order,
    encode_body,
)
from marketcore.application.cart import ports as cart_ports
from marketcore.application.catalog import ports as catalog_ports
from marketcore.application.catalog.ports import ProductQuery, ProductSort
from marketcore.application.identity import ports as identity_ports
from marketcore.application.inventory.ports import StockLedger
from marketcore.application.ordering import ports as ordering_ports
from marketcore.application.payments import ports as payments_ports
from marketcore.application.promotions import ports as promotions_ports
from marketcore.application.reviews import ports as reviews_ports
from marketcore.application.reviews.ports import RatingSummary, ShopScoreSummary
from marketcore.application.risk import ports as risk_ports
from marketcore.application.shared.ports import Page, PageRequest
from marketcore.application.shops import ports as shops_ports
from marketcore.domain.cart.carts import Cart
from marketcore.domain.catalog.categories import Category
from marketcore.domain.catalog.products import Product, ProductStatus
from marketcore.domain.identity.users import User
from marketcore.domain.ordering.orders import Checkout, OrderStatus
from marketcore.domain.ordering.orders import Order as ShopOrder
from marketcore.domain.payments.inbox import InboxMessage
from marketcore.domain.payments.payments import Payment
from marketcore.domain.promotions.coupons import Coupon, CouponStatus, CouponTemplate, TemplateStatus
from marketcore.domain.promotions.flash_sales import FlashSale, FlashSaleStatus
from marketcore.domain.promotions.kinds import BUILT_IN_KINDS, default_rule_kinds
from marketcore.domain.promotions.promotions import FullReduction, Promotion
from marketcore.domain.promotions.rules import RuleKind, RuleKinds
from marketcore.domain.promotions.scope import EVERYTHING, Scope
from marketcore.domain.reviews.reviews import Review
from marketcore.domain.risk.rules import BlacklistEntry, EventKind, RiskRecord
from marketcore.domain.shared.errors import InvalidInput
from marketcore.domain.shops.shops import ApplicationStatus, Shop, ShopApplication

MAX_PAGE = 100
PLATFORM = "platform"  # the owner column of the platform's promotions and coupon templates
FOREVER = 2**62  # the ends_at column of a window open at its end, so range filters keep it
MAX_HELD_COUPONS = 200  # what checkout prices from (best_coupons considers no more)


def _millis(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _owner(shop_id: str | None) -> str:
    return PLATFORM if shop_id is None else shop_id


USERS = DocumentSpec("users", User, keys=lambda u: [f"email:{u.email}"])
SHOP_APPLICATIONS = DocumentSpec(
    "shop_applications",
    ShopApplication,
    columns=(Column("applicant_id", str), Column("status", str)),
    extract=lambda a: {"applicant_id": a.applicant_id, "status": a.status.value},
)
SHOPS = DocumentSpec(
    "shops",
    Shop,
    columns=(Column("owner_id", str), Column("status", str)),
    extract=lambda s: {"owner_id": s.owner_id, "status": s.status.value},
    cacheable=True,
)
CATEGORIES = DocumentSpec(
    "categories", Category, columns=(Column("parent_id", str),), extract=lambda c: {"parent_id": c.parent_id}
)
PRODUCTS = DocumentSpec(
    "products",
    Product,
    columns=(
        Column("shop_id", str),
        Column("category_id", str),
        Column("status", str),
        Column("listed", bool),
        Column("title", str),
        Column("min_price", int),
    ),
    extract=lambda p: {
        "shop_id": p.shop_id,
        "category_id": p.category_id,
        "status": p.status.value,
        "listed": p.listed,
        "title": p.title,
        "min_price": p.min_price,
    },
    keys=lambda p: [f"sku:{s.id}" for s in p.skus],
    cacheable=True,
)
CARTS = DocumentSpec("carts", Cart)


@attrs.frozen
class PromotionSpec(DocumentSpec[Promotion]):
    """Promotions store their rule as ``{"kind": code, "params": {...}}`` and decode it through
    the deployment's ``RuleKinds``, so integrators' kinds load like the built-in ones.

    Documents of the skeleton's ``FullReduction`` (tiers at the top level, no ``rule``) load as
    ``full_reduction`` promotions and are written in the new shape the next time they change.
    """

    kinds: RuleKinds = attrs.field(factory=default_rule_kinds, kw_only=True)
    # Built-in rules are frozen values: one decoded object serves every load of the same params
    # (checkout loads its shops' promotions every time). Integrators' kinds are decoded each time.
    _rules: dict[tuple[str, bytes], RuleKind] = attrs.field(
        factory=dict, init=False, eq=False, hash=False, repr=False
    )

    def _rule(self, code: str, params: Any) -> RuleKind:
        if self.kinds.get(code) not in BUILT_IN_KINDS:
            return self.kinds.decode(code, params)
        key = (code, msgspec.json.encode(params))
        rule = self._rules.get(key)
        if rule is None:
            rule = self.kinds.decode(code, params)
            if len(self._rules) >= 1000:
                self._rules.clear()
            self._rules[key] = rule
        return rule

    def encode(self, aggregate: Promotion) -> bytes:
        p = aggregate
        return encode_body(
            {
                "id": p.id,
                "name": p.name,
                "shop_id": p.shop_id,
                "starts_at": p.starts_at,
                "ends_at": p.ends_at,
                "scope": p.scope,
                "group": p.group,
                "priority": p.priority,
                "enabled": p.enabled,
                "rule": RuleKinds.encode(p.rule),
            }
        )

    def decode(self, data: Mapping[str, Any], version: int) -> Promotion:
        if "rule" not in data:
            promotion = msgspec.convert(dict(data), FullReduction).as_promotion()
        else:
            rule = data["rule"]
            promotion = Promotion(
                data["id"],
                name=data["name"],
                shop_id=data["shop_id"],
                rule=self._rule(rule["kind"], rule["params"]),
                starts_at=msgspec.convert(data["starts_at"], datetime | None),
                ends_at=msgspec.convert(data["ends_at"], datetime | None),
                scope=msgspec.convert(data["scope"], Scope) if data.get("scope") else EVERYTHING,
                group=data.get("group"),
                priority=data.get("priority"),
                enabled=data.get("enabled", True),
            )
        promotion.version = version
        return promotion


def _promotion_columns(p: Promotion) -> dict[str, ColumnValue]:
    return {
        "shop_id": p.shop_id,
        "owner": _owner(p.shop_id),
        "kind": p.rule.code,
        "ends_at": FOREVER if p.ends_at is None else _millis(p.ends_at),
    }


_PROMOTION_COLUMNS = (
    Column("shop_id", str),
    Column("ends_at", int),
    Column("owner", str),
    Column("kind", str),
)


@functools.cache
def promotion_spec(kinds: RuleKinds) -> PromotionSpec:
    """The promotions spec decoding through ``kinds`` (one per registry)."""
    return PromotionSpec(
        "promotions", Promotion, _PROMOTION_COLUMNS, _promotion_columns, collection_cached=True, kinds=kinds
    )


DEFAULT_RULE_KINDS = default_rule_kinds()  # for units of work bootstrap did not give a registry
PROMOTIONS = promotion_spec(DEFAULT_RULE_KINDS)


def _claim_ends(t: CouponTemplate) -> int:
    """Claims end at ``claim_until``, or earlier when fixed-window coupons would expire first."""
    ends = t.claim_until if t.valid_until is None else min(t.claim_until, t.valid_until)
    return _millis(ends)


COUPON_TEMPLATES = DocumentSpec(
    "coupon_templates",
    CouponTemplate,
    columns=(
        Column("owner", str),
        Column("status", str),
        Column("claim_from", int),
        Column("claim_ends", int),
    ),
    extract=lambda t: {
        "owner": _owner(t.shop_id),
        "status": t.status.value,
        "claim_from": _millis(t.claim_from),
        "claim_ends": _claim_ends(t),
    },
)
COUPONS = DocumentSpec(
    "coupons",
    Coupon,
    columns=(
        Column("buyer_id", str),
        Column("template_id", str),
        Column("status", str),
        Column("checkout_id", str),
        Column("valid_until", int),
    ),
    extract=lambda c: {
        "buyer_id": c.buyer_id,
        "template_id": c.template_id,
        "status": c.status.value,
        "checkout_id": c.checkout_id,
        "valid_until": _millis(c.valid_until),
    },
)
FLASH_SALES = DocumentSpec(
    "flash_sales",
    FlashSale,
    columns=(Column("shop_id", str), Column("sku_id", str), Column("status", str), Column("ends_at", int)),
    extract=lambda f: {
        "shop_id": f.shop_id,
        "sku_id": f.sku_id,
        "status": f.status.value,
        "ends_at": _millis(f.ends_at),
    },
)
CHECKOUTS = DocumentSpec(
    "checkouts",
    Checkout,
    columns=(Column("buyer_id", str, indexed=False),),  # no query filters on it (migration 0009)
    extract=lambda c: {"buyer_id": c.buyer_id},
    keys=lambda c: [f"idempotency:{c.buyer_id}:{c.idempotency_key}"] if c.idempotency_key else [],
)
ORDERS = DocumentSpec(
    "orders",
    ShopOrder,
    columns=(
        Column("buyer_id", str),
        Column("shop_id", str),
        Column("checkout_id", str),
        Column("status", str),
        Column("due_at", int),
    ),
    extract=lambda o: {
        "buyer_id": o.buyer_id,
        "shop_id": o.shop_id,
        "checkout_id": o.checkout_id,
        "status": o.status.value,
        "due_at": _millis(o.due_at) if o.due_at else None,
    },
    keys=lambda o: [f"order-number:{o.number}"],
)


def _payment_keys(payment: Payment) -> list[str]:
    """The buyer's idempotency key, and while it is open one payment per checkout, gateway and
    set of orders, so racing starts cannot open two."""
    keys = (
        [f"payment-idempotency:{payment.buyer_id}:{payment.idempotency_key}"]
        if payment.idempotency_key
        else []
    )
    if payment.is_open:
        orders = hashlib.sha256(",".join(sorted(payment.order_amounts)).encode()).hexdigest()[:32]
        keys.append(f"open-payment:{payment.checkout_id}:{payment.gateway}:{orders}")
    return keys


PAYMENTS = DocumentSpec(
    "payments",
    Payment,
    columns=(
        Column("checkout_id", str),
        Column("status", str),
        Column("check_at", int),
        Column("flagged", bool),
    ),
    extract=lambda p: {
        "checkout_id": p.checkout_id,
        "status": p.status.value,
        "check_at": _millis(p.check_at) if p.check_at else None,
        "flagged": True if p.review else None,
    },
    keys=lambda p: _payment_keys(p),
)
PAYMENT_INBOX = DocumentSpec(
    "payment_inbox",
    InboxMessage,
    columns=(Column("gateway", str), Column("due_at", int)),
    extract=lambda m: {"gateway": m.gateway, "due_at": _millis(m.due_at) if m.due_at else None},
)
REVIEWS = DocumentSpec(
    "reviews",
    Review,
    columns=(Column("product_id", str), Column("shop_id", str), Column("rating", int)),
    extract=lambda r: {"product_id": r.product_id, "shop_id": r.shop_id, "rating": r.rating},
    keys=lambda r: [f"review-line:{r.order_line_id}"],
)
BLACKLIST = DocumentSpec("blacklist", BlacklistEntry, collection_cached=True)
RISK_RECORDS = DocumentSpec(
    "risk_records",
    RiskRecord,
    columns=(Column("user_id", str), Column("kind", str, indexed=False), Column("at", int, indexed=False)),
    extract=lambda r: {"user_id": r.user_id, "kind": r.kind.value, "at": _millis(r.at)},
    # The velocity count (one user, one kind, a time window) is the only query: one composite
    # index serves it, and every checkout's insert maintains that one instead of four.
    indexes=(("user_id", "kind", "at"),),
)

ALL_SPECS: list[DocumentSpec[Any]] = [
    USERS,
    SHOP_APPLICATIONS,
    SHOPS,
    CATEGORIES,
    PRODUCTS,
    CARTS,
    PROMOTIONS,
    COUPON_TEMPLATES,
    COUPONS,
    FLASH_SALES,
    CHECKOUTS,
    ORDERS,
    PAYMENTS,
    PAYMENT_INBOX,
    REVIEWS,
    BLACKLIST,
    RISK_RECORDS,
]


def _offset(page: PageRequest) -> tuple[int, int]:
    """Cursors are opaque to clients; here they carry an offset."""
    if not 1 <= page.limit <= MAX_PAGE:
        raise InvalidInput("limit", f"must be 1 to {MAX_PAGE}")
    if page.cursor is None:
        return 0, page.limit
    if not page.cursor.isdigit() or len(page.cursor) > 9:
        raise InvalidInput("cursor", "not a cursor this API returned")
    return int(page.cursor), page.limit


class DocumentRepository(Generic[A]):
    def __init__(self, store: DocumentStore, spec: DocumentSpec[A]) -> None:
        self._store = store
        self._spec = spec

    def get(self, ident: str, *, lock: bool = False) -> A | None:
        """``lock``: hold the row until the transaction ends (see ``DocumentStore.find``)."""
        if lock:
            found = self._store.find(self._spec, [Eq("id", ident)], lock="wait")
            return found[0] if found else None
        return self._store.get(self._spec, ident)

    def add(self, aggregate: A) -> None:
        self._store.add(self._spec, aggregate)

    def _find(self, filters: Sequence[Filter], order: Sequence[Order] = (Order(),)) -> list[A]:
        return self._store.find(self._spec, filters, order)

    def _page(
        self, filters: Sequence[Filter], page: PageRequest, order: Sequence[Order] = (Order(),)
    ) -> Page[A]:
        offset, limit = _offset(page)
        items = self._store.find(self._spec, filters, order, limit + 1, offset)
        more = len(items) > limit
        return Page(items[:limit], str(offset + limit) if more else None)


class UserRepository(DocumentRepository[User]):
    def get_by_email(self, email: str) -> User | None:
        return self._store.get_by_key(self._spec, f"email:{email}")


class ShopApplicationRepository(DocumentRepository[ShopApplication]):
    def list(self, status: ApplicationStatus | None, page: PageRequest) -> Page[ShopApplication]:
        return self._page([Eq("status", status.value)] if status else [], page)


class ShopRepository(DocumentRepository[Shop]):
    def get_many(self, shop_ids: Iterable[str]) -> dict[str, Shop]:
        wanted = sorted(set(shop_ids))
        if not wanted:
            return {}
        return {shop.id: shop for shop in self._find([In("id", wanted)])}

    def owned_by(self, user_id: str) -> list[Shop]:
        return self._find([Eq("owner_id", user_id)])


class CategoryRepository(DocumentRepository[Category]):
    def all(self) -> list[Category]:
        return self._find([])

    def has_children(self, category_id: str) -> bool:
        return self._store.count(self._spec, [Eq("parent_id", category_id)]) > 0


_SORTS = {
    ProductSort.NEWEST: (Order("id", True),),
    ProductSort.PRICE_ASC: (Order("min_price", False), Order("id", True)),
    ProductSort.PRICE_DESC: (Order("min_price", True), Order("id", True)),
}


class ProductRepository(DocumentRepository[Product]):
    def get_by_sku(self, sku_id: str) -> Product | None:
        return self._store.get_by_key(self._spec, f"sku:{sku_id}")

    def get_by_skus(self, sku_ids: Sequence[str]) -> dict[str, Product]:
        found = self._store.get_by_keys(self._spec, [f"sku:{sku_id}" for sku_id in sku_ids])
        return {key.removeprefix("sku:"): product for key, product in found.items()}

    def search(self, query: ProductQuery, page: PageRequest) -> Page[Product]:
        filters: list[Filter] = []
        if query.only_buyable:
            filters += [Eq("status", ProductStatus.APPROVED.value), Eq("listed", True)]
        if query.text:
            filters.append(Contains("title", query.text))
        if query.category_id:
            filters.append(Eq("category_id", query.category_id))
        if query.shop_id:
            filters.append(Eq("shop_id", query.shop_id))
        if query.min_price is not None or query.max_price is not None:
            filters.append(Between("min_price", query.min_price, query.max_price))
        return self._page(filters, page, _SORTS[query.sort])

    def pending_review(self, page: PageRequest) -> Page[Product]:
        return self._page([Eq("status", ProductStatus.PENDING_REVIEW.value)], page, (Order("id", False),))


class CartRepository(DocumentRepository[Cart]):
    pass


class PromotionRepository(DocumentRepository[Promotion]):
    def for_shop(self, shop_id: str) -> list[Promotion]:
        return self._find([Eq("owner", shop_id)])

    def listing(self, shop_id: str | None, page: PageRequest) -> Page[Promotion]:
        return self._page([Eq("owner", _owner(shop_id))], page)

    def active_for_shops(self, shop_ids: Iterable[str], at: datetime) -> list[Promotion]:
        return self._active(sorted(set(shop_ids)), at)

    def active_for_checkout(self, shop_ids: Iterable[str], at: datetime) -> list[Promotion]:
        return self._active([*sorted(set(shop_ids)), PLATFORM], at)

    def _active(self, owners: list[str], at: datetime) -> list[Promotion]:
        """Not ended by the start of the minute by the columns (one query a minute, so its
        result can be cached); started, enabled and not ended checked on the documents."""
        if not owners:
            return []
        minute = _millis(at) // 60_000 * 60_000
        candidates = self._find([In("owner", owners), Between("ends_at", minute + 1, None)])
        return [p for p in candidates if p.is_active(at)]


class CouponTemplateRepository(DocumentRepository[CouponTemplate]):
    def listing(self, shop_id: str | None, page: PageRequest) -> Page[CouponTemplate]:
        return self._page([Eq("owner", _owner(shop_id))], page)

    def claimable(
        self, at: datetime, page: PageRequest, *, shop_id: str | None = None
    ) -> Page[CouponTemplate]:
        now = _millis(at)
        filters: list[Filter] = [
            Eq("status", TemplateStatus.ACTIVE.value),
            Between("claim_from", None, now),
            Between("claim_ends", now + 1, None),
        ]
        if shop_id is not None:
            filters.append(Eq("owner", shop_id))
        return self._page(filters, page)


class CouponRepository(DocumentRepository[Coupon]):
    def get_many(self, coupon_ids: Sequence[str], *, lock: bool = False) -> dict[str, Coupon]:
        wanted = sorted(set(coupon_ids))
        if not wanted:
            return {}
        found = self._store.find(
            self._spec, [In("id", wanted)], (Order("id", False),), lock="wait" if lock else None
        )
        return {coupon.id: coupon for coupon in found}

    def for_buyer(self, buyer_id: str, status: CouponStatus | None, page: PageRequest) -> Page[Coupon]:
        filters: list[Filter] = [Eq("buyer_id", buyer_id)]
        if status is not None:
            filters.append(Eq("status", status.value))
        return self._page(filters, page)

    def usable_by(self, buyer_id: str, at: datetime) -> list[Coupon]:
        filters: list[Filter] = [
            Eq("buyer_id", buyer_id),
            Eq("status", CouponStatus.AVAILABLE.value),
            Between("valid_until", _millis(at) + 1, None),
        ]
        found = self._store.find(self._spec, filters, (Order(),), MAX_HELD_COUPONS)
        return [c for c in found if at < c.valid_until]

    def for_checkout(self, checkout_id: str, *, lock: bool = False) -> list[Coupon]:
        return self._store.find(
            self._spec, [Eq("checkout_id", checkout_id)], (Order("id", False),), lock="wait" if lock else None
        )


class FlashSaleRepository(DocumentRepository[FlashSale]):
    def listing(self, shop_id: str, page: PageRequest) -> Page[FlashSale]:
        return self._page([Eq("shop_id", shop_id)], page)

    def running_for_skus(self, sku_ids: Iterable[str], at: datetime) -> list[FlashSale]:
        wanted = sorted(set(sku_ids))
        if not wanted:
            return []
        candidates = self._find(
            [
                In("sku_id", wanted),
                Eq("status", FlashSaleStatus.SCHEDULED.value),
                Between("ends_at", _millis(at) + 1, None),
            ]
        )
        return [sale for sale in candidates if sale.is_running(at)]

    def get_many(self, flash_sale_ids: Sequence[str], *, lock: bool = False) -> dict[str, FlashSale]:
        wanted = sorted(set(flash_sale_ids))
        if not wanted:
            return {}
        found = self._store.find(
            self._spec, [In("id", wanted)], (Order("id", False),), lock="wait" if lock else None
        )
        return {sale.id: sale for sale in found}

    def not_ended(self, at: datetime, page: PageRequest) -> Page[FlashSale]:
        return self._page(
            [Eq("status", FlashSaleStatus.SCHEDULED.value), Between("ends_at", _millis(at) + 1, None)],
            page,
            (Order("ends_at", False), Order("id", False)),
        )

    def claim_ended(self, now: datetime, limit: int) -> list[FlashSale]:
        return self._store.find(
            self._spec,
            [Eq("status", FlashSaleStatus.SCHEDULED.value), Between("ends_at", None, _millis(now))],
            (Order("ends_at", False),),
            limit,
            lock="skip",
        )

    def holding_stock(self) -> list[FlashSale]:
        return self._find([Eq("status", FlashSaleStatus.SCHEDULED.value)], (Order("id", False),))

    def scheduled_for_sku(self, sku_id: str) -> list[FlashSale]:
        return self._find([Eq("sku_id", sku_id), Eq("status", FlashSaleStatus.SCHEDULED.value)])


class CheckoutRepository(DocumentRepository[Checkout]):
    def get_by_idempotency_key(self, buyer_id: str, key: str) -> Checkout | None:
        return self._store.get_by_key(self._spec, f"idempotency:{buyer_id}:{key}")


class OrderRepository(DocumentRepository[ShopOrder]):
    def for_checkout(self, checkout_id: str, *, lock: bool = False) -> list[ShopOrder]:
        return self._store.find(
            self._spec, [Eq("checkout_id", checkout_id)], (Order("id", False),), lock="wait" if lock else None
        )

    def for_buyer(self, buyer_id: str, status: OrderStatus | None, page: PageRequest) -> Page[ShopOrder]:
        filters: list[Filter] = [Eq("buyer_id", buyer_id)]
        if status:
            filters.append(Eq("status", status.value))
        return self._page(filters, page)

    def for_shop(self, shop_id: str, status: OrderStatus | None, page: PageRequest) -> Page[ShopOrder]:
        filters: list[Filter] = [Eq("shop_id", shop_id)]
        if status:
            filters.append(Eq("status", status.value))
        return self._page(filters, page)

    def claim_due(self, now: datetime, limit: int) -> list[ShopOrder]:
        return self._store.find(
            self._spec, [Between("due_at", None, _millis(now))], (Order("due_at", False),), limit, lock="skip"
        )

    def holding_stock(self) -> list[ShopOrder]:
        statuses = [OrderStatus.PENDING_PAYMENT.value, OrderStatus.AWAITING_SHIPMENT.value]
        return self._find([In("status", statuses)], (Order("id", False),))


class PaymentRepository(DocumentRepository[Payment]):
    def for_checkout(self, checkout_id: str) -> list[Payment]:
        return self._find([Eq("checkout_id", checkout_id)], (Order("id", False),))

    def get_by_idempotency_key(self, buyer_id: str, key: str) -> Payment | None:
        return self._store.get_by_key(self._spec, f"payment-idempotency:{buyer_id}:{key}")

    def claim_due_checks(self, now: datetime, limit: int) -> list[Payment]:
        return self._store.find(
            self._spec,
            [Between("check_at", None, _millis(now))],
            (Order("check_at", False),),
            limit,
            lock="skip",
        )

    def flagged(self, page: PageRequest) -> Page[Payment]:
        return self._page([Eq("flagged", True)], page, (Order("id", False),))


class InboxRepository(DocumentRepository[InboxMessage]):
    def claim_due(self, now: datetime, limit: int) -> list[InboxMessage]:
        return self._store.find(
            self._spec, [Between("due_at", None, _millis(now))], (Order("due_at", False),), limit, lock="skip"
        )


class ReviewRepository(DocumentRepository[Review]):
    def get_for_line(self, order_line_id: str) -> Review | None:
        return self._store.get_by_key(self._spec, f"review-line:{order_line_id}")

    def for_product(self, product_id: str, page: PageRequest) -> Page[Review]:
        return self._page([Eq("product_id", product_id)], page)

    def summary_for_product(self, product_id: str) -> RatingSummary:
        counts = {
            stars: self._store.count(self._spec, [Eq("product_id", product_id), Eq("rating", stars)])
            for stars in range(1, 6)
        }
        total = sum(counts.values())
        if total == 0:
            return RatingSummary(0, None, None)
        average = sum(stars * n for stars, n in counts.items()) / total
        return RatingSummary(total, round(average, 2), round((counts[4] + counts[5]) / total, 4))

    def shop_scores(self, shop_id: str, since: datetime) -> ShopScoreSummary:
        """Averaged in Python over the shop's recent reviews; a read model replaces this at scale."""
        scored = [
            r.shop_scores
            for r in self._find([Eq("shop_id", shop_id)])
            if r.shop_scores is not None and r.created_at >= since
        ]
        if not scored:
            return ShopScoreSummary(0, None, None, None)

        def mean(values: list[int]) -> float:
            return round(sum(values) / len(values), 2)

        return ShopScoreSummary(
            len(scored),
            mean([s.description for s in scored]),
            mean([s.service for s in scored]),
            mean([s.logistics for s in scored]),
        )


class BlacklistRepository(DocumentRepository[BlacklistEntry]):
    def matching(self, keys: list[str]) -> list[BlacklistEntry]:
        return self._find([In("id", sorted(set(keys)))]) if keys else []


class RiskRecordRepository(DocumentRepository[RiskRecord]):
    def count(self, user_id: str, kind: EventKind, since: datetime, at_most: int | None = None) -> int:
        return self._store.count(
            self._spec,
            [Eq("user_id", user_id), Eq("kind", kind.value), Between("at", _millis(since), None)],
            at_most,
        )


class Repositories:
    """Mixed into both units of work: the same repositories over whichever store is open.

    Attributes are typed with the application's port protocols, so mypy can prove that one unit
    of work satisfies every context's unit-of-work protocol (see ``bootstrap/container.py``).
    """

    documents: DocumentStore
    stock: StockLedger
    users: identity_ports.UserRepository
    shop_applications: shops_ports.ShopApplicationRepository
    shops: shops_ports.ShopRepository
    categories: catalog_ports.CategoryRepository
    products: catalog_ports.ProductRepository
    carts: cart_ports.CartRepository
    promotions: promotions_ports.PromotionRepository
    coupon_templates: promotions_ports.CouponTemplateRepository
    coupons: promotions_ports.CouponRepository
    flash_sales: promotions_ports.FlashSaleRepository
    promotion_counters: promotions_ports.PromotionCounters
    rule_kinds: RuleKinds | None = None  # bootstrap's registry; None: the built-in kinds
    checkouts: ordering_ports.CheckoutRepository
    orders: ordering_ports.OrderRepository
    payments: payments_ports.PaymentRepository
    inbox: payments_ports.InboxRepository
    reviews: reviews_ports.ReviewRepository
    blacklist: risk_ports.BlacklistRepository
    risk_records: risk_ports.RiskRecordRepository

    def _attach_repositories(self) -> None:
        store = self.documents
        self.users = UserRepository(store, USERS)
        self.shop_applications = ShopApplicationRepository(store, SHOP_APPLICATIONS)
        self.shops = ShopRepository(store, SHOPS)
        self.categories = CategoryRepository(store, CATEGORIES)
        self.products = ProductRepository(store, PRODUCTS)
        self.carts = CartRepository(store, CARTS)
        self.promotions = PromotionRepository(store, promotion_spec(self.rule_kinds or DEFAULT_RULE_KINDS))
        self.coupon_templates = CouponTemplateRepository(store, COUPON_TEMPLATES)
        self.coupons = CouponRepository(store, COUPONS)
        self.flash_sales = FlashSaleRepository(store, FLASH_SALES)
        self.checkouts = CheckoutRepository(store, CHECKOUTS)
        self.orders = OrderRepository(store, ORDERS)
        self.payments = PaymentRepository(store, PAYMENTS)
        self.inbox = InboxRepository(store, PAYMENT_INBOX)
        self.reviews = ReviewRepository(store, REVIEWS)
        self.blacklist = BlacklistRepository(store, BLACKLIST)
        self.risk_records = RiskRecordRepository(store, RISK_RECORDS)
