"""End-to-end fixtures: the Litestar app over a real SQLite marketplace, and a small HTTP helper."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from marketcore.bootstrap import Marketplace, create_marketplace
from marketcore.entrypoints.http import create_app

API = "/api/v1"
PASSWORD = "password1"


class Api:
    """A TestClient that prefixes ``/api/v1`` and carries one user's bearer token."""

    def __init__(self, client: TestClient[Litestar], token: str | None = None) -> None:
        self.client = client
        self.token = token

    def as_(self, token: str | None) -> Api:
        return Api(self.client, token)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if self.token is not None:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        url = path if path.startswith(("/health", "/ready", "/schema")) else API + path
        return self.client.request(method, url, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    def ok(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        assert response.status_code == status, (method, path, response.status_code, response.text)
        return response.json()

    # -- common steps -------------------------------------------------------------------------

    def register(self, email: str, name: str = "User") -> Api:
        self.as_(None).ok(
            "POST", "/auth/register", 201, json={"email": email, "password": PASSWORD, "display_name": name}
        )
        return self.login(email)

    def login(self, email: str) -> Api:
        body = self.as_(None).ok("POST", "/auth/login", json={"email": email, "password": PASSWORD})
        assert body["token_type"] == "bearer"
        return self.as_(body["access_token"])


def assert_problem(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail", "code"} <= body.keys(), body
    assert body["status"] == status
    if code is not None:
        assert body["code"] == code, body
    return body


@pytest.fixture
def marketplace(tmp_path: Path) -> Iterator[Marketplace]:
    market = create_marketplace(f"sqlite:///{tmp_path}/e2e.db")
    yield market
    market.close()


@pytest.fixture
def client(marketplace: Marketplace) -> Iterator[TestClient[Litestar]]:
    with TestClient(create_app(marketplace)) as test_client:
        yield test_client


@pytest.fixture
def api(client: TestClient[Litestar]) -> Api:
    return Api(client)


class World:
    """An operator, two open shops each with a listed two-SKU product and a 满减, and a buyer."""

    def __init__(self, api: Api, marketplace: Marketplace) -> None:
        marketplace.identity.create_operator("op@example.cn", PASSWORD)
        self.api = api
        self.marketplace = marketplace
        self.operator = api.login("op@example.cn")
        self.category = self.operator.ok(
            "POST", "/admin/categories", 201, json={"name": "Phones", "commission_rate_bps": 500}
        )
        self.merchants: list[Api] = []
        self.shop_ids: list[str] = []
        self.products: list[dict[str, Any]] = []
        for index in range(2):
            merchant = api.register(f"merchant{index}@example.cn", f"Merchant {index}")
            application = merchant.ok(
                "POST",
                "/shop-applications",
                201,
                json={
                    "shop_name": f"Shop {index}",
                    "description": "phones",
                    "legal_name": f"Legal {index} Ltd",
                    "license_no": f"LIC{index}",
                    "contact_phone": "13800000000",
                },
            )
            approved = self.operator.ok("POST", f"/admin/shop-applications/{application['id']}/approve")
            shop_id = approved["shop_id"]
            product = merchant.ok(
                "POST",
                f"/merchant/shops/{shop_id}/products",
                201,
                json=product_body(self.category["id"], index),
            )
            merchant.ok("POST", f"/merchant/shops/{shop_id}/products/{product['id']}/submit")
            self.operator.ok("POST", f"/admin/products/{product['id']}/approve")
            merchant.ok("POST", f"/merchant/shops/{shop_id}/products/{product['id']}/list")
            self.merchants.append(merchant)
            self.shop_ids.append(shop_id)
            self.products.append(product)
        self.buyer = api.register("buyer@example.cn", "Buyer")
        self.address = self.buyer.ok("POST", "/me/addresses", 201, json=address_body())

    def sku(self, shop: int, index: int = 0) -> str:
        sku_id: str = self.products[shop]["skus"][index]["id"]
        return sku_id

    def checkout(self, payment_method: str, quantity: int = 1, shop: int = 0) -> dict[str, Any]:
        """The buyer checks out ``quantity`` of the first SKU of ``shop``'s product."""
        body = {
            "address_id": self.address["id"],
            "payment_method": payment_method,
            "items": [{"sku_id": self.sku(shop), "quantity": quantity}],
        }
        placed: dict[str, Any] = self.buyer.ok("POST", "/checkout", 201, json=body)
        return placed


def product_body(category_id: str, index: int, stock: int = 10) -> dict[str, Any]:
    return {
        "title": f"Phone {index}",
        "category_id": category_id,
        "brand": "Acme",
        "description": "a phone",
        "images": ["https://img.example.cn/p.png"],
        "attributes": {"material": "glass"},
        "sales_attributes": [{"name": "colour", "values": ["red", "blue"]}],
        "skus": [
            {"code": "R", "attributes": {"colour": "red"}, "price": 10000, "stock": stock},
            {
                "code": "B",
                "attributes": {"colour": "blue"},
                "price": 12000,
                "market_price": 15000,
                "stock": stock,
            },
        ],
    }


def address_body() -> dict[str, Any]:
    return {
        "recipient": "Li Lei",
        "phone": "13900000000",
        "province": "Zhejiang",
        "city": "Hangzhou",
        "district": "Xihu",
        "detail": "No 1 Wensan Road",
        "postal_code": "310000",
    }


def promotion_body() -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "name": "满200减30",
        "tiers": [{"threshold": 20000, "discount": 3000}],
        "starts_at": (now - timedelta(days=1)).isoformat(),
        "ends_at": (now + timedelta(days=1)).isoformat(),
    }


@pytest.fixture
def world(api: Api, marketplace: Marketplace) -> World:
    return World(api, marketplace)


def coupon_template(**overrides: Any) -> dict[str, Any]:
    """A coupon template body, claimable now: ¥10 off ¥100, budget 2, one per buyer, 7 days."""
    now = datetime.now(UTC)
    body: dict[str, Any] = {
        "name": "¥10 off ¥100",
        "kind": "fixed_amount",
        "params": {"value": 1000, "threshold": 10000},
        "claim_from": (now - timedelta(days=1)).isoformat(),
        "claim_until": (now + timedelta(days=1)).isoformat(),
        "budget": 2,
        "per_buyer_limit": 1,
        "valid_days": 7,
    }
    body.update(overrides)
    return body
