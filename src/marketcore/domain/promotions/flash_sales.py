"""Flash sales (秒杀): a quota of one SKU's stock at a set price, within a window.

The quota is set aside from the SKU's stock when the sale is scheduled (``FlashSaleScheduled``
tells inventory to hold it), so flash-sale buyers and ordinary buyers never compete for the same
units. What the sale has sold is a counter in storage, not a field read and written back here:
a purchase is a ``QuotaTake``, applied in one conditional update (``sold + q <= quota`` and
``bought_by_buyer + q <= per_buyer_limit``, both or neither), so 300 concurrent buyers of a
30-unit sale make exactly 30 units of orders. An unpaid flash-sale order closes after
``payment_window`` (5 minutes) and its units go back to the quota (``QuotaReturn``).
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

import attrs

from marketcore.domain.promotions.kinds import FlashSalePrice
from marketcore.domain.promotions.promotions import Funder, Promotion
from marketcore.domain.promotions.scope import Scope
from marketcore.domain.shared.errors import Conflict, InvalidInput
from marketcore.domain.shared.events import Aggregate, DomainEvent
from marketcore.domain.shared.money import Money
from marketcore.domain.shared.text import require_text

PAYMENT_WINDOW = timedelta(minutes=5)
MAX_QUOTA = 10_000_000


class FlashSaleNotRunning(Conflict):
    code = "flash_sale_not_running"


class FlashSaleSoldOut(Conflict):
    code = "flash_sale_sold_out"


class FlashSaleLimitReached(Conflict):
    code = "flash_sale_limit_reached"


class FlashSaleStatus(enum.StrEnum):
    SCHEDULED = "scheduled"  # running between starts_at and ends_at; its unsold quota is set aside
    ENDED = "ended"  # the window passed and the unsold quota went back to ordinary stock
    CANCELLED = "cancelled"  # stopped early; the unsold quota went back to ordinary stock


@attrs.frozen(kw_only=True)
class FlashSaleScheduled(DomainEvent):
    """Inventory sets ``quota`` units of the SKU aside for the sale."""

    flash_sale_id: str
    shop_id: str
    sku_id: str
    quota: int


@attrs.frozen(kw_only=True)
class FlashSaleCancelled(DomainEvent):
    """The sale stopped early; ``returned`` unsold units went back to the SKU's ordinary stock."""

    flash_sale_id: str
    sku_id: str
    returned: int = 0


@attrs.frozen(kw_only=True)
class FlashSaleEnded(DomainEvent):
    """The window passed; ``returned`` unsold units went back to the SKU's ordinary stock."""

    flash_sale_id: str
    sku_id: str
    returned: int = 0


@attrs.frozen
class QuotaTake:
    """One purchase's claim on the quota, as storage must apply it: both counters or neither."""

    flash_sale_id: str
    buyer_id: str
    quantity: int
    quota: int  # sold + quantity <= quota
    per_buyer_limit: int  # bought by this buyer + quantity <= per_buyer_limit

    def refusal(self, sold: int, bought_by_buyer: int) -> Conflict | None:
        """Why this take must be refused on these counts (None: it may go ahead)."""
        if bought_by_buyer + self.quantity > self.per_buyer_limit:
            return FlashSaleLimitReached(f"at most {self.per_buyer_limit} per buyer")
        if sold + self.quantity > self.quota:
            return FlashSaleSoldOut("the flash sale is sold out")
        return None


@attrs.frozen
class QuotaReturn:
    """Units of an unpaid (closed) or cancelled flash-sale order going back to the quota."""

    flash_sale_id: str
    buyer_id: str
    quantity: int


