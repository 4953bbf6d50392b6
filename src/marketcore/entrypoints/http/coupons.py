"""Coupon templates (a shop's, by its staff; the platform's, by operators) and buyers' coupons:
what can be claimed, claiming, and the coupons a buyer holds."""

from __future__ import annotations

from litestar import Controller, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody

from marketcore.domain.promotions.coupons import CouponStatus
from marketcore.entrypoints.http.common import CurrentActor, Cursor, Limit, Market, page_request
from marketcore.entrypoints.http.promotion_schemas import (
    AvailableCouponOut,
    CouponOut,
    CouponTemplateIn,
    CouponTemplateOut,
    CouponTemplatePatchIn,
    available_out,
    coupon_out,
    template_out,
)
from marketcore.entrypoints.http.schemas import PageOut


class MerchantCouponTemplateController(Controller):
    path = "/merchant/shops/{shop_id:str}/coupon-templates"
    tags = ("coupons", "merchant")

    @post("", operation_id="createCouponTemplate", sync_to_thread=True)
    def create(
        self, shop_id: FromPath[str], data: JSONBody[CouponTemplateIn], market: Market, actor: CurrentActor
    ) -> CouponTemplateOut:
        return template_out(market.coupons.create_template(actor, shop_id, data.to_draft()))

    @get("", operation_id="listCouponTemplates", sync_to_thread=True)
    def list_templates(
        self,
        shop_id: FromPath[str],
        market: Market,
        actor: CurrentActor,
        limit: Limit = 20,
        cursor: Cursor = None,
    ) -> PageOut[CouponTemplateOut]:
        page = market.coupons.templates(actor, shop_id, page_request(limit, cursor))
        return PageOut([template_out(t) for t in page.items], page.next_cursor)

    @get("/{template_id:str}", operation_id="getCouponTemplate", sync_to_thread=True)
    def get_template(
        self, shop_id: FromPath[str], template_id: FromPath[str], market: Market, actor: CurrentActor
    ) -> CouponTemplateOut:
        return template_out(market.coupons.template(actor, shop_id, template_id))

    @patch("/{template_id:str}", operation_id="updateCouponTemplate", sync_to_thread=True)
    def update(
        self,
        shop_id: FromPath[str],
        template_id: FromPath[str],
        data: JSONBody[CouponTemplatePatchIn],
        market: Market,
        actor: CurrentActor,
    ) -> CouponTemplateOut:
        return template_out(market.coupons.update_template(actor, shop_id, template_id, data.to_changes()))

    @post("/{template_id:str}/stop", operation_id="stopCouponTemplate", status_code=200, sync_to_thread=True)
    def stop(
        self, shop_id: FromPath[str], template_id: FromPath[str], market: Market, actor: CurrentActor
    ) -> CouponTemplateOut:
        return template_out(market.coupons.stop_template(actor, shop_id, template_id))


class AdminCouponTemplateController(Controller):
    path = "/admin/coupon-templates"
    tags = ("coupons", "admin")

    @post("", operation_id="createPlatformCouponTemplate", sync_to_thread=True)
    def create(
        self, data: JSONBody[CouponTemplateIn], market: Market, actor: CurrentActor
    ) -> CouponTemplateOut:
        return template_out(market.coupons.create_template(actor, None, data.to_draft()))

    @get("", operation_id="listPlatformCouponTemplates", sync_to_thread=True)
    def list_templates(
        self, market: Market, actor: CurrentActor, limit: Limit = 20, cursor: Cursor = None
    ) -> PageOut[CouponTemplateOut]:
        page = market.coupons.templates(actor, None, page_request(limit, cursor))
        return PageOut([template_out(t) for t in page.items], page.next_cursor)

    @get("/{template_id:str}", operation_id="getPlatformCouponTemplate", sync_to_thread=True)
    def get_template(
        self, template_id: FromPath[str], market: Market, actor: CurrentActor
    ) -> CouponTemplateOut:
        return template_out(market.coupons.template(actor, None, template_id))

    @patch("/{template_id:str}", operation_id="updatePlatformCouponTemplate", sync_to_thread=True)
    def update(
        self,
        template_id: FromPath[str],
        data: JSONBody[CouponTemplatePatchIn],
        market: Market,
        actor: CurrentActor,
    ) -> CouponTemplateOut:
        return template_out(market.coupons.update_template(actor, None, template_id, data.to_changes()))

    @post(
        "/{template_id:str}/stop",
        operation_id="stopPlatformCouponTemplate",
        status_code=200,
        sync_to_thread=True,
    )
    def stop(self, template_id: FromPath[str], market: Market, actor: CurrentActor) -> CouponTemplateOut:
        return template_out(market.coupons.stop_template(actor, None, template_id))


class CouponController(Controller):
    path = "/coupons"
    tags = ("coupons",)

    @get("/available", operation_id="listAvailableCoupons", sync_to_thread=True)
    def available(
        self,
        market: Market,
        actor: CurrentActor,
        shop_id: FromQuery[str | None] = None,
        limit: Limit = 20,
        cursor: Cursor = None,
    ) -> PageOut[AvailableCouponOut]:
        page = market.coupons.available(actor, page_request(limit, cursor), shop_id=shop_id)
        return PageOut([available_out(t) for t in page.items], page.next_cursor)

    @post("/{template_id:str}/claim", operation_id="claimCoupon", sync_to_thread=True)
    def claim(self, template_id: FromPath[str], market: Market, actor: CurrentActor) -> CouponOut:
        coupon = market.coupons.claim(actor, template_id)
        return coupon_out(market.coupons.held(coupon))


class MyCouponController(Controller):
    path = "/me/coupons"
    tags = ("coupons", "identity")

    @get("", operation_id="listMyCoupons", sync_to_thread=True)
    def mine(
        self,
        market: Market,
        actor: CurrentActor,
        status: FromQuery[CouponStatus | None] = None,
        limit: Limit = 20,
        cursor: Cursor = None,
    ) -> PageOut[CouponOut]:
        page = market.coupons.my_coupons(actor, status, page_request(limit, cursor))
        return PageOut([coupon_out(c) for c in page.items], page.next_cursor)
