"""Health, readiness and the generic 500 problem."""

from __future__ import annotations

import pytest
from litestar.testing import TestClient

from marketcore.application.shared.ports import StorageUnavailable
from marketcore.bootstrap import Marketplace, create_marketplace
from marketcore.entrypoints.http import create_app

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


def test_a_database_that_refuses_connections_is_a_503_with_retry_after_not_a_500() -> None:
    # Nothing listens on port 1: the server refuses the connection, as one out of connections does.
    down = create_marketplace("postgresql://postgres@127.0.0.1:1/test", migrate_on_start=False)
    try:
        with pytest.raises(StorageUnavailable):
            down.catalog.category_tree()
        with TestClient(create_app(down)) as client:
            response = client.get("/api/v1/categories")
            assert_problem(response, 503, "storage_unavailable")
            assert response.headers["retry-after"] == "1"
    finally:
        down.close()