@attrs.define(eq=False)
class FlashSale(Aggregate):
    shop_id: str
    sku_id: str
    name: str
    price: Money
    quota: int
    per_buyer_limit: int
    starts_at: datetime
    ends_at: datetime
    payment_window: timedelta = PAYMENT_WINDOW
    status: FlashSaleStatus = FlashSaleStatus.SCHEDULED

    @classmethod
    def create(
        cls,
        id: str,
        shop_id: str,
        sku_id: str,
        name: str,
        *,
        price: Money,
        list_price: Money,
        quota: int,
        available_stock: int,
        per_buyer_limit: int,
        starts_at: datetime,
        ends_at: datetime,
        at: datetime,
    ) -> FlashSale:
        """Schedule a sale; ``quota`` must fit in the SKU's ``available_stock`` now (inventory
        then sets it aside, refusing if it has gone meanwhile)."""
        if price.currency is not list_price.currency:
            raise InvalidInput("price", "in the SKU's currency")
        if not 0 <= price.amount < list_price.amount:
            raise InvalidInput("price", "below the SKU's list price")
        if isinstance(quota, bool) or not isinstance(quota, int) or not 1 <= quota <= MAX_QUOTA:
            raise InvalidInput("quota", f"1 to {MAX_QUOTA} units")
        if quota > available_stock:
            raise InvalidInput("quota", f"only {available_stock} units are available to set aside")
        if isinstance(per_buyer_limit, bool) or not isinstance(per_buyer_limit, int):
            raise InvalidInput("per_buyer_limit", "a whole number")
        if not 1 <= per_buyer_limit <= quota:
            raise InvalidInput("per_buyer_limit", "at least 1 and at most the quota")
        for field, value in (("starts_at", starts_at), ("ends_at", ends_at)):
            if value.tzinfo is None:
                raise InvalidInput(field, "must carry a timezone")
        if ends_at <= starts_at:
            raise InvalidInput("ends_at", "must be after starts_at")
        if ends_at <= at:
            raise InvalidInput("ends_at", "must be in the future")
        sale = cls(
            id,
            shop_id=shop_id,
            sku_id=sku_id,
            name=require_text("name", name, 60),
            price=price,
            quota=quota,
            per_buyer_limit=per_buyer_limit,
            starts_at=starts_at,
            ends_at=ends_at,
        )
        sale.record(
            FlashSaleScheduled(occurred_at=at, flash_sale_id=id, shop_id=shop_id, sku_id=sku_id, quota=quota)
        )
        return sale

    def is_running(self, at: datetime) -> bool:
        return self.status is FlashSaleStatus.SCHEDULED and self.starts_at <= at < self.ends_at

    @property
    def holds_stock(self) -> bool:
        """The unsold quota is set aside in the stock ledger (until the sale ends or is cancelled)."""
        return self.status is FlashSaleStatus.SCHEDULED

    @property
    def stock_reference(self) -> str:
        """The stock-ledger reference the set-aside quota is reserved under."""
        return f"flash_sale:{self.id}"

    def unsold(self, sold: int) -> int:
        """Units still set aside when ``sold`` are taken (by open or paid orders)."""
        return max(self.quota - sold, 0)

    def take(
        self, buyer_id: str, quantity: int, at: datetime, *, sold: int, bought_by_buyer: int
    ) -> QuotaTake:
        """A purchase of ``quantity`` units, checked on the counts the caller read; storage
        applies the returned take atomically (it re-checks both limits)."""
        if not self.is_running(at):
            raise FlashSaleNotRunning(f"flash sale {self.name} is not running")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise InvalidInput("quantity", "a whole number of at least 1")
        take = QuotaTake(self.id, buyer_id, quantity, self.quota, self.per_buyer_limit)
        refusal = take.refusal(sold, bought_by_buyer)
        if refusal is not None:
            raise refusal
        return take

    def give_back(self, buyer_id: str, quantity: int) -> QuotaReturn:
        return QuotaReturn(self.id, buyer_id, quantity)

    def payment_deadline(self, placed_at: datetime) -> datetime:
        return placed_at + self.payment_window

    def cancel(self, at: datetime, returned: int = 0) -> None:
        """Stop the sale; the caller gives ``returned`` unsold units back to ordinary stock. An
        ended sale cannot be cancelled (its quota is back already); a cancelled one stays so."""
        if self.status is FlashSaleStatus.CANCELLED:
            return
        if self.status is FlashSaleStatus.ENDED:
            raise FlashSaleNotRunning(f"flash sale {self.name} has ended")
        self.status = FlashSaleStatus.CANCELLED
        self.record(
            FlashSaleCancelled(occurred_at=at, flash_sale_id=self.id, sku_id=self.sku_id, returned=returned)
        )

    def end(self, at: datetime, returned: int) -> None:
        """The window has passed: the caller gives ``returned`` unsold units back to ordinary stock."""
        if self.status is not FlashSaleStatus.SCHEDULED or at < self.ends_at:
            raise FlashSaleNotRunning(f"flash sale {self.name} cannot end now")
        self.status = FlashSaleStatus.ENDED
        self.record(
            FlashSaleEnded(occurred_at=at, flash_sale_id=self.id, sku_id=self.sku_id, returned=returned)
        )

    # What the pricing engine reads (``PromotionTerms``): a step-1 price for the SKU.

    @property
    def rule(self) -> FlashSalePrice:
        return FlashSalePrice(self.id, self.sku_id, self.price, self.per_buyer_limit)

    def as_promotion(self, remaining: int | None = None) -> Promotion:
        """The sale as a generic promotion, knowing how many units are left (a preview can then
        say "sold out" before the conditional update at checkout would)."""
        promotion = Promotion(
            self.id,
            name=self.name,
            shop_id=self.shop_id,
            rule=FlashSalePrice(self.id, self.sku_id, self.price, self.per_buyer_limit, remaining),
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            scope=self.scope,
        )
        promotion.enabled = self.enabled
        return promotion

    @property
    def scope(self) -> Scope:
        return Scope(sku_ids=frozenset((self.sku_id,)))

    @property
    def enabled(self) -> bool:
        return self.status is FlashSaleStatus.SCHEDULED

    @property
    def group(self) -> str | None:
        return None

    @property
    def priority(self) -> int | None:
        return None

    @property
    def funder(self) -> Funder:
        return Funder.SHOP
