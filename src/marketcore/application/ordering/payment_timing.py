"""When the worker looks at a payment with its provider: a missed webhook must still settle it,
and a refund nobody managed to send must still go out."""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs

from marketcore.domain.payments.payments import Payment


@attrs.frozen
class PaymentTimings:
    first_check: timedelta = timedelta(minutes=5)  # an unsettled payment is first queried this old
    max_interval: timedelta = timedelta(hours=1)  # queries then space out with its age, up to this
    give_up_after: timedelta = timedelta(hours=24)  # still unsettled then: cancelled here
    refund_retry: timedelta = timedelta(minutes=1)  # an unsent refund is sent again this often

    def reschedule(self, payment: Payment, now: datetime) -> None:
        """Set ``payment.check_at`` for its current state (after every change to it)."""
        if payment.unsent_refunds:
            payment.check_at = now + self.refund_retry
        elif payment.is_open and payment.review is None:
            age = now - payment.created_at
            if age < self.first_check:
                payment.check_at = payment.created_at + self.first_check
            else:
                payment.check_at = now + min(age, self.max_interval)
        else:
            payment.check_at = None

    def gave_up(self, payment: Payment, now: datetime) -> bool:
        return payment.is_open and now - payment.created_at >= self.give_up_after
