"""Group commit on SQLite (``adapters/sqlalchemy/write_groups.py``): the use cases one thread runs
inside ``Marketplace.write_group`` share one transaction. Each still succeeds or fails on its
own; nothing of the group is visible to others, or handed on to caches and subscribers, before
the group commits. The HTTP writer lane runs the checkouts waiting for it in one group."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sql_statements import counting

from marketcore import Marketplace, create_marketplace
from marketcore.adapters.sqlalchemy.document_cache import cache_for
from marketcore.application.ordering.checkout import ItemRequest
from marketcore.application.shared.ports import StorageUnavailable
from marketcore.domain.shared.errors import IdempotencyConflict
from marketcore.entrypoints.http.writer_lane import WriterLane
from marketcore.testing.scenarios import Scenario, a_marketplace_with


@pytest.fixture
def markets(tmp_path: Path) -> Iterator[tuple[Marketplace, Marketplace]]:
    """Ours groups its writes; theirs is another process on the same file, reading."""
    url = f"sqlite:///{tmp_path / 'groups.db'}"
    ours = create_marketplace(url, velocity_checkouts_per_hour=1000)
    theirs = create_marketplace(url, migrate_on_start=False)
    yield ours, theirs
    ours.close()
    theirs.close()


def _world(market: Marketplace) -> tuple[Scenario, str]:
    world = a_marketplace_with(market, shops=1, listed_skus=1, stock=10, price=10_000)
    return world, world.shops[0].sku_ids[0]


def _buy(market: Marketplace, world: Scenario, sku_id: str, quantity: int = 1, key: str | None = None) -> str:
    placed = market.checkout.checkout(
        world.buyer, world.address_id, "sandbox", [ItemRequest(sku_id, quantity)], idempotency_key=key
    )
    return placed.checkout.id


def _reserved(market: Marketplace, sku_id: str) -> int:
    with market.container.uow()(read_only=True) as uow:
        return uow.stock.get_many([sku_id])[sku_id].reserved


def test_members_commit_together_and_nothing_shows_or_is_handed_on_before(
    markets: tuple[Marketplace, Marketplace],
) -> None:
    ours, theirs = markets
    assert ours.groups_writes
    world, sku_id = _world(ours)
    handed_on: list[frozenset[str]] = []
    ours.changes.subscribe(handed_on.append)
    with ours.write_group():
        first = _buy(ours, world, sku_id)
        second = _buy(ours, world, sku_id)
        assert _reserved(ours, sku_id) == 2  # a member sees the group's earlier members
        assert _reserved(theirs, sku_id) == 0  # nobody else does yet
        assert handed_on == []
    assert _reserved(theirs, sku_id) == 2
    assert {first, second} <= set().union(*handed_on)


def test_a_member_that_fails_while_committing_loses_only_its_own_writes(
    markets: tuple[Marketplace, Marketplace],
) -> None:
    # The second checkout reserves 2 units, then its commit finds the key taken (AlreadyExists),
    # and its retry finds another body under it: its reservation must go with its savepoint.
    ours, theirs = markets
    world, sku_id = _world(ours)
    with ours.write_group():
        _buy(ours, world, sku_id, key="k-1")
        with pytest.raises(IdempotencyConflict):
            _buy(ours, world, sku_id, quantity=2, key="k-1")
        _buy(ours, world, sku_id, key="k-2")
    assert _reserved(theirs, sku_id) == 2


def test_a_stale_cached_read_found_at_a_members_commit_is_rolled_back_and_retried(
    markets: tuple[Marketplace, Marketplace],
) -> None:
    # The member's commit (verify_served) finds the cached product stale after it reserved
    # stock; rolled back to its savepoint, the retry reserves again at the new price.
    ours, theirs = markets
    world, sku_id = _world(ours)
    shop = world.shops[0]
    _buy(ours, world, sku_id)  # the product is in ours' cache now
    theirs.catalog.update_sku(shop.staff, shop.id, sku_id, price=7_000)
    with ours.write_group():
        placed = ours.checkout.checkout(world.buyer, world.address_id, "sandbox", [ItemRequest(sku_id, 1)])
    assert placed.checkout.amount_due.amount < 10_000
    assert _reserved(theirs, sku_id) == 2  # one for each checkout, not one more for the first try


def test_later_members_do_not_check_again_the_versions_an_earlier_member_checked(
    markets: tuple[Marketplace, Marketplace],
) -> None:
    # Under the group's write lock only members change rows: the first member's check of the
    # cached product, shop and promotions holds for the members after it.
    ours, _ = markets
    world, sku_id = _world(ours)
    _buy(ours, world, sku_id)  # the cache is warm
    with counting(ours) as statements, ours.write_group():
        for _ in range(3):
            _buy(ours, world, sku_id)
    checks = [s for s in statements if s.startswith("SELECT (SELECT count(*)")]
    assert len(checks) == 1


def test_a_member_that_wrote_a_document_makes_later_members_check_it_again(
    markets: tuple[Marketplace, Marketplace],
) -> None:
    # The first member checks the cached product; the second changes its price. A third served
    # the old product (a stale entry put back, as a reader elsewhere in the process could) must
    # check it again, lose, and be retried at the new price.
    ours, _ = markets
    world, sku_id = _world(ours)
    shop = world.shops[0]
    product_id = shop.product_ids[0]
    _buy(ours, world, sku_id)
    cache = cache_for(ours.container.engine())
    stale = cache.get("products", product_id)
    assert stale is not None
    with ours.write_group():
        _buy(ours, world, sku_id)
        ours.catalog.update_sku(shop.staff, shop.id, sku_id, price=7_000)
        cache.put("products", product_id, stale.version, stale.snapshot)
        placed = ours.checkout.checkout(world.buyer, world.address_id, "sandbox", [ItemRequest(sku_id, 1)])
    assert placed.checkout.amount_due.amount < 10_000


def test_a_block_that_fails_stores_and_hands_on_nothing(markets: tuple[Marketplace, Marketplace]) -> None:
    ours, theirs = markets
    world, sku_id = _world(ours)
    handed_on: list[frozenset[str]] = []
    ours.changes.subscribe(handed_on.append)
    with pytest.raises(RuntimeError, match="gave up"), ours.write_group():
        _buy(ours, world, sku_id)
        raise RuntimeError("the caller gave up")
    assert _reserved(theirs, sku_id) == 0
    assert handed_on == []


class _Gate:
    """A first call that holds the lane's thread until the test has queued the others."""

    def __init__(self) -> None:
        self.opened = threading.Event()

    def hold(self) -> str:
        self.opened.wait(10)
        return "held"


