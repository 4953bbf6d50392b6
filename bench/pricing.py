"""Time to price a cart: the pricing engine alone, no storage.

The cart: 50 lines over 5 shops (10 each, 1 to 3 units, ¥30 to ¥300), a buyer of member level 2,
30 active promotions (per shop: a tiered 满减 and a 每满 in one exclusivity group, a 满折, a buy 3
pay 2 on two SKUs and one unit-price offer — member prices, a limited-time discount or a flash
sale; for the platform: two 跨店满减 in one group and a free-shipping offer; two shops' own
free shipping) and 10 held coupons (7 of shops, 3 of the platform). Measured:

- ``best coupons``: ``best_coupons(...)``, the search and the full breakdown it returns — what
  a checkout preview does;
- ``price, coupons given``: ``price(...)`` with the coupons the search chose;
- ``price, no coupons``: ``price(...)`` alone.

    .venv/bin/python -m bench.pricing [--quick] [--runs N]
"""

from __future__ import annotations

import argparse
import gc
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bench.common import percentile, print_table
from marketcore.domain.promotions.coupons import Coupon, CouponOffer
from marketcore.domain.promotions.kinds import (
    BuyNPayM,
    CrossShopReduction,
    FixedAmountOff,
    FlashSalePrice,
    FreeShipping,
    FullDiscountRule,
    FullReductionRule,
    LimitedTimeDiscount,
    MemberPrice,
    MemberPriceEntry,
    PercentOff,
    RateTier,
    Tier,
)
from marketcore.domain.promotions.pricing import PricingLine, price
from marketcore.domain.promotions.promotions import Promotion
from marketcore.domain.promotions.rules import BuyerContext, RuleKind
from marketcore.domain.promotions.scope import Scope
from marketcore.domain.promotions.selection import best_coupons
from marketcore.domain.shared.money import Money

NOW = datetime(2026, 11, 11, 10, 0, tzinfo=UTC)
SHOPS = [f"shop{n}" for n in range(5)]


def _tiers(*pairs: tuple[int, int]) -> list[Tier]:
    return [Tier(Money(t), Money(d)) for t, d in pairs]


def _promotion(id: str, shop: str | None, rule: RuleKind, **options: object) -> Promotion:
    window = (NOW - timedelta(days=1), NOW + timedelta(days=1))
    return Promotion.create(id, id, shop, rule, *window, **options)  # type: ignore[arg-type]


def _coupon(id: str, shop: str | None, rule: FixedAmountOff | PercentOff) -> Coupon:
    return Coupon(
        id,
        template_id=f"t-{id}",
        buyer_id="buyer",
        name=id,
        shop_id=shop,
        offer=CouponOffer.of(rule),
        valid_from=NOW - timedelta(days=1),
        valid_until=NOW + timedelta(days=6),
        claimed_at=NOW - timedelta(days=1),
    )


