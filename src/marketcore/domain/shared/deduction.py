"""When stock leaves the shelf for an order line. Shared kernel: shops and SKUs choose it,
ordering records it per line, inventory carries it out (domain.md, Inventory)."""

from __future__ import annotations

import enum


class DeductionMode(enum.StrEnum):
    RESERVE_ON_ORDER = "reserve_on_order"  # hold at checkout, commit at payment, release on close
    DEDUCT_ON_PAYMENT = "deduct_on_payment"  # only checked at checkout, deducted at payment
