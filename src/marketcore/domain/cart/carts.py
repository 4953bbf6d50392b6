"""A buyer's cart across shops. One cart per buyer; its id is the buyer's id."""

from __future__ import annotations

import attrs

from marketcore.domain.shared.errors import InvalidInput, NotFound
from marketcore.domain.shared.events import Aggregate

MAX_QUANTITY_PER_ITEM = 999
MAX_ITEMS = 120


def check_quantity(quantity: int, field: str = "quantity") -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise InvalidInput(field, "must be a whole number")
    if not 1 <= quantity <= MAX_QUANTITY_PER_ITEM:
        raise InvalidInput(field, f"must be 1 to {MAX_QUANTITY_PER_ITEM}")
    return quantity


@attrs.define
class CartItem:
    sku_id: str
    product_id: str
    shop_id: str
    quantity: int
    selected: bool = True


@attrs.define(eq=False)
class Cart(Aggregate):
    items: list[CartItem] = attrs.Factory(list)

    def add(self, sku_id: str, product_id: str, shop_id: str, quantity: int) -> CartItem:
        """Adding an SKU already in the cart adds to its quantity, capped by the per-item limit."""
        check_quantity(quantity)
        for item in self.items:
            if item.sku_id == sku_id:
                item.quantity = check_quantity(item.quantity + quantity)
                item.selected = True
                return item
        if len(self.items) >= MAX_ITEMS:
            raise InvalidInput("sku_id", f"a cart holds at most {MAX_ITEMS} items")
        item = CartItem(sku_id, product_id, shop_id, quantity)
        self.items.append(item)
        return item

    def item(self, sku_id: str) -> CartItem:
        for item in self.items:
            if item.sku_id == sku_id:
                return item
        raise NotFound("cart item", sku_id)

    def update(self, sku_id: str, quantity: int | None, selected: bool | None) -> CartItem:
        item = self.item(sku_id)
        if quantity is not None:
            item.quantity = check_quantity(quantity)
        if selected is not None:
            item.selected = selected
        return item

    def remove(self, sku_id: str) -> None:
        self.items.remove(self.item(sku_id))

    def remove_ordered(self, quantities: dict[str, int]) -> None:
        """Take ordered quantities out of the cart once a checkout has placed them."""
        kept: list[CartItem] = []
        for item in self.items:
            ordered = quantities.get(item.sku_id, 0)
            if ordered < item.quantity:
                item.quantity -= ordered
                kept.append(item)
        self.items = kept

    @property
    def selected_items(self) -> list[CartItem]:
        return [item for item in self.items if item.selected]