def cart() -> tuple[list[PricingLine], list[Promotion], dict[str, Money], list[Coupon]]:
    lines = [
        PricingLine(f"{shop}-sku{n}", shop, Money(3000 + (n * 2700 + s * 1100) % 27000), 1 + (n + s) % 3)
        for s, shop in enumerate(SHOPS)
        for n in range(10)
    ]
    promotions: list[Promotion] = []
    for s, shop in enumerate(SHOPS):
        skus = [line.sku_id for line in lines if line.shop_id == shop]
        promotions += [
            _promotion(f"{shop}-mj", shop, FullReductionRule(_tiers((30000, 3000), (50000, 6000)))),
            _promotion(f"{shop}-every", shop, FullReductionRule(_tiers((20000, 1500)), True, Money(6000))),
            _promotion(f"{shop}-zhe", shop, FullDiscountRule([RateTier(Money(40000), 1000)])),
            _promotion(f"{shop}-b3p2", shop, BuyNPayM(3, 2), scope=Scope(sku_ids=frozenset(skus[:2]))),
        ]
        if s % 3 == 0:
            entries = [MemberPriceEntry(sku, 2, Money(2500 + 100 * n)) for n, sku in enumerate(skus[2:6])]
            promotions.append(_promotion(f"{shop}-member", shop, MemberPrice(entries)))
        elif s % 3 == 1:
            promotions.append(_promotion(f"{shop}-ltd", shop, LimitedTimeDiscount(off_bp=1200)))
        else:
            flash = FlashSalePrice(f"{shop}-flash", skus[3], Money(1990), per_buyer_limit=5)
            promotions.append(_promotion(f"{shop}-flash", shop, flash))
    promotions += [
        _promotion("cross-every", None, CrossShopReduction(_tiers((30000, 3000)), True), group="cross"),
        _promotion("cross-big", None, CrossShopReduction(_tiers((100000, 12000))), group="cross"),
        _promotion("platform-ship", None, FreeShipping(Money(25000))),
        _promotion(f"{SHOPS[0]}-ship", SHOPS[0], FreeShipping(Money(9900))),
        _promotion(f"{SHOPS[1]}-ship", SHOPS[1], FreeShipping()),
    ]
    coupons = [
        _coupon("s0-20", SHOPS[0], FixedAmountOff(Money(2000), Money(20000))),
        _coupon("s0-5", SHOPS[0], FixedAmountOff(Money(500))),
        _coupon("s1-10pct", SHOPS[1], PercentOff(1000, Money(3000), Money(10000))),
        _coupon("s1-30", SHOPS[1], FixedAmountOff(Money(3000), Money(40000))),
        _coupon("s2-15", SHOPS[2], FixedAmountOff(Money(1500), Money(15000))),
        _coupon("s3-50", SHOPS[3], FixedAmountOff(Money(5000), Money(90000))),
        _coupon("s4-8pct", SHOPS[4], PercentOff(800, None, Money(0))),
        _coupon("p-50", None, FixedAmountOff(Money(5000), Money(150000))),
        _coupon("p-5pct", None, PercentOff(500, Money(4000), Money(50000))),
        _coupon("p-100", None, FixedAmountOff(Money(10000), Money(500000))),
    ]
    fees = {shop: Money(800 + 200 * s) for s, shop in enumerate(SHOPS)}
    return lines, promotions, fees, coupons


def _time(call: Callable[[], object], runs: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds per call (CPU time tells the engine's cost apart from
    waiting for a core on a busy machine)."""
    for _ in range(max(runs // 20, 5)):
        call()  # warm up
    wall, cpu = [], []
    gc.collect()
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.thread_time()
        call()
        cpu.append((time.thread_time() - started_cpu) * 1000)
        wall.append((time.perf_counter() - started) * 1000)
    return wall, cpu


def run(*, quick: bool = False, runs: int | None = None) -> None:
    runs = runs or (300 if quick else 2000)
    lines, promotions, fees, coupons = cart()
    buyer = BuyerContext("buyer", member_level=2)
    suggestion = best_coupons(lines, promotions, fees, coupons, buyer=buyer, at=NOW)
    chosen = [c for c in coupons if c.id in suggestion.coupon_ids]
    active = sum(1 for p in promotions if p.is_active(NOW))
    print(
        f"## Pricing: {len(lines)} lines, {len(SHOPS)} shops, {active} active promotions, "
        f"{len(coupons)} held coupons ({runs} runs each)\n",
        flush=True,
    )
    cases: list[tuple[str, Callable[[], object]]] = [
        (
            "best coupons (search + breakdown)",
            lambda: best_coupons(lines, promotions, fees, coupons, buyer=buyer, at=NOW),
        ),
        ("price, coupons given", lambda: price(lines, promotions, fees, buyer=buyer, coupons=chosen, at=NOW)),
        ("price, no coupons", lambda: price(lines, promotions, fees, buyer=buyer, at=NOW)),
    ]
    rows = []
    for name, call in cases:
        wall, cpu = _time(call, runs)
        rows.append(
            [
                name,
                f"{percentile(wall, 50):.2f}",
                f"{percentile(wall, 99):.2f}",
                f"{percentile(cpu, 50):.2f}",
                f"{percentile(cpu, 99):.2f}",
            ]
        )
    print_table(["case", "median ms", "p99 ms", "CPU median ms", "CPU p99 ms"], rows)
    load = os.getloadavg()
    print(
        f"\n# chose {', '.join(suggestion.coupon_ids)}: pays {suggestion.pricing.total}, saves "
        f"{suggestion.saving}; {suggestion.evaluated} combinations priced in full"
    )
    loads = " ".join(f"{value:.2f}" for value in load)
    print(f"# load average {loads} on {os.cpu_count()} cores; target <= 2 ms median\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="300 runs per case instead of 2000")
    parser.add_argument("--runs", type=int, default=None)
    args = parser.parse_args(argv)
    run(quick=args.quick, runs=args.runs)


if __name__ == "__main__":
    main()
