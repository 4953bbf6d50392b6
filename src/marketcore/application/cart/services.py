"""The buyer's cart, re-priced from the catalog whenever it is read."""

from __future__ import annotations

import attrs

from marketcore.application.cart.ports import CartUnitOfWork
from marketcore.application.shared.services import Service
from marketcore.domain.cart.carts import Cart, check_quantity
from marketcore.domain.shared.actors import Actor
from marketcore.domain.shared.errors import NotFound
from marketcore.domain.shared.money import Money


@attrs.frozen
class CartLine:
    sku_id: str
    product_id: str
    title: str
    attributes: dict[str, str]
    unit_price: Money | None  # None when the SKU is gone from the catalog
    quantity: int
    selected: bool
    available: bool  # buyable now, in the wanted quantity
    unavailable_reason: str | None


@attrs.frozen
class CartShop:
    shop_id: str
    shop_name: str
    lines: tuple[CartLine, ...]

    @property
    def selected_subtotal(self) -> Money:
        return Money.sum(
            line.unit_price * line.quantity
            for line in self.lines
            if line.selected and line.available and line.unit_price is not None
        )


@attrs.frozen
class CartView:
    shops: tuple[CartShop, ...]

    @property
    def selected_subtotal(self) -> Money:
        return Money.sum(shop.selected_subtotal for shop in self.shops)


class CartService(Service[CartUnitOfWork]):
    def view(self, actor: Actor) -> CartView:
        buyer_id = actor.require_user()
        with self._reader() as uow:
            return self._view(uow, uow.carts.get(buyer_id) or Cart(buyer_id))

    def add_item(self, actor: Actor, sku_id: str, quantity: int) -> CartView:
        buyer_id = actor.require_user()
        check_quantity(quantity)
        with self._uow() as uow:
            product = uow.products.get_by_sku(sku_id)
            shop = uow.shops.get(product.shop_id) if product else None
            if product is None or shop is None or not product.is_buyable or not shop.is_open:
                raise NotFound("sku", sku_id)
            if not product.sku(sku_id).active:
                raise NotFound("sku", sku_id)
            cart = uow.carts.get(buyer_id)
            if cart is None:
                cart = Cart(buyer_id)
                uow.carts.add(cart)
            cart.add(sku_id, product.id, product.shop_id, quantity)
            view = self._view(uow, cart)
            uow.commit()
        return view

    def update_item(self, actor: Actor, sku_id: str, quantity: int | None, selected: bool | None) -> CartView:
        buyer_id = actor.require_user()
        with self._uow() as uow:
            cart = uow.carts.get(buyer_id)
            if cart is None:
                raise NotFound("cart item", sku_id)
            cart.update(sku_id, quantity, selected)
            view = self._view(uow, cart)
            uow.commit()
        return view

    def remove_item(self, actor: Actor, sku_id: str) -> CartView:
        buyer_id = actor.require_user()
        with self._uow() as uow:
            cart = uow.carts.get(buyer_id)
            if cart is None:
                raise NotFound("cart item", sku_id)
            cart.remove(sku_id)
            view = self._view(uow, cart)
            uow.commit()
        return view

    @staticmethod
    def _view(uow: CartUnitOfWork, cart: Cart) -> CartView:
        shops = uow.shops.get_many({item.shop_id for item in cart.items})
        stock = uow.stock.get_many(item.sku_id for item in cart.items)
        products = uow.products.get_by_skus([item.sku_id for item in cart.items])
        groups: dict[str, list[CartLine]] = {}
        for item in cart.items:
            product = products.get(item.sku_id)
            sku = next((s for s in product.skus if s.id == item.sku_id), None) if product else None
            shop = shops.get(item.shop_id)
            level = stock.get(item.sku_id)
            reason = None
            if product is None or sku is None or not sku.active:
                reason = "removed"
            elif not product.is_buyable or shop is None or not shop.is_open:
                reason = "not_on_sale"
            elif level is None or level.available < item.quantity:
                reason = "insufficient_stock"
            groups.setdefault(item.shop_id, []).append(
                CartLine(
                    sku_id=item.sku_id,
                    product_id=item.product_id,
                    title=product.title if product else "",
                    attributes=dict(sku.attributes) if sku else {},
                    unit_price=sku.price if sku else None,
                    quantity=item.quantity,
                    selected=item.selected,
                    available=reason is None,
                    unavailable_reason=reason,
                )
            )
        return CartView(
            tuple(
                CartShop(shop_id, shops[shop_id].name if shop_id in shops else "", tuple(lines))
                for shop_id, lines in groups.items()
            )
        )
