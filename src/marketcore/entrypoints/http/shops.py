"""Shop onboarding, operator review and supervision, the public shop page, shop settings."""

from __future__ import annotations

from litestar import Controller, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody

from marketcore.domain.shops.shops import ApplicationStatus
from marketcore.entrypoints.http.common import PUBLIC_OPT, CurrentActor, Cursor, Limit, Market, page_request
from marketcore.entrypoints.http.schemas import (
    PageOut,
    ReasonIn,
    ShopApplicationIn,
    ShopApplicationOut,
    ShopApprovedOut,
    ShopOut,
    ShopSettingsIn,
    application_out,
    shop_out,
)


class ShopApplicationController(Controller):
    path = "/shop-applications"
    tags = ("shops",)

    @post("", operation_id="applyForShop", sync_to_thread=True)
    def apply(
        self, data: JSONBody[ShopApplicationIn], market: Market, actor: CurrentActor
    ) -> ShopApplicationOut:
        application = market.shops.apply(
            actor, data.shop_name, data.description, data.legal_name, data.license_no, data.contact_phone
        )
        return application_out(application)

    @get("/{application_id:str}", operation_id="getShopApplication", sync_to_thread=True)
    def get_application(
        self, application_id: FromPath[str], market: Market, actor: CurrentActor
    ) -> ShopApplicationOut:
        return application_out(market.shops.application(actor, application_id))


class AdminShopController(Controller):
    path = "/admin"
    tags = (
        "shops",
        "admin",
    )

    @get("/shop-applications", operation_id="listShopApplications", sync_to_thread=True)
    def applications(
        self,
        market: Market,
        actor: CurrentActor,
        status: FromQuery[ApplicationStatus | None] = None,
        limit: Limit = 20,
        cursor: Cursor = None,
    ) -> PageOut[ShopApplicationOut]:
        page = market.shops.applications(actor, status, page_request(limit, cursor))
        return PageOut([application_out(a) for a in page.items], page.next_cursor)

    @post(
        "/shop-applications/{application_id:str}/approve",
        operation_id="approveShopApplication",
        status_code=200,
        sync_to_thread=True,
    )
    def approve(self, application_id: FromPath[str], market: Market, actor: CurrentActor) -> ShopApprovedOut:
        shop = market.shops.approve(actor, application_id)
        return ShopApprovedOut(shop_id=shop.id, application_id=application_id, status=str(shop.status))

    @post(
        "/shop-applications/{application_id:str}/reject",
        operation_id="rejectShopApplication",
        status_code=200,
        sync_to_thread=True,
    )
    def reject(
        self, application_id: FromPath[str], data: JSONBody[ReasonIn], market: Market, actor: CurrentActor
    ) -> ShopApplicationOut:
        return application_out(market.shops.reject(actor, application_id, data.reason))

    @post("/shops/{shop_id:str}/suspend", operation_id="suspendShop", status_code=200, sync_to_thread=True)
    def suspend(
        self, shop_id: FromPath[str], data: JSONBody[ReasonIn], market: Market, actor: CurrentActor
    ) -> ShopOut:
        return shop_out(market.shops.suspend(actor, shop_id, data.reason))

    @post(
        "/shops/{shop_id:str}/reinstate", operation_id="reinstateShop", status_code=200, sync_to_thread=True
    )
    def reinstate(
        self, shop_id: FromPath[str], data: JSONBody[ReasonIn], market: Market, actor: CurrentActor
    ) -> ShopOut:
        return shop_out(market.shops.reinstate(actor, shop_id, data.reason))


class ShopController(Controller):
    path = "/shops"
    tags = ("shops",)

    @get("/{shop_id:str}", operation_id="getShop", opt=PUBLIC_OPT, sync_to_thread=True)
    def get_shop(self, shop_id: FromPath[str], market: Market) -> ShopOut:
        shop = market.shops.shop(shop_id)
        return shop_out(shop, market.reviews.shop_scores(shop.id))


class MerchantShopController(Controller):
    path = "/merchant/shops"
    tags = (
        "shops",
        "merchant",
    )

    @patch("/{shop_id:str}", operation_id="updateShop", sync_to_thread=True)
    def update(
        self, shop_id: FromPath[str], data: JSONBody[ShopSettingsIn], market: Market, actor: CurrentActor
    ) -> ShopOut:
        return shop_out(market.shops.update_settings(actor, shop_id, data.shipping_fee, data.deduction_mode))
