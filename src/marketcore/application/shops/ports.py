"""Shops ports."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from marketcore.application.shared.ports import Page, PageRequest, UnitOfWork
from marketcore.domain.shops.shops import ApplicationStatus, Shop, ShopApplication


class ShopApplicationRepository(Protocol):
    def get(self, application_id: str) -> ShopApplication | None: ...

    def add(self, application: ShopApplication) -> None: ...

    def list(self, status: ApplicationStatus | None, page: PageRequest) -> Page[ShopApplication]: ...


class ShopRepository(Protocol):
    def get(self, shop_id: str) -> Shop | None: ...

    def get_many(self, shop_ids: Iterable[str]) -> dict[str, Shop]: ...

    def add(self, shop: Shop) -> None: ...

    def owned_by(self, user_id: str) -> list[Shop]: ...


class ShopsUnitOfWork(UnitOfWork, Protocol):
    shop_applications: ShopApplicationRepository
    shops: ShopRepository