async def _queued_behind(lane: WriterLane, gate: _Gate, *calls: object) -> list[object]:
    first = asyncio.ensure_future(lane.run(gate.hold))
    await asyncio.sleep(0.05)  # the lane's thread took the first call and waits in it
    rest = [asyncio.ensure_future(lane.run(call)) for call in calls]  # type: ignore[arg-type]
    await asyncio.sleep(0.05)
    gate.opened.set()
    return await asyncio.gather(first, *rest, return_exceptions=True)


def test_the_lane_runs_the_waiting_checkouts_in_one_group_and_a_repeat_replays(
    markets: tuple[Marketplace, Marketplace],
) -> None:
    ours, theirs = markets
    world, sku_id = _world(ours)
    groups: list[int] = []

    @contextmanager
    def counted_group() -> Iterator[None]:
        groups.append(0)
        with ours.write_group():
            yield

    lane = WriterLane(1, counted_group)
    try:
        results = asyncio.run(
            _queued_behind(
                lane,
                _Gate(),
                lambda: _buy(ours, world, sku_id, key="same"),
                lambda: _buy(ours, world, sku_id, key="same"),  # a retry racing the first
                lambda: _buy(ours, world, sku_id, key="other"),
            )
        )
    finally:
        lane.close()
    assert results[0] == "held"
    assert results[1] == results[2] != results[3]
    assert len(groups) == 2  # the held call's group, then one for the three waiting
    assert _reserved(theirs, sku_id) == 2


def test_when_the_groups_commit_fails_every_member_hears_it() -> None:
    @contextmanager
    def failing_group() -> Iterator[None]:
        yield
        raise OSError("disk full")

    lane = WriterLane(1, failing_group)
    try:
        results = asyncio.run(_queued_behind(lane, _Gate(), lambda: "stored?", lambda: "stored?"))
    finally:
        lane.close()
    assert all(isinstance(result, StorageUnavailable) for result in results), results
