"""Promotion storage on every backend (memory, SQLite file, PostgreSQL): the repositories of
promotions, coupon templates, held coupons and flash sales, and the claim / quota counters under
real threads."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import attrs
import pytest
from sqlalchemy import Engine, text

from marketcore.adapters.documents import DocumentSpec
from marketcore.adapters.memory.store import MemoryDatabase
from marketcore.adapters.repositories import PROMOTIONS
from marketcore.adapters.sqlalchemy.engine import create_engine_for
from marketcore.adapters.sqlalchemy.migrate import upgrade
from marketcore.adapters.sqlalchemy.tables import metadata
from marketcore.application.shared.ids import new_id
from marketcore.application.shared.ports import PageRequest
from marketcore.bootstrap.container import (
    MarketUnitOfWork,
    MemoryMarketUnitOfWork,
    SqlAlchemyMarketUnitOfWork,
)
from marketcore.domain.promotions.coupons import (
    ClaimLimits,
    CouponBudgetExhausted,
    CouponClaimLimitReached,
    CouponStatus,
    CouponTemplate,
)
from marketcore.domain.promotions.flash_sales import (
    FlashSale,
    FlashSaleLimitReached,
    FlashSaleSoldOut,
    FlashSaleStatus,
    QuotaReturn,
    QuotaTake,
)
from marketcore.domain.promotions.kinds import default_rule_kinds
from marketcore.domain.promotions.promotions import FullReduction, Promotion
from marketcore.domain.promotions.rules import Applies, Basket, Outcome, Placement, RuleKinds
from marketcore.domain.promotions.scope import Scope
from marketcore.domain.shared.errors import ConcurrencyConflict, Conflict, InvalidInput
from marketcore.domain.shared.money import Money

NOW = datetime(2026, 11, 11, 12, tzinfo=UTC)
DAY = timedelta(days=1)
KINDS = default_rule_kinds()
Factory = Callable[[], MarketUnitOfWork]


# -- backends ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def promotions_postgres(postgres_url: str) -> Iterator[Engine]:
    upgrade(postgres_url)
    engine = create_engine_for(postgres_url, pool_size=20, max_overflow=10)
    yield engine
    engine.dispose()


class Backend:
    serial_transactions: ClassVar[bool] = False
    skips_locked_rows: ClassVar[bool] = False  # SKIP LOCKED: concurrent claims take disjoint rows

    @pytest.fixture
    def make_uow(self) -> Callable[[RuleKinds | None], Factory]:
        raise NotImplementedError

    @pytest.fixture
    def uow(self, make_uow: Callable[[RuleKinds | None], Factory]) -> Factory:
        return make_uow(None)


class MemoryBackend(Backend):
    @pytest.fixture
    def make_uow(self) -> Callable[[RuleKinds | None], Factory]:
        database = MemoryDatabase()

        def make(kinds: RuleKinds | None) -> Factory:
            def factory() -> MarketUnitOfWork:
                unit = MemoryMarketUnitOfWork(database)
                unit.rule_kinds = kinds
                return unit

            return factory

        return make


def _sql(engine: Engine) -> Callable[[RuleKinds | None], Factory]:
    def make(kinds: RuleKinds | None) -> Factory:
        def factory() -> MarketUnitOfWork:
            unit = SqlAlchemyMarketUnitOfWork(engine)
            unit.rule_kinds = kinds
            return unit

        return factory

    return make


class SqliteBackend(Backend):
    serial_transactions = True

    @pytest.fixture
    def make_uow(self, tmp_path: Path) -> Iterator[Callable[[RuleKinds | None], Factory]]:
        url = f"sqlite:///{tmp_path / 'promotions.db'}"
        upgrade(url)
        engine = create_engine_for(url)
        yield _sql(engine)
        engine.dispose()


@pytest.mark.postgres
class PostgresBackend(Backend):
    skips_locked_rows = True

    @pytest.fixture
    def make_uow(self, promotions_postgres: Engine) -> Callable[[RuleKinds | None], Factory]:
        with promotions_postgres.begin() as connection:
            connection.execute(text(f"TRUNCATE {', '.join(metadata.tables)}"))
        return _sql(promotions_postgres)


# -- builders ----------------------------------------------------------------------------------


def promotion(
    shop_id: str | None,
    code: str = "full_reduction",
    params: Mapping[str, object] | None = None,
    *,
    starts: datetime | None = NOW - DAY,
    ends: datetime | None = NOW + DAY,
    **options: object,
) -> Promotion:
    if params is None:
        params = {"tiers": [[20000, 2000]]}
    rule = KINDS.decode(code, params)
    return Promotion.create(new_id(), f"{code} offer", shop_id, rule, starts, ends, **options)  # type: ignore[arg-type]


def template(shop_id: str | None = "shop-a", **changes: object) -> CouponTemplate:
    fields: dict[str, object] = {
        "claim_from": NOW - DAY,
        "claim_until": NOW + DAY,
        "budget": 5,
        "per_buyer_limit": 2,
        "valid_days": 7,
    }
    fields.update(changes)
    return CouponTemplate.create(
        new_id(),
        "¥5 off ¥50",
        shop_id,
        KINDS.decode("fixed_amount", {"value": 500, "threshold": 5000}),
        **fields,  # type: ignore[arg-type]
    )


def flash_sale(sku_id: str = "sku-1", **changes: object) -> FlashSale:
    fields: dict[str, object] = {
        "price": Money(100),
        "list_price": Money(1000),
        "quota": 30,
        "available_stock": 100,
        "per_buyer_limit": 2,
        "starts_at": NOW - timedelta(hours=1),
        "ends_at": NOW + timedelta(hours=1),
        "at": NOW - timedelta(hours=2),
    }
    fields.update(changes)
    return FlashSale.create(new_id(), "shop-a", sku_id, "秒杀", **fields)  # type: ignore[arg-type]


def save(uow: Factory, *items: object) -> None:
    with uow() as unit:
        for item in items:
            match item:
                case Promotion():
                    unit.promotions.add(item)
                case CouponTemplate():
                    unit.coupon_templates.add(item)
                case FlashSale():
                    unit.flash_sales.add(item)
                case _:
                    unit.coupons.add(item)  # type: ignore[arg-type]
        unit.commit()


def run_threads(count: int, work: Callable[[int], None]) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def run(index: int) -> None:
        try:
            start.wait()
            work(index)
        except BaseException as error:  # reported in the main thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


# -- an integrator's kind ----------------------------------------------------------------------


@attrs.frozen
class SecondUnitHalfPrice:
    code: ClassVar[str] = "second_unit_half_price"
    placement: ClassVar[Placement] = Placement.SHOP_PROMOTION
    default_priority: ClassVar[int] = 250

    def discount(self, basket: Basket) -> Outcome:
        return Applies(
            sum(line.amount // line.quantity // 2 for line in basket.lines if line.quantity >= 2), "½"
        )

    def ceiling(self, basket: Basket) -> int:
        return basket.amount

    def to_params(self) -> dict[str, object]:
        return {}

    @classmethod
    def from_params(cls, params: Mapping[str, object]) -> SecondUnitHalfPrice:
        return cls()


LEGACY = DocumentSpec(
    "promotions",
    FullReduction,
    columns=PROMOTIONS.columns,
    extract=lambda p: {
        "shop_id": p.shop_id,
        "owner": p.shop_id,
        "kind": "full_reduction",
        "ends_at": int(p.ends_at.timestamp() * 1000),
    },
)


# -- the contract ------------------------------------------------------------------------------


class PromotionStorageContract(Backend):
    # promotions

    def test_promotions_of_every_placement_round_trip(self, uow: Factory) -> None:
        stored = [
            promotion(
                "shop-a",
                "full_reduction",
                {"tiers": [[100, 10], [200, 30]], "repeating": False},
                group="g",
                priority=7,
            ),
            promotion(
                "shop-a",
                "full_discount",
                {"tiers": [[10000, 500]]},
                scope=Scope(category_ids=frozenset({"c1"})),
            ),
            promotion("shop-a", "member_price", {"entries": [["sku-1", 2, 900]]}, starts=None, ends=None),
            promotion(None, "cross_shop_reduction", {"tiers": [[30000, 3000]]}),
            promotion(
                None,
                "free_shipping",
                {"threshold": 9900},
                scope=Scope(shop_ids=frozenset({"shop-a", "shop-b"})),
            ),
        ]
        save(uow, *stored)
        with uow() as unit:
            for original in stored:
                loaded = unit.promotions.get(original.id)
                assert loaded is not None and loaded is not original
                assert (loaded.name, loaded.shop_id, loaded.rule, loaded.scope) == (
                    original.name,
                    original.shop_id,
                    original.rule,
                    original.scope,
                )
                assert (loaded.starts_at, loaded.ends_at, loaded.group, loaded.priority, loaded.enabled) == (
                    original.starts_at,
                    original.ends_at,
                    original.group,
                    original.priority,
                    True,
                )
                assert loaded.version == 1

    def test_a_checkout_reads_its_shops_and_the_platforms_active_promotions(self, uow: Factory) -> None:
        mine = promotion("shop-a")
        standing = promotion(
            "shop-b", "member_price", {"entries": [["sku-1", 1, 900]]}, starts=None, ends=None
        )
        platform = promotion(None, "cross_shop_reduction", {"tiers": [[30000, 3000]]})
        other_shop = promotion("shop-c")
        ended = promotion("shop-a", starts=NOW - 2 * DAY, ends=NOW)
        later = promotion("shop-a", starts=NOW + timedelta(seconds=1), ends=NOW + DAY)
        disabled = promotion("shop-a")
        disabled.enabled = False
        save(uow, mine, standing, platform, other_shop, ended, later, disabled)
        with uow() as unit:
            found = unit.promotions.active_for_checkout(["shop-b", "shop-a", "shop-a"], NOW)
            assert {p.id for p in found} == {mine.id, standing.id, platform.id}
            assert {p.id for p in unit.promotions.active_for_shops(["shop-a", "shop-b"], NOW)} == {
                mine.id,
                standing.id,
            }
            assert unit.promotions.active_for_shops([], NOW) == []
            assert [p.id for p in unit.promotions.active_for_checkout([], NOW)] == [platform.id]

    def test_promotions_list_by_owner_newest_first_in_pages(self, uow: Factory) -> None:
        shop = [promotion("shop-a") for _ in range(3)]
        platform = promotion(None, "cross_shop_reduction", {"tiers": [[30000, 3000]]})
        save(uow, *shop, platform, promotion("shop-b"))
        with uow() as unit:
            first = unit.promotions.listing("shop-a", PageRequest(limit=2))
            assert [p.id for p in first.items] == [shop[2].id, shop[1].id]
            rest = unit.promotions.listing("shop-a", PageRequest(limit=2, cursor=first.next_cursor))
            assert [p.id for p in rest.items] == [shop[0].id] and rest.next_cursor is None
            assert [p.id for p in unit.promotions.listing(None, PageRequest()).items] == [platform.id]
            assert [p.id for p in unit.promotions.for_shop("shop-a")] == [p.id for p in reversed(shop)]

    def test_changes_to_a_promotion_are_saved_with_its_version(self, uow: Factory) -> None:
        stored = promotion("shop-a")
        save(uow, stored)
        with uow() as unit:
            loaded = unit.promotions.get(stored.id)
            assert loaded is not None
            unit.commit()  # nothing changed: no write
        with uow() as unit:
            loaded = unit.promotions.get(stored.id, lock=True)
            assert loaded is not None and loaded.version == 1
            loaded.enabled = False
            unit.commit()
        with uow() as unit:
            loaded = unit.promotions.get(stored.id)
            assert loaded is not None and loaded.version == 2 and not loaded.enabled
            assert unit.promotions.active_for_shops(["shop-a"], NOW) == []

    def test_the_skeletons_full_reduction_documents_load_as_full_reduction_promotions(
        self, uow: Factory
    ) -> None:
        old = FullReduction.create("legacy-1", "shop-a", "满200减20", [(20000, 2000)], NOW - DAY, NOW + DAY)
        with uow() as unit:
            unit.documents.add(LEGACY, old)
            unit.commit()
        with uow() as unit:
            loaded = unit.promotions.get("legacy-1")
            assert loaded is not None and isinstance(loaded, Promotion)
            assert loaded.rule == old.rule and loaded.shop_id == "shop-a" and loaded.name == "满200减20"
            assert [p.id for p in unit.promotions.active_for_checkout(["shop-a"], NOW)] == ["legacy-1"]
            loaded.name = "满200减20!"
            unit.commit()
        with uow() as unit:
            again = unit.promotions.get("legacy-1")
            assert again is not None and again.name == "满200减20!" and again.rule == old.rule

    def test_stored_rules_decode_through_the_registry_the_unit_of_work_was_given(
        self, make_uow: Callable[[RuleKinds | None], Factory]
    ) -> None:
        kinds = default_rule_kinds()
        kinds.register(SecondUnitHalfPrice)
        custom = make_uow(kinds)
        offer = Promotion.create(
            new_id(), "第二件半价", "shop-a", SecondUnitHalfPrice(), NOW - DAY, NOW + DAY
        )
        save(custom, offer)
        with custom() as unit:
            loaded = unit.promotions.get(offer.id)
            assert loaded is not None and loaded.rule == SecondUnitHalfPrice()
        with make_uow(None)() as unit, pytest.raises(InvalidInput, match="second_unit_half_price"):
            unit.promotions.get(offer.id)

    # coupon templates and coupons

    def test_coupon_templates_round_trip_and_list_by_owner(self, uow: Factory) -> None:
        shop = template("shop-a", scope=Scope(sku_ids=frozenset({"sku-1"})))
        platform = template(None, valid_days=None, valid_from=NOW, valid_until=NOW + 30 * DAY)
        save(uow, shop, platform, template("shop-b"))
        with uow() as unit:
            loaded = unit.coupon_templates.get(shop.id)
            assert loaded is not None
            assert attrs.asdict(loaded, recurse=False) | {"version": 0} == attrs.asdict(
                shop, recurse=False
            ) | {"version": 0}
            assert [t.id for t in unit.coupon_templates.listing("shop-a", PageRequest()).items] == [shop.id]
            assert [t.id for t in unit.coupon_templates.listing(None, PageRequest()).items] == [platform.id]

    def test_claimable_templates_are_active_inside_their_claim_window(self, uow: Factory) -> None:
        open_a = template("shop-a")
        open_platform = template(None)
        stopped = template("shop-a")
        stopped.stop(NOW)
        not_yet = template("shop-a", claim_from=NOW + timedelta(seconds=1), claim_until=NOW + DAY)
        over = template("shop-a", claim_from=NOW - 2 * DAY, claim_until=NOW)
        expired = template("shop-a", valid_days=None, valid_from=NOW - 2 * DAY, valid_until=NOW)
        save(uow, open_a, open_platform, stopped, not_yet, over, expired)
        with uow() as unit:
            everything = unit.coupon_templates.claimable(NOW, PageRequest())
            assert {t.id for t in everything.items} == {open_a.id, open_platform.id}
            assert all(t.is_claimable(NOW) for t in everything.items)
            by_shop = unit.coupon_templates.claimable(NOW, PageRequest(), shop_id="shop-a")
            assert [t.id for t in by_shop.items] == [open_a.id]
            assert unit.coupon_templates.claimable(NOW - 3 * DAY, PageRequest()).items == []

    def test_held_coupons_by_buyer_status_checkout_and_id(self, uow: Factory) -> None:
        source = template("shop-a", per_buyer_limit=5, budget=10)
        mine = [source.claim(new_id(), "u1", NOW - DAY, issued=n, claimed_by_buyer=n) for n in range(3)]
        theirs = source.claim(new_id(), "u2", NOW, issued=3, claimed_by_buyer=0)
        old = template("shop-a", claim_from=NOW - 30 * DAY, claim_until=NOW + DAY, valid_days=1)
        expired = old.claim(new_id(), "u1", NOW - 10 * DAY, issued=0, claimed_by_buyer=0)
        mine[1].lock("checkout-1", NOW)
        save(uow, source, old, *mine, theirs, expired)
        with uow() as unit:
            page = unit.coupons.for_buyer("u1", None, PageRequest(limit=2))
            assert [c.id for c in page.items] == [expired.id, mine[2].id] and page.next_cursor
            locked = unit.coupons.for_buyer("u1", CouponStatus.LOCKED, PageRequest())
            assert [c.id for c in locked.items] == [mine[1].id]
            assert [c.id for c in unit.coupons.usable_by("u1", NOW)] == [mine[2].id, mine[0].id]
            assert [c.id for c in unit.coupons.for_checkout("checkout-1")] == [mine[1].id]
            many = unit.coupons.get_many([mine[0].id, theirs.id, "missing"], lock=True)
            assert set(many) == {mine[0].id, theirs.id}
            loaded = unit.coupons.get(mine[0].id)
            assert loaded is many[mine[0].id]
            assert (loaded.offer, loaded.valid_until, loaded.scope) == (
                mine[0].offer,
                mine[0].valid_until,
                mine[0].scope,
            )

    def test_of_two_checkouts_locking_one_coupon_one_wins(self, uow: Factory) -> None:
        source = template("shop-a")
        coupon = source.claim(new_id(), "u1", NOW, issued=0, claimed_by_buyer=0)
        save(uow, source, coupon)
        with uow() as first:
            mine = first.coupons.get(coupon.id)
            assert mine is not None
            mine.lock("checkout-1", NOW)
            if not self.serial_transactions:
                with uow() as second:
                    theirs = second.coupons.get(coupon.id)
                    assert theirs is not None
                    theirs.lock("checkout-2", NOW)
                    second.commit()
                with pytest.raises(ConcurrencyConflict):
                    first.commit()
            else:
                first.commit()
        with uow() as unit:
            stored = unit.coupons.get(coupon.id)
            assert stored is not None and stored.status is CouponStatus.LOCKED
            assert stored.checkout_id == ("checkout-1" if self.serial_transactions else "checkout-2")

    def test_concurrent_checkouts_locking_one_coupon_under_row_locks(self, uow: Factory) -> None:
        source = template("shop-a")
        coupon = source.claim(new_id(), "u1", NOW, issued=0, claimed_by_buyer=0)
        save(uow, source, coupon)
        won: list[str] = []

        def checkout(index: int) -> None:
            try:
                with uow() as unit:
                    held = unit.coupons.get_many([coupon.id], lock=True)[coupon.id]
                    held.lock(f"checkout-{index}", NOW)
                    unit.commit()
                won.append(f"checkout-{index}")
            except (Conflict, ConcurrencyConflict):
                pass

        assert run_threads(8, checkout) == []
        with uow() as unit:
            stored = unit.coupons.get(coupon.id)
            assert stored is not None and won == [stored.checkout_id]

    # flash sales

    def test_flash_sales_round_trip_and_running_ones_are_found_by_sku(self, uow: Factory) -> None:
        running = flash_sale("sku-1")
        later = flash_sale("sku-1", starts_at=NOW + timedelta(hours=1), ends_at=NOW + timedelta(hours=2))
        cancelled = flash_sale("sku-2")
        cancelled.cancel(NOW)
        other = flash_sale("sku-3")
        save(uow, running, later, cancelled, other)
        with uow() as unit:
            loaded = unit.flash_sales.get(running.id)
            assert loaded is not None
            assert (loaded.price, loaded.quota, loaded.payment_window, loaded.starts_at) == (
                running.price,
                30,
                timedelta(minutes=5),
                running.starts_at,
            )
            assert [s.id for s in unit.flash_sales.running_for_skus(["sku-1", "sku-2"], NOW)] == [running.id]
            assert [s.id for s in unit.flash_sales.listing("shop-a", PageRequest(limit=1)).items] == [
                other.id
            ]

    def test_flash_sales_not_ended_ended_and_holding_stock(self, uow: Factory) -> None:
        soon = flash_sale("sku-1", ends_at=NOW + timedelta(minutes=30))
        later = flash_sale("sku-2", starts_at=NOW + timedelta(hours=1), ends_at=NOW + timedelta(hours=2))
        past = flash_sale("sku-3", ends_at=NOW + timedelta(minutes=1))
        cancelled = flash_sale("sku-1", starts_at=NOW + timedelta(hours=3), ends_at=NOW + timedelta(hours=4))
        cancelled.cancel(NOW)
        save(uow, soon, later, past, cancelled)
        at = NOW + timedelta(minutes=5)
        with uow() as unit:
            assert [s.id for s in unit.flash_sales.not_ended(at, PageRequest()).items] == [soon.id, later.id]
            first = unit.flash_sales.not_ended(at, PageRequest(limit=1))
            assert [s.id for s in first.items] == [soon.id] and first.next_cursor is not None
            assert {s.id for s in unit.flash_sales.holding_stock()} == {soon.id, later.id, past.id}
            assert [s.id for s in unit.flash_sales.scheduled_for_sku("sku-1")] == [soon.id]
            assert set(unit.flash_sales.get_many([soon.id, "missing", later.id], lock=True)) == {
                soon.id,
                later.id,
            }
            (claimed,) = unit.flash_sales.claim_ended(at, 10)
            assert claimed.id == past.id
            claimed.end(at, returned=30)
            unit.commit()
        with uow() as unit:
            assert unit.flash_sales.claim_ended(at, 10) == []
            ended = unit.flash_sales.get(past.id)
            assert ended is not None and ended.status is FlashSaleStatus.ENDED and not ended.holds_stock
            assert {s.id for s in unit.flash_sales.holding_stock()} == {soon.id, later.id}

    def test_workers_ending_flash_sales_side_by_side_take_disjoint_batches(self, uow: Factory) -> None:
        if not self.skips_locked_rows:
            pytest.skip("one writer at a time (SQLite, memory): claims cannot overlap")
        sales = [flash_sale(f"sku-{n}", ends_at=NOW + timedelta(minutes=1)) for n in range(6)]
        save(uow, *sales)
        at = NOW + timedelta(minutes=2)
        claimed: list[list[str]] = [[], []]
        holding = threading.Barrier(2)

        def work(index: int) -> None:
            with uow() as unit:
                got = unit.flash_sales.claim_ended(at, 3)
                claimed[index] = [s.id for s in got]
                holding.wait(timeout=10)  # both hold their rows at once

        assert run_threads(2, work) == []
        assert sorted(claimed[0] + claimed[1]) == sorted(s.id for s in sales)

    # counters

    def test_claims_count_per_buyer_and_in_all(self, uow: Factory) -> None:
        limits = ClaimLimits("t1", budget=3, per_buyer_limit=2)
        with uow() as unit:
            counters = unit.promotion_counters
            assert counters.claim(limits, "u1") is None
            assert counters.claim(limits, "u1") is None
            assert isinstance(counters.claim(limits, "u1"), CouponClaimLimitReached)
            assert counters.claim(limits, "u2") is None
            refused = counters.claim(limits, "u3")
            assert isinstance(refused, CouponBudgetExhausted)
            unit.commit()
        with uow() as unit:
            counts = unit.promotion_counters.claim_counts(["t1", "t2"], "u3")
            assert (counts["t1"].issued, counts["t1"].claimed) == (3, 0)  # the refused claim left no trace
            assert (counts["t2"].issued, counts["t2"].claimed) == (0, 0)
            assert unit.promotion_counters.claim_counts(["t1"], "u1")["t1"].claimed == 2
            assert unit.promotion_counters.claim_counts(["t1"])["t1"].claimed == 0
            assert unit.promotion_counters.claim_counts([]) == {}

    def test_quota_takes_and_returns(self, uow: Factory) -> None:
        with uow() as unit:
            counters = unit.promotion_counters
            assert counters.take(QuotaTake("f1", "u1", 2, quota=5, per_buyer_limit=3)) is None
            assert isinstance(
                counters.take(QuotaTake("f1", "u1", 2, quota=5, per_buyer_limit=3)), FlashSaleLimitReached
            )
            assert isinstance(
                counters.take(QuotaTake("f1", "u2", 4, quota=5, per_buyer_limit=4)), FlashSaleSoldOut
            )
            assert counters.take(QuotaTake("f1", "u2", 3, quota=5, per_buyer_limit=4)) is None
            assert isinstance(
                counters.take(QuotaTake("f1", "u3", 9, quota=5, per_buyer_limit=3)), FlashSaleLimitReached
            )
            with pytest.raises(InvalidInput, match="quantity"):
                counters.take(QuotaTake("f1", "u3", 0, quota=5, per_buyer_limit=3))
            unit.commit()
        with uow() as unit:
            counts = unit.promotion_counters.quota_counts(["f1"], "u2")
            assert (counts["f1"].sold, counts["f1"].bought) == (5, 3)
            unit.promotion_counters.give_back(QuotaReturn("f1", "u2", 2))
            unit.commit()
        with uow() as unit:
            counts = unit.promotion_counters.quota_counts(["f1"], "u2")
            assert (counts["f1"].sold, counts["f1"].bought) == (3, 1)
            with pytest.raises(Conflict):
                unit.promotion_counters.give_back(QuotaReturn("f1", "u2", 2))  # u2 holds only 1

    def test_counters_roll_back_with_their_transaction(self, uow: Factory) -> None:
        with uow() as unit:
            assert unit.promotion_counters.claim(ClaimLimits("t1", 5, 5), "u1") is None
            assert unit.promotion_counters.take(QuotaTake("f1", "u1", 1, 5, 5)) is None
        with uow() as unit:
            assert (
                unit.promotion_counters.claim_counts(["t1"], "u1")["t1"]
                == unit.promotion_counters.claim_counts(["t0"])["t0"]
            )
            assert unit.promotion_counters.quota_counts(["f1"], "u1")["f1"].sold == 0

    def test_concurrent_claims_never_pass_the_budget(self, uow: Factory) -> None:
        limits = ClaimLimits("t1", budget=10, per_buyer_limit=1)
        claimed: list[int] = []

        def claim(index: int) -> None:
            with uow() as unit:
                if unit.promotion_counters.claim(limits, f"buyer-{index}") is None:
                    unit.commit()
                    claimed.append(index)

        assert run_threads(40, claim) == []
        assert len(claimed) == 10
        with uow() as unit:
            assert unit.promotion_counters.claim_counts(["t1"])["t1"].issued == 10

    def test_one_buyer_claiming_from_many_threads_gets_the_limit(self, uow: Factory) -> None:
        limits = ClaimLimits("t1", budget=100, per_buyer_limit=2)
        claimed: list[int] = []

        def claim(index: int) -> None:
            with uow() as unit:
                if unit.promotion_counters.claim(limits, "u1") is None:
                    unit.commit()
                    claimed.append(index)

        assert run_threads(20, claim) == []
        assert len(claimed) == 2
        with uow() as unit:
            counts = unit.promotion_counters.claim_counts(["t1"], "u1")["t1"]
            assert (counts.issued, counts.claimed) == (2, 2)

    def test_concurrent_takes_never_oversell_the_quota_or_a_buyers_limit(self, uow: Factory) -> None:
        taken: dict[str, int] = {}
        lock = threading.Lock()

        def take(index: int) -> None:
            buyer, quantity = f"buyer-{index % 15}", 1 + index % 2
            with uow() as unit:
                if (
                    unit.promotion_counters.take(
                        QuotaTake("f1", buyer, quantity, quota=30, per_buyer_limit=3)
                    )
                    is None
                ):
                    unit.commit()
                    with lock:
                        taken[buyer] = taken.get(buyer, 0) + quantity

        assert run_threads(60, take) == []
        assert sum(taken.values()) <= 30 and all(n <= 3 for n in taken.values())
        with uow() as unit:
            counts = unit.promotion_counters.quota_counts(["f1"])["f1"]
            assert counts.sold == sum(taken.values())
            for buyer, bought in taken.items():
                assert unit.promotion_counters.quota_counts(["f1"], buyer)["f1"].bought == bought
        assert counts.sold >= 29  # 60 attempts for 30 units: only a last odd unit may stay unsold


class TestMemoryPromotionStorage(MemoryBackend, PromotionStorageContract):
    pass


class TestSqlitePromotionStorage(SqliteBackend, PromotionStorageContract):
    pass


class TestPostgresPromotionStorage(PostgresBackend, PromotionStorageContract):
    pass


def test_sql_refuses_negative_counters(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'check.db'}"
    upgrade(url)
    engine = create_engine_for(url)
    try:
        with pytest.raises(Exception, match="CHECK"), engine.begin() as connection:
            connection.execute(text("INSERT INTO promotion_counters VALUES ('c', 's', '', -1)"))
    finally:
        engine.dispose()
