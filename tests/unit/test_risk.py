from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from marketcore import Marketplace, create_marketplace
from marketcore.adapters.clock import FrozenClock
from marketcore.application.ordering.checkout import ItemRequest
from marketcore.domain.risk.rules import RiskBlocked
from marketcore.testing.scenarios import a_marketplace_with


def test_a_blacklisted_buyer_is_blocked_with_a_generic_message(marketplace: Marketplace) -> None:
    s = a_marketplace_with(marketplace, shops=1)
    marketplace.risk.blacklist(s.operator, "user", str(s.buyer.user_id), "chargebacks")
    with pytest.raises(RiskBlocked) as error:
        marketplace.checkout.checkout(
            s.buyer, s.address_id, "sandbox", [ItemRequest(s.shops[0].sku_ids[0], 1)]
        )
    assert "blacklist" not in error.value.detail


def test_a_blacklisted_phone_blocks_any_buyer_shipping_to_it(marketplace: Marketplace) -> None:
    s = a_marketplace_with(marketplace, shops=1)
    marketplace.risk.blacklist(s.operator, "phone", "13900000000", "fraud ring")
    with pytest.raises(RiskBlocked):
        marketplace.checkout.checkout(s.buyer, s.address_id, "cod", [ItemRequest(s.shops[0].sku_ids[0], 1)])


def test_checkouts_over_the_hourly_velocity_limit_are_blocked_then_allowed_again(clock: FrozenClock) -> None:
    from datetime import timedelta

    m = create_marketplace("memory://", clock=clock, velocity_checkouts_per_hour=3)
    s = a_marketplace_with(m, shops=1)
    items = [ItemRequest(s.shops[0].sku_ids[0], 1)]
    for _ in range(3):
        m.checkout.checkout(s.buyer, s.address_id, "cod", items)
    with pytest.raises(RiskBlocked):
        m.checkout.checkout(s.buyer, s.address_id, "cod", items)
    clock.advance(timedelta(hours=1, minutes=1))
    assert m.checkout.checkout(s.buyer, s.address_id, "cod", items).orders


def test_blacklisting_is_for_operators(marketplace: Marketplace) -> None:
    from marketcore.domain.shared.errors import Forbidden

    s = a_marketplace_with(marketplace, shops=1)
    with pytest.raises(Forbidden):
        marketplace.risk.blacklist(s.buyer, "user", "someone", "spite")


def test_the_velocity_count_stops_at_the_limit_however_often_a_buyer_is_blocked(
    clock: FrozenClock, tmp_path: Path
) -> None:
    # Blocked attempts are recorded too: counted in full, each further attempt of a client that
    # keeps trying would scan more of them, under SQLite's writer lock.
    m = create_marketplace(f"sqlite:///{tmp_path / 'v.db'}", clock=clock, velocity_checkouts_per_hour=3)
    s = a_marketplace_with(m, shops=1)
    items = [ItemRequest(s.shops[0].sku_ids[0], 1)]
    for _ in range(3):
        m.checkout.checkout(s.buyer, s.address_id, "cod", items)
    counts: list[int] = []

    def record(_conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if "FROM risk_records" in statement and "count" in statement:
            counts.append(cursor.connection.execute(statement, params).fetchone()[0])

    event.listen(m.container.engine(), "before_cursor_execute", record)
    for _ in range(5):
        with pytest.raises(RiskBlocked):
            m.checkout.checkout(s.buyer, s.address_id, "cod", items)
    assert counts == [3] * 5  # 3 placed and up to 4 blocked records in the window, counted to 3
    m.close()
