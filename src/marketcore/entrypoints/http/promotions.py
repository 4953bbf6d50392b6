"""Promotions of any registered kind: a shop's, managed by its staff, and the platform's
(跨店满减, platform free shipping), managed by operators. The same routes under both owners."""

from __future__ import annotations

from litestar import Controller, get, post, put
from litestar.params import FromPath, JSONBody

from marketcore.entrypoints.http.common import CurrentActor, Cursor, Limit, Market, page_request
from marketcore.entrypoints.http.promotion_schemas import PromotionIn, PromotionOut, promotion_out
from marketcore.entrypoints.http.schemas import PageOut


class MerchantPromotionController(Controller):
    path = "/merchant/shops/{shop_id:str}/promotions"
    tags = ("promotions", "merchant")

    @post("", operation_id="createPromotion", sync_to_thread=True)
    def create(
        self, shop_id: FromPath[str], data: JSONBody[PromotionIn], market: Market, actor: CurrentActor
    ) -> PromotionOut:
        return promotion_out(market.promotions.create(actor, shop_id, data.to_draft()))

    @get("", operation_id="listPromotions", sync_to_thread=True)
    def list_promotions(
        self,
        shop_id: FromPath[str],
        market: Market,
        actor: CurrentActor,
        limit: Limit = 20,
        cursor: Cursor = None,
    ) -> PageOut[PromotionOut]:
        page = market.promotions.listing(actor, shop_id, page_request(limit, cursor))
        return PageOut([promotion_out(p) for p in page.items], page.next_cursor)

    @get("/{promotion_id:str}", operation_id="getPromotion", sync_to_thread=True)
    def get_promotion(
        self, shop_id: FromPath[str], promotion_id: FromPath[str], market: Market, actor: CurrentActor
    ) -> PromotionOut:
        return promotion_out(market.promotions.get(actor, shop_id, promotion_id))

    @put("/{promotion_id:str}", operation_id="replacePromotion", sync_to_thread=True)
    def replace(
        self,
        shop_id: FromPath[str],
        promotion_id: FromPath[str],
        data: JSONBody[PromotionIn],
        market: Market,
        actor: CurrentActor,
    ) -> PromotionOut:
        return promotion_out(market.promotions.replace(actor, shop_id, promotion_id, data.to_draft()))

    @post("/{promotion_id:str}/stop", operation_id="stopPromotion", status_code=200, sync_to_thread=True)
    def stop(
        self, shop_id: FromPath[str], promotion_id: FromPath[str], market: Market, actor: CurrentActor
    ) -> PromotionOut:
        return promotion_out(market.promotions.stop(actor, shop_id, promotion_id))


class AdminPromotionController(Controller):
    path = "/admin/promotions"
    tags = ("promotions", "admin")

    @post("", operation_id="createPlatformPromotion", sync_to_thread=True)
    def create(self, data: JSONBody[PromotionIn], market: Market, actor: CurrentActor) -> PromotionOut:
        return promotion_out(market.promotions.create(actor, None, data.to_draft()))

    @get("", operation_id="listPlatformPromotions", sync_to_thread=True)
    def list_promotions(
        self, market: Market, actor: CurrentActor, limit: Limit = 20, cursor: Cursor = None
    ) -> PageOut[PromotionOut]:
        page = market.promotions.listing(actor, None, page_request(limit, cursor))
        return PageOut([promotion_out(p) for p in page.items], page.next_cursor)

    @get("/{promotion_id:str}", operation_id="getPlatformPromotion", sync_to_thread=True)
    def get_promotion(self, promotion_id: FromPath[str], market: Market, actor: CurrentActor) -> PromotionOut:
        return promotion_out(market.promotions.get(actor, None, promotion_id))

    @put("/{promotion_id:str}", operation_id="replacePlatformPromotion", sync_to_thread=True)
    def replace(
        self, promotion_id: FromPath[str], data: JSONBody[PromotionIn], market: Market, actor: CurrentActor
    ) -> PromotionOut:
        return promotion_out(market.promotions.replace(actor, None, promotion_id, data.to_draft()))

    @post(
        "/{promotion_id:str}/stop", operation_id="stopPlatformPromotion", status_code=200, sync_to_thread=True
    )
    def stop(self, promotion_id: FromPath[str], market: Market, actor: CurrentActor) -> PromotionOut:
        return promotion_out(market.promotions.stop(actor, None, promotion_id))
