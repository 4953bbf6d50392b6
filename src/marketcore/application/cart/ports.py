"""Cart ports."""

from __future__ import annotations

from typing import Protocol

from marketcore.application.catalog.ports import ProductRepository
from marketcore.application.inventory.ports import StockLedger
from marketcore.application.shared.ports import UnitOfWork
from marketcore.application.shops.ports import ShopRepository
from marketcore.domain.cart.carts import Cart


class CartRepository(Protocol):
    def get(self, buyer_id: str) -> Cart | None: ...

    def add(self, cart: Cart) -> None: ...


class CartUnitOfWork(UnitOfWork, Protocol):
    carts: CartRepository
    products: ProductRepository
    shops: ShopRepository
    stock: StockLedger
