"""The stock ledger audit behind ``marketcore ledger check``: for every SKU, on_hand must equal the
sum of its movements, and reserved must equal both its movements' reserved sum and the units that
open orders still hold plus the unsold quota scheduled flash sales set aside."""

from __future__ import annotations

import attrs

from marketcore.application.ordering.ports import OrderingUnitOfWork
from marketcore.application.shared.services import Service
from marketcore.domain.inventory.stock import MovementTotals, StockLevel

PAGE = 500


@attrs.frozen
class LedgerMismatch:
    sku_id: str
    problem: str


@attrs.frozen
class LedgerReport:
    skus_checked: int
    mismatches: tuple[LedgerMismatch, ...]

    @property
    def ok(self) -> bool:
        return not self.mismatches


class LedgerService(Service[OrderingUnitOfWork]):
    def check(self) -> LedgerReport:
        """Read in one transaction, so the picture is consistent even while orders flow."""
        mismatches: list[LedgerMismatch] = []
        checked = 0
        with self._reader() as uow:
            held: dict[str, int] = {}
            for order in uow.orders.holding_stock():
                for sku_id, quantity in order.reserved_quantities().items():
                    held[sku_id] = held.get(sku_id, 0) + quantity
            sales = uow.flash_sales.holding_stock()
            counts = uow.promotion_counters.quota_counts(s.id for s in sales) if sales else {}
            for sale in sales:
                held[sale.sku_id] = held.get(sale.sku_id, 0) + sale.unsold(counts[sale.id].sold)
            after: str | None = None
            while levels := uow.stock.levels(after, PAGE):
                totals = uow.stock.movement_totals(level.sku_id for level in levels)
                for level in levels:
                    total = totals.get(level.sku_id, MovementTotals(level.sku_id, 0, 0))
                    mismatches += [
                        LedgerMismatch(level.sku_id, problem)
                        for problem in _audit(level, total, held.get(level.sku_id, 0))
                    ]
                checked += len(levels)
                after = levels[-1].sku_id
        return LedgerReport(checked, tuple(mismatches))


def _audit(level: StockLevel, moved: MovementTotals, held: int) -> list[str]:
    problems = []
    if level.on_hand != moved.on_hand:
        problems.append(f"on_hand {level.on_hand} != movements {moved.on_hand}")
    if level.reserved != moved.reserved:
        problems.append(f"reserved {level.reserved} != movements {moved.reserved}")
    if level.reserved != held:
        problems.append(f"reserved {level.reserved} != held by open orders and flash sales {held}")
    if level.reserved < 0 or level.on_hand < level.reserved:
        problems.append(f"impossible level: on_hand {level.on_hand}, reserved {level.reserved}")
    return problems
