"""Promotions ports."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from marketcore.application.shared.ports import UnitOfWork
from marketcore.application.shops.ports import ShopRepository
from marketcore.domain.promotions.promotions import FullReduction


class PromotionRepository(Protocol):
    def get(self, promotion_id: str) -> FullReduction | None: ...

    def add(self, promotion: FullReduction) -> None: ...

    def active_for_shops(self, shop_ids: Iterable[str], at: datetime) -> list[FullReduction]: ...

    def for_shop(self, shop_id: str) -> list[FullReduction]: ...


class PromotionsUnitOfWork(UnitOfWork, Protocol):
    promotions: PromotionRepository
    shops: ShopRepository
