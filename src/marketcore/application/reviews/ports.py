"""Reviews ports."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import attrs

from marketcore.application.identity.ports import UserRepository
from marketcore.application.ordering.ports import OrderRepository
from marketcore.application.shared.ports import Page, PageRequest, UnitOfWork
from marketcore.domain.reviews.reviews import Review


@attrs.frozen
class RatingSummary:
    count: int
    average: float | None  # None when there is nothing to average
    good_rate: float | None  # share of 4- and 5-star reviews


@attrs.frozen
class ShopScoreSummary:
    """Detailed seller ratings (DSR): averages of the shop scores buyers gave in a window."""

    count: int
    description: float | None
    service: float | None
    logistics: float | None


class ReviewRepository(Protocol):
    def get(self, review_id: str) -> Review | None: ...

    def get_for_line(self, order_line_id: str) -> Review | None: ...

    def add(self, review: Review) -> None: ...

    def for_product(self, product_id: str, page: PageRequest) -> Page[Review]: ...

    def summary_for_product(self, product_id: str) -> RatingSummary: ...

    def shop_scores(self, shop_id: str, since: datetime) -> ShopScoreSummary: ...


class ReviewsUnitOfWork(UnitOfWork, Protocol):
    reviews: ReviewRepository
    orders: OrderRepository
    users: UserRepository
