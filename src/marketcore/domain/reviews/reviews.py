"""Product reviews: one per completed order line, with shop scores (DSR)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import attrs

from marketcore.domain.shared.errors import Conflict, InvalidInput
from marketcore.domain.shared.events import Aggregate
from marketcore.domain.shared.text import require_text

REVIEW_WINDOW = timedelta(days=15)
MAX_IMAGES = 9


class ReviewWindowClosed(Conflict):
    code = "review_window_closed"


def _score(field: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise InvalidInput(field, "must be a whole number from 1 to 5")
    return value


@attrs.frozen
class ShopScores:
    description: int
    service: int
    logistics: int

    @classmethod
    def create(cls, description: int, service: int, logistics: int) -> ShopScores:
        return cls(
            _score("shop_scores.description", description),
            _score("shop_scores.service", service),
            _score("shop_scores.logistics", logistics),
        )


@attrs.define(eq=False)
class Review(Aggregate):
    order_id: str
    order_line_id: str
    product_id: str
    sku_id: str
    shop_id: str
    buyer_id: str
    author_name: str
    rating: int
    content: str
    images: list[str]
    anonymous: bool
    shop_scores: ShopScores | None
    created_at: datetime

    @classmethod
    def write(
        cls,
        id: str,
        *,
        order_id: str,
        order_line_id: str,
        product_id: str,
        sku_id: str,
        shop_id: str,
        buyer_id: str,
        buyer_name: str,
        completed_at: datetime,
        rating: int,
        content: str,
        images: Sequence[str],
        anonymous: bool,
        shop_scores: ShopScores | None,
        at: datetime,
    ) -> Review:
        if at > completed_at + REVIEW_WINDOW:
            raise ReviewWindowClosed("reviews are accepted for 15 days after completion")
        if len(images) > MAX_IMAGES:
            raise InvalidInput("images", f"at most {MAX_IMAGES}")
        return cls(
            id,
            order_id=order_id,
            order_line_id=order_line_id,
            product_id=product_id,
            sku_id=sku_id,
            shop_id=shop_id,
            buyer_id=buyer_id,
            author_name=_mask(buyer_name) if anonymous else buyer_name,
            rating=_score("rating", rating),
            content=require_text("content", content, 2000, min_length=0),
            images=[require_text(f"images[{i}]", url, 500) for i, url in enumerate(images)],
            anonymous=anonymous,
            shop_scores=shop_scores,
            created_at=at,
        )


def _mask(name: str) -> str:
    """Anonymous reviews show the first and last character only, as Taobao does."""
    if len(name) <= 2:
        return name[:1] + "*"
    return f"{name[0]}***{name[-1]}"
