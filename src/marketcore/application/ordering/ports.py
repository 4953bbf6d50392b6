"""Ordering ports. Ordering orchestrates the core contexts, so its unit of work spans them."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from marketcore.application.cart.ports import CartRepository
from marketcore.application.catalog.ports import CategoryRepository, ProductRepository
from marketcore.application.identity.ports import UserRepository
from marketcore.application.inventory.ports import StockLedger
from marketcore.application.payments.ports import InboxRepository, PaymentRepository
from marketcore.application.promotions.ports import (
    CouponRepository,
    FlashSaleRepository,
    PromotionCounters,
    PromotionRepository,
)
from marketcore.application.risk.ports import RiskUnitOfWork
from marketcore.application.shared.ports import Page, PageRequest
from marketcore.application.shops.ports import ShopRepository
from marketcore.domain.ordering.orders import Checkout, Order, OrderStatus


class CheckoutRepository(Protocol):
    def get(self, checkout_id: str) -> Checkout | None: ...

    def get_by_idempotency_key(self, buyer_id: str, key: str) -> Checkout | None: ...

    def add(self, checkout: Checkout) -> None: ...


class OrderRepository(Protocol):
    def get(self, order_id: str, *, lock: bool = False) -> Order | None:
        """``lock`` holds the order until the transaction ends. Use cases lock documents before
        touching stock rows, so concurrent transactions take locks in one order and never deadlock."""
        ...

    def add(self, order: Order) -> None: ...

    def for_checkout(self, checkout_id: str, *, lock: bool = False) -> list[Order]: ...

    def for_buyer(self, buyer_id: str, status: OrderStatus | None, page: PageRequest) -> Page[Order]: ...

    def for_shop(self, shop_id: str, status: OrderStatus | None, page: PageRequest) -> Page[Order]: ...

    def claim_due(self, now: datetime, limit: int) -> list[Order]:
        """Orders whose ``due_at`` has passed, locked for this transaction. Rows another
        transaction holds are skipped, so several workers never take the same order."""
        ...

    def holding_stock(self) -> list[Order]:
        """Every order that may still hold reserved stock (awaiting payment or unpaid shipment)."""
        ...


class OrderingUnitOfWork(RiskUnitOfWork, Protocol):
    users: UserRepository
    shops: ShopRepository
    products: ProductRepository
    categories: CategoryRepository  # read when an offer is scoped by category
    stock: StockLedger
    carts: CartRepository
    promotions: PromotionRepository
    coupons: CouponRepository  # the buyer's held coupons; locked, used or returned by checkout
    flash_sales: FlashSaleRepository
    promotion_counters: PromotionCounters  # flash-sale quota taken and given back
    checkouts: CheckoutRepository
    orders: OrderRepository
    payments: PaymentRepository
    inbox: InboxRepository
