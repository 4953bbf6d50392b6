"""Anonymous product pages come from a cache that this process's own writes keep exact."""

from __future__ import annotations

import time

from litestar.testing import TestClient

from marketcore.bootstrap import create_marketplace
from marketcore.entrypoints.http import create_app

from .conftest import Api, World


def _available(api: Api, product_id: str) -> list[int]:
    return [s["available"] for s in api.ok("GET", f"/products/{product_id}")["skus"]]


def test_checkouts_price_changes_and_delisting_show_at_once(world: World) -> None:
    anonymous = world.api.as_(None)
    product = world.products[0]
    assert _available(anonymous, product["id"]) == [10, 10]
    assert _available(anonymous, product["id"]) == [10, 10]  # now from the cache
    world.checkout("sandbox", quantity=3)
    assert _available(anonymous, product["id"]) == [7, 10]
    shop, sku = world.shop_ids[0], world.sku(0)
    world.merchants[0].ok("PATCH", f"/merchant/shops/{shop}/skus/{sku}", json={"price": 9000})
    assert anonymous.ok("GET", f"/products/{product['id']}")["skus"][0]["price"] == 9000
    world.merchants[0].ok("POST", f"/merchant/shops/{shop}/products/{product['id']}/delist")
    assert anonymous.get(f"/products/{product['id']}").status_code == 404


def test_signed_in_readers_are_never_served_the_anonymous_page(world: World) -> None:
    product_id = world.products[0]["id"]
    world.api.as_(None).ok("GET", f"/products/{product_id}")  # cached for anonymous readers
    owner_view = world.merchants[0].ok("GET", f"/products/{product_id}")
    assert [s["on_hand"] for s in owner_view["skus"]] == [10, 10]  # staff see the stock figures
    assert [s["on_hand"] for s in world.buyer.ok("GET", f"/products/{product_id}")["skus"]] == [None, None]
    anonymous_view = world.api.as_(None).ok("GET", f"/products/{product_id}")
    assert [s["on_hand"] for s in anonymous_view["skus"]] == [None, None]


def test_another_process_write_shows_once_the_page_expires(world: World) -> None:
    """A second marketplace on the same database stands in for another server process."""
    product_id = world.products[0]["id"]
    url = str(world.marketplace.container.engine().url)
    other = create_marketplace(url, product_cache_ms=1500)
    try:
        with TestClient(create_app(other)) as client:
            reader = Api(client)
            assert _available(reader, product_id) == [10, 10]
            world.checkout("sandbox", quantity=2)  # written by the first process
            assert _available(reader, product_id) == [10, 10]  # still cached here
            time.sleep(1.6)
            assert _available(reader, product_id) == [8, 10]
    finally:
        other.close()
