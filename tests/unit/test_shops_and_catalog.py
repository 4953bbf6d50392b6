from __future__ import annotations

import pytest

from marketcore import Marketplace
from marketcore.application.catalog.ports import ProductQuery, ProductSort
from marketcore.application.shared.ports import PageRequest
from marketcore.domain.catalog.products import ProductStateConflict, SalesAttribute, SkuDraft
from marketcore.domain.inventory.stock import InsufficientStock
from marketcore.domain.shared.actors import Actor
from marketcore.domain.shared.errors import InvalidInput
from marketcore.domain.shops.shops import ApplicationNotPending, ApplicationStatus
from marketcore.testing.scenarios import a_marketplace_with


def test_an_approved_application_opens_a_shop_owned_by_the_applicant(marketplace: Marketplace) -> None:
    m = marketplace
    operator = m.actor_for(m.identity.create_operator("op@x.test", "password1").id)
    applicant = m.actor_for(m.identity.register("a@x.test", "password1", "A").id)
    application = m.shops.apply(applicant, "Tea", "", "Tea Co", "LIC", "13800000000")
    assert [
        a.id for a in m.shops.applications(operator, ApplicationStatus.PENDING_REVIEW, PageRequest()).items
    ] == [application.id]
    shop = m.shops.approve(operator, application.id)
    assert shop.owner_id == applicant.user_id and shop.is_open
    with pytest.raises(ApplicationNotPending):
        m.shops.reject(operator, application.id, "too late")


def test_a_rejected_applicant_may_apply_again(marketplace: Marketplace) -> None:
    m = marketplace
    operator = m.actor_for(m.identity.create_operator("op@x.test", "password1").id)
    applicant = m.actor_for(m.identity.register("a@x.test", "password1", "A").id)
    first = m.shops.apply(applicant, "Tea", "", "Tea Co", "LIC", "13800000000")
    assert m.shops.reject(operator, first.id, "licence unreadable").rejection_reason == "licence unreadable"
    assert (
        m.shops.apply(applicant, "Tea", "", "Tea Co", "LIC2", "13800000000").status
        is ApplicationStatus.PENDING_REVIEW
    )


def test_sku_attribute_combinations_must_be_unique_and_declared(marketplace: Marketplace) -> None:
    s = a_marketplace_with(marketplace, shops=1)
    shop = s.shops[0]
    colour = [SalesAttribute("colour", ("red", "blue"))]

    def create(*attrs: dict[str, str]) -> None:
        marketplace.catalog.create_product(
            shop.staff,
            shop.id,
            "T",
            s.category_id,
            None,
            "",
            [],
            {},
            colour,
            [(SkuDraft(code=f"c{i}", attributes=a, price=100), 1) for i, a in enumerate(attrs)],
        )

    with pytest.raises(InvalidInput, match="duplicate attribute combination"):
        create({"colour": "red"}, {"colour": "red"})
    with pytest.raises(InvalidInput, match="not one of the declared values"):
        create({"colour": "green"})
    with pytest.raises(InvalidInput, match="must name exactly"):
        create({"size": "M"})


def test_only_approved_products_can_be_listed(marketplace: Marketplace) -> None:
    s = a_marketplace_with(marketplace, shops=1)
    shop = s.shops[0]
    view = marketplace.catalog.create_product(
        shop.staff,
        shop.id,
        "New",
        s.category_id,
        None,
        "",
        [],
        {},
        [],
        [(SkuDraft(code="x", attributes={}, price=100), 1)],
    )
    with pytest.raises(ProductStateConflict):
        marketplace.catalog.list_for_sale(shop.staff, shop.id, view.product.id)


def test_search_finds_listed_products_by_text_price_and_sorts(marketplace: Marketplace) -> None:
    s = a_marketplace_with(marketplace, shops=3, price=10_000)
    m = marketplace
    m.catalog.update_sku(s.shops[2].staff, s.shops[2].id, s.shops[2].sku_ids[0], price=5_000)
    cheap_first = m.catalog.search(ProductQuery(sort=ProductSort.PRICE_ASC), PageRequest())
    assert cheap_first.items[0].id == s.shops[2].product_ids[0]
    assert [p.id for p in m.catalog.search(ProductQuery(text="product 1"), PageRequest()).items] == [
        s.shops[1].product_ids[0]
    ]
    assert len(m.catalog.search(ProductQuery(max_price=6_000), PageRequest()).items) == 1
    page = m.catalog.search(ProductQuery(), PageRequest(limit=2))
    rest = m.catalog.search(ProductQuery(), PageRequest(limit=2, cursor=page.next_cursor))
    assert len(page.items) == 2 and len(rest.items) == 1 and rest.next_cursor is None
    m.shops.suspend(s.operator, s.shops[0].id, "violations")
    visible = m.catalog.search(ProductQuery(), PageRequest()).items
    assert s.shops[0].product_ids[0] not in [p.id for p in visible]


def test_stock_cannot_be_adjusted_below_what_is_reserved(marketplace: Marketplace) -> None:
    from marketcore.application.ordering.checkout import ItemRequest

    s = a_marketplace_with(marketplace, shops=1, stock=3)
    shop = s.shops[0]
    marketplace.checkout.checkout(s.buyer, s.address_id, "sandbox", [ItemRequest(shop.sku_ids[0], 2)])
    with pytest.raises(InsufficientStock):
        marketplace.catalog.update_sku(shop.staff, shop.id, shop.sku_ids[0], stock_delta=-2)
    view = marketplace.catalog.update_sku(
        shop.staff, shop.id, shop.sku_ids[0], stock_delta=-1, reason="damaged"
    )
    assert view.stock[shop.sku_ids[0]].available == 0
    assert (
        marketplace.catalog.product(Actor.anonymous(), shop.product_ids[0]).stock[shop.sku_ids[0]].on_hand
        == 2
    )
