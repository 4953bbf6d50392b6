"""Promotions of any registered rule kind: shops manage theirs, operators the platform's.

A promotion is given as a rule kind's code and plain params, decoded through the deployment's
``RuleKinds`` (so integrators' kinds are managed like the built-in ones). Promotions have no
counters, so every field may change at any time: ``replace`` takes the whole offer again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from marketcore.application.promotions.owners import authorize_owner, decode_rule, owned
from marketcore.application.promotions.ports import PromotionsUnitOfWork
from marketcore.application.shared.ids import new_id
from marketcore.application.shared.ports import Clock, Page, PageRequest, UnitOfWorkFactory
from marketcore.application.shared.services import Service
from marketcore.application.shops.services import staff_shop
from marketcore.domain.promotions.promotions import FullReduction, Promotion
from marketcore.domain.promotions.rules import Placement, RuleKinds
from marketcore.domain.promotions.scope import EVERYTHING, Scope
from marketcore.domain.shared.actors import Actor
from marketcore.domain.shared.errors import InvalidInput, NotFound

PROMOTION_PLACEMENTS = frozenset(Placement) - {Placement.COUPON}  # coupons come from templates


@attrs.frozen
class PromotionDraft:
    """A promotion as callers give it; validated when it becomes a ``Promotion``."""

    name: str
    kind: str
    params: Mapping[str, Any]
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    scope: Scope = EVERYTHING
    group: str | None = None
    priority: int | None = None
    enabled: bool = True


class PromotionsService(Service[PromotionsUnitOfWork]):
    def __init__(self, uow: UnitOfWorkFactory[PromotionsUnitOfWork], clock: Clock, kinds: RuleKinds) -> None:
        super().__init__(uow, clock)
        self._kinds = kinds

    def _build(self, ident: str, shop_id: str | None, draft: PromotionDraft) -> Promotion:
        if draft.kind == "flash_sale":
            raise InvalidInput("kind", "flash sales are scheduled as flash sales, with a quota")
        rule = decode_rule(self._kinds, draft.kind, draft.params, PROMOTION_PLACEMENTS)
        if not isinstance(draft.enabled, bool):
            raise InvalidInput("enabled", "true or false")
        promotion = Promotion.create(
            ident,
            draft.name,
            shop_id,
            rule,
            draft.starts_at,
            draft.ends_at,
            scope=draft.scope,
            group=draft.group,
            priority=draft.priority,
        )
        promotion.enabled = draft.enabled
        return promotion

    def create(self, actor: Actor, shop_id: str | None, draft: PromotionDraft) -> Promotion:
        """A shop's promotion (its staff), or with ``shop_id`` None the platform's (operators)."""
        promotion = self._build(new_id(), shop_id, draft)
        with self._uow() as uow:
            authorize_owner(uow.shops, actor, shop_id)
            uow.promotions.add(promotion)
            uow.commit()
        return promotion

    def listing(self, actor: Actor, shop_id: str | None, page: PageRequest) -> Page[Promotion]:
        with self._reader() as uow:
            authorize_owner(uow.shops, actor, shop_id)
            return uow.promotions.listing(shop_id, page)

    def get(self, actor: Actor, shop_id: str | None, promotion_id: str) -> Promotion:
        with self._reader() as uow:
            authorize_owner(uow.shops, actor, shop_id)
            promotion = uow.promotions.get(promotion_id)
        if promotion is None:
            raise NotFound("promotion", promotion_id)
        owned(promotion.shop_id, shop_id, "promotion", promotion_id)
        return promotion

    def replace(
        self, actor: Actor, shop_id: str | None, promotion_id: str, draft: PromotionDraft
    ) -> Promotion:
        """Every field of the offer at once (its id and owner stay)."""
        with self._uow() as uow:
            authorize_owner(uow.shops, actor, shop_id)
            promotion = uow.promotions.get(promotion_id, lock=True)
            if promotion is None:
                raise NotFound("promotion", promotion_id)
            owned(promotion.shop_id, shop_id, "promotion", promotion_id)
            built = self._build(promotion_id, shop_id, draft)
            for field in ("name", "rule", "starts_at", "ends_at", "scope", "group", "priority", "enabled"):
                setattr(promotion, field, getattr(built, field))
            uow.commit()
        return promotion

    def stop(self, actor: Actor, shop_id: str | None, promotion_id: str) -> Promotion:
        """Switch it off (kept for the record; ``replace`` with ``enabled`` switches it on)."""
        with self._uow() as uow:
            authorize_owner(uow.shops, actor, shop_id)
            promotion = uow.promotions.get(promotion_id, lock=True)
            if promotion is None:
                raise NotFound("promotion", promotion_id)
            owned(promotion.shop_id, shop_id, "promotion", promotion_id)
            promotion.enabled = False
            uow.commit()
        return promotion

    # The skeleton's 满减 calls, kept for embedding code and the demo.

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
