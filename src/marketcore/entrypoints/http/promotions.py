"""Shop promotions (满减 full reductions) managed by the shop's staff."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import FromPath, JSONBody

from marketcore.entrypoints.http.common import CurrentActor, Market
from marketcore.entrypoints.http.schemas import PageOut, PromotionIn, PromotionOut, promotion_out


class MerchantPromotionController(Controller):
    path = "/merchant/shops/{shop_id:str}/promotions"
    tags = (
        "promotions",
        "merchant",
    )

    @post("", operation_id="createPromotion", sync_to_thread=True)
    def create(
        self, shop_id: FromPath[str], data: JSONBody[PromotionIn], market: Market, actor: CurrentActor
    ) -> PromotionOut:
        promotion = market.promotions.create_full_reduction(
            actor,
            shop_id,
            data.name,
            [(t.threshold, t.discount) for t in data.tiers],
            data.starts_at,
            data.ends_at,
        )
        return promotion_out(promotion)

    @get("", operation_id="listPromotions", sync_to_thread=True)
    def list_promotions(
        self, shop_id: FromPath[str], market: Market, actor: CurrentActor
    ) -> PageOut[PromotionOut]:
        return PageOut([promotion_out(p) for p in market.promotions.for_shop(actor, shop_id)])
