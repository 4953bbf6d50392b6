"""Shop promotions: the merchant side of the pricing engine."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from marketcore.application.promotions.ports import PromotionsUnitOfWork
from marketcore.application.shared.ids import new_id
from marketcore.application.shared.services import Service
from marketcore.application.shops.services import staff_shop
from marketcore.domain.promotions.promotions import FullReduction, Promotion
from marketcore.domain.shared.actors import Actor


class PromotionsService(Service[PromotionsUnitOfWork]):
    def create_full_reduction(
        self,
        actor: Actor,
        shop_id: str,
        name: str,
        tiers: Sequence[tuple[int, int]],
        starts_at: datetime,
        ends_at: datetime,
    ) -> Promotion:
        promotion = FullReduction.create(new_id(), shop_id, name, tiers, starts_at, ends_at).as_promotion()
        with self._uow() as uow:
            staff_shop(uow.shops, actor, shop_id)
            uow.promotions.add(promotion)
            uow.commit()
        return promotion

    def for_shop(self, actor: Actor, shop_id: str) -> list[Promotion]:
        """A shop's promotions, for its staff (another shop answers not found)."""
        with self._reader() as uow:
            staff_shop(uow.shops, actor, shop_id)
            return uow.promotions.for_shop(shop_id)
