"""Flash sales: a quota set aside from stock, per-buyer limits, a window, a 5-minute deadline."""

from __future__ import annotations

from datetime import timedelta

import msgspec
import pytest
from offers import DAY, NOW, line

from marketcore.adapters.documents import DocumentSpec
from marketcore.domain.promotions.flash_sales import (
    FlashSale,
    FlashSaleCancelled,
    FlashSaleLimitReached,
    FlashSaleNotRunning,
    FlashSaleScheduled,
    FlashSaleSoldOut,
    QuotaTake,
)
from marketcore.domain.promotions.pricing import price
from marketcore.domain.promotions.rules import BuyerContext
from marketcore.domain.shared.errors import InvalidInput
from marketcore.domain.shared.money import Money


def sale(**overrides: object) -> FlashSale:
    options: dict[str, object] = {
        "price": Money(9900),
        "list_price": Money(19900),
        "quota": 30,
        "available_stock": 100,
        "per_buyer_limit": 2,
        "starts_at": NOW - timedelta(hours=1),
        "ends_at": NOW + timedelta(hours=1),
        "at": NOW - DAY,
    }
    options.update(overrides)
    return FlashSale.create("fs", "s1", "sku-a", "秒杀", **options)  # type: ignore[arg-type]


def test_scheduling_a_flash_sale_sets_its_quota_aside_from_the_skus_stock() -> None:
    (event,) = sale().events
    assert isinstance(event, FlashSaleScheduled) and (event.sku_id, event.quota) == ("sku-a", 30)


def test_the_quota_must_fit_in_the_stock_available() -> None:
    with pytest.raises(InvalidInput) as error:
        sale(available_stock=29)
    assert error.value.field == "quota"


def test_a_flash_sale_price_is_below_the_list_price() -> None:
    with pytest.raises(InvalidInput) as error:
        sale(price=Money(19900))
    assert error.value.field == "price"


def test_a_purchase_is_a_quota_take_storage_applies_atomically() -> None:
    take = sale().take("buyer", 2, NOW, sold=10, bought_by_buyer=0)
    assert take == QuotaTake("fs", "buyer", 2, quota=30, per_buyer_limit=2)
    assert take.refusal(sold=28, bought_by_buyer=0) is None
    assert isinstance(take.refusal(sold=29, bought_by_buyer=0), FlashSaleSoldOut)
    assert isinstance(take.refusal(sold=0, bought_by_buyer=1), FlashSaleLimitReached)


def test_purchases_beyond_the_per_buyer_limit_or_the_quota_are_refused() -> None:
    with pytest.raises(FlashSaleLimitReached):
        sale().take("buyer", 1, NOW, sold=0, bought_by_buyer=2)
    with pytest.raises(FlashSaleSoldOut):
        sale().take("buyer", 1, NOW, sold=30, bought_by_buyer=0)


def test_a_flash_sale_sells_only_within_its_window_and_not_once_cancelled() -> None:
    with pytest.raises(FlashSaleNotRunning):
        sale().take("buyer", 1, NOW + timedelta(hours=2), sold=0, bought_by_buyer=0)
    cancelled = sale()
    cancelled.cancel(NOW)
    assert isinstance(cancelled.events[-1], FlashSaleCancelled)
    with pytest.raises(FlashSaleNotRunning):
        cancelled.take("buyer", 1, NOW, sold=0, bought_by_buyer=0)
    assert price([line("sku-a", "s1", 19900)], [cancelled], at=NOW).total == Money(19900)


def test_an_unpaid_flash_sale_order_closes_five_minutes_after_it_was_placed() -> None:
    assert sale().payment_deadline(NOW) == NOW + timedelta(minutes=5)


def test_the_engine_prices_the_sku_at_the_flash_price_within_the_buyers_limit() -> None:
    flash = sale()
    assert price([line("sku-a", "s1", 19900, 2)], [flash], at=NOW).total == Money(19800)
    bought = BuyerContext("buyer", flash_sale_bought={"fs": 1})
    assert price([line("sku-a", "s1", 19900, 2)], [flash], buyer=bought, at=NOW).total == Money(39800)
    assert price([line("sku-a", "s1", 19900)], [flash], at=NOW + timedelta(hours=2)).total == Money(19900)


def test_a_flash_sale_stores_as_a_plain_document_and_loads_back() -> None:
    spec = DocumentSpec("flash_sales", FlashSale)
    loaded = spec.decode(msgspec.json.decode(spec.encode(sale())), 1)
    assert (loaded.rule, loaded.payment_window, loaded.quota) == (sale().rule, timedelta(minutes=5), 30)
