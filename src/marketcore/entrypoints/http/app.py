"""The Litestar application: ``create_app(marketplace)``, or ``app_from_env`` for ``uvicorn --factory``."""

from __future__ import annotations

import gc
from typing import Any

from litestar import Litestar, Response, Router, get
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.types import ControllerRouterHandler

from marketcore.bootstrap import Marketplace, create_marketplace
from marketcore.entrypoints.http.auth import TokenIssuer, build_jwt_auth, provide_actor
from marketcore.entrypoints.http.cart import CartController
from marketcore.entrypoints.http.catalog import (
    AdminProductController,
    CategoryController,
    MerchantProductController,
    ProductController,
)
from marketcore.entrypoints.http.checkout import CheckoutController
from marketcore.entrypoints.http.common import Market
from marketcore.entrypoints.http.coupons import (
    AdminCouponTemplateController,
    CouponController,
    MerchantCouponTemplateController,
    MyCouponController,
)
from marketcore.entrypoints.http.flash_sales import FlashSaleController, MerchantFlashSaleController
from marketcore.entrypoints.http.identity import AdminUserController, AuthController, MeController
from marketcore.entrypoints.http.orders import MerchantOrderController, OrderController
from marketcore.entrypoints.http.payments import (
    AdminPaymentController,
    MerchantDeliveryController,
    PaymentController,
    SandboxPaymentController,
    WebhookController,
)
from marketcore.entrypoints.http.problems import exception_handlers, logger, problem
from marketcore.entrypoints.http.promotions import AdminPromotionController, MerchantPromotionController
from marketcore.entrypoints.http.read_cache import PAGES, ReadCache
from marketcore.entrypoints.http.reviews import ReviewController
from marketcore.entrypoints.http.risk import AdminRiskController
from marketcore.entrypoints.http.schemas import HealthOut
from marketcore.entrypoints.http.shops import (
    AdminShopController,
    MerchantShopController,
    ShopApplicationController,
    ShopController,
)
from marketcore.entrypoints.http.validation import strict_body
from marketcore.entrypoints.http.writer_lane import LANE, WriterLane

API_PREFIX = "/api/v1"


@get("/health", operation_id="health", tags=["ops"], sync_to_thread=False)
def health() -> HealthOut:
    return HealthOut("ok")


@get("/ready", operation_id="ready", tags=["ops"], sync_to_thread=True)
def ready(market: Market) -> Response[Any]:
    try:
        market.catalog.category_tree()
    except Exception as exc:
        logger.warning("readiness check failed: %s", exc)
        return problem(503, "not_ready", "the database is not reachable")
    return Response(HealthOut("ready"))


def create_app(marketplace: Marketplace, *, close_on_shutdown: bool = False, debug: bool = False) -> Litestar:
    """The HTTP API over ``marketplace``; ``close_on_shutdown`` disposes of it when the app stops."""
    jwt_auth = build_jwt_auth(marketplace)
    tokens = TokenIssuer(jwt_auth, marketplace.settings.token_ttl_seconds)
    pages = ReadCache[bytes](marketplace.settings.product_cache_ms / 1000)
    marketplace.changes.subscribe(pages.evict)
    lane = WriterLane(marketplace.writers, marketplace.write_group if marketplace.groups_writes else None)
    handlers: list[ControllerRouterHandler] = [
        AuthController,
        MeController,
        ShopApplicationController,
        AdminShopController,
        ShopController,
        MerchantShopController,
        CategoryController,
        ProductController,
        AdminProductController,
        MerchantProductController,
        CartController,
        CheckoutController,
        OrderController,
        MerchantOrderController,
        PaymentController,
        WebhookController,
        AdminPaymentController,
        MerchantDeliveryController,
        ReviewController,
        MerchantPromotionController,
        AdminPromotionController,
        MerchantCouponTemplateController,
        AdminCouponTemplateController,
        CouponController,
        MyCouponController,
        AdminUserController,
        MerchantFlashSaleController,
        FlashSaleController,
        AdminRiskController,
    ]
    if marketplace.payments.sandbox_enabled:
        handlers.append(SandboxPaymentController)
    api = Router(path=API_PREFIX, route_handlers=handlers)

    def on_shutdown() -> None:
        lane.close()
        if close_on_shutdown:
            marketplace.close()

    return Litestar(
        route_handlers=[api, health, ready],
        state=State({PAGES: pages, LANE: lane}),
        dependencies={
            "market": Provide(lambda: marketplace, use_cache=True, sync_to_thread=False),
            "tokens": Provide(lambda: tokens, use_cache=True, sync_to_thread=False),
            "actor": Provide(provide_actor, sync_to_thread=False),
        },
        on_app_init=[jwt_auth.on_app_init],
        before_request=strict_body,
        exception_handlers=exception_handlers(),
        openapi_config=OpenAPIConfig(
            title="marketcore",
            version="1.0.0",
            path="/schema",
            description="Marketplace API. Money is integer minor units; errors are RFC 9457 problems.",
        ),
        on_shutdown=[on_shutdown],
        debug=debug,
    )


def app_from_env() -> Litestar:
    """``uvicorn --factory marketcore.entrypoints.http.app:app_from_env``: settings from MARKETCORE_*.

    Being the process's own entry point, it also freezes what exists once the app has started
    (``gc.freeze``): the modules, the app and its routes are never garbage, yet every full
    collection walked them all, stopping the process for 80-95 ms a few times a minute under
    load (HTTP checkout p99 94 ms with it, 31 ms without, docs/performance.md)."""
    app = create_app(create_marketplace(), close_on_shutdown=True)
    app.on_startup.append(_freeze_startup_objects)
    return app


def _freeze_startup_objects() -> None:
    gc.collect()
    gc.freeze()
