"""Work nobody asks for: closing orders unpaid at their deadline, completing shipped orders whose
receipt window has passed, processing payment notifications left due, asking providers about
payments whose notification never came and sending refunds nobody sent. ``run_due_work(now)``
does whatever is due, idempotently; any number of workers may run it side by side (each batch is
claimed with SKIP LOCKED on PostgreSQL)."""

from __future__ import annotations

from datetime import datetime

import attrs

from marketcore.application.ordering import coupon_holds
from marketcore.application.ordering.flash_sale_lines import OrderHolds
from marketcore.application.ordering.inbox import PaymentInbox
from marketcore.application.ordering.ports import OrderingUnitOfWork
from marketcore.application.ordering.reconciliation import PaymentReconciler, ReconcileReport
from marketcore.application.promotions.flash_sales import FlashSaleService
from marketcore.application.shared.ports import Clock, UnitOfWorkFactory
from marketcore.application.shared.services import Service
from marketcore.domain.ordering.orders import OrderStatus

BATCH = 100


@attrs.frozen
class DueWorkReport:
    closed_unpaid: int = 0
    completed: int = 0
    notifications: int = 0  # payment notifications processed on a retry
    payments: ReconcileReport = attrs.field(factory=ReconcileReport)
    flash_sales_ended: int = 0  # their unsold quota back in ordinary stock

    def __add__(self, other: DueWorkReport) -> DueWorkReport:
        return DueWorkReport(
            self.closed_unpaid + other.closed_unpaid,
            self.completed + other.completed,
            self.notifications + other.notifications,
            self.payments + other.payments,
            self.flash_sales_ended + other.flash_sales_ended,
        )

    @property
    def total(self) -> int:
        p = self.payments
        return (
            self.closed_unpaid
            + self.completed
            + self.notifications
            + p.queried
            + p.refunds_sent
            + p.abandoned
            + self.flash_sales_ended
        )

    def __str__(self) -> str:
        p = self.payments
        return (
            f"closed {self.closed_unpaid} unpaid, completed {self.completed}, "
            f"notifications {self.notifications}, payments queried {p.queried} (settled {p.settled}, "
            f"abandoned {p.abandoned}), refunds sent {p.refunds_sent}, "
            f"flash sales ended {self.flash_sales_ended}"
        )


class DueWorkService(Service[OrderingUnitOfWork]):
    def __init__(
        self,
        uow: UnitOfWorkFactory[OrderingUnitOfWork],
        clock: Clock,
        inbox: PaymentInbox,
        reconciler: PaymentReconciler,
        flash_sales: FlashSaleService,
    ) -> None:
        super().__init__(uow, clock)
        self._inbox = inbox
        self._reconciler = reconciler
        self._flash_sales = flash_sales

    def run_due_work(self, now: datetime | None = None) -> DueWorkReport:
        """Process everything due at ``now`` (default: the clock), batch by batch, until none is left."""
        now = now or self._clock.now()
        report = DueWorkReport()
        while True:
            batch = self._run_batch(now)
            report += batch
            if batch.total < BATCH:
                break
        # After the orders: units of unpaid flash-sale orders closed above went back to their sale first.
        return report + DueWorkReport(
            notifications=self._inbox.process_due(now),
            payments=self._reconciler.run(now),
            flash_sales_ended=self._flash_sales.end_due(now),
        )

    def _run_batch(self, now: datetime) -> DueWorkReport:
        closed = completed = 0
        with self._uow() as uow:
            due = uow.orders.claim_due(now, BATCH)
            unpaid = [order for order in due if order.status is OrderStatus.PENDING_PAYMENT]
            coupons = coupon_holds.hold(uow, unpaid)  # one statement for the batch, before stock
            holds = OrderHolds.of(unpaid)
            for order in due:
                if order.status is OrderStatus.PENDING_PAYMENT:
                    order.close("system", "payment deadline passed", now)
                    closed += 1
                else:
                    order.confirm_receipt("system", now, "completed automatically after the receipt window")
                    completed += 1
            coupon_holds.give_back(uow, coupons, unpaid, now)
            # Flash sales locked, then one SKU order for the whole batch's stock rows.
            holds.release(uow, now)
            uow.commit()
        return DueWorkReport(closed, completed)
