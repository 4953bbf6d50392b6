"""Health, readiness and the generic 500 problem."""

from __future__ import annotations

import pytest

from marketcore.bootstrap import Marketplace

from .conftest import Api, assert_problem


def test_health_and_ready(api: Api) -> None:
    assert api.client.get("/health").json() == {"status": "ok"}
    assert api.client.get("/ready").json() == {"status": "ready"}


def test_ready_is_503_when_the_database_fails(
    api: Api, marketplace: Marketplace, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> None:
        raise RuntimeError("database is down")

    monkeypatch.setattr(marketplace.catalog, "category_tree", broken)
    assert_problem(api.client.get("/ready"), 503, "not_ready")


def test_unexpected_error_is_a_generic_500(
    api: Api, marketplace: Marketplace, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(marketplace.catalog, "category_tree", broken)
    body = assert_problem(api.get("/categories"), 500, "internal_error")
    assert "secret" not in body["detail"]
