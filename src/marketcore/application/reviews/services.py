"""Reviews of completed order lines, and the public product reviews page."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from marketcore.application.reviews.ports import RatingSummary, ReviewsUnitOfWork, ShopScoreSummary
from marketcore.application.shared.ids import new_id
from marketcore.application.shared.ports import Page, PageRequest
from marketcore.application.shared.services import Service
from marketcore.domain.ordering.orders import OrderStatus
from marketcore.domain.reviews.reviews import Review, ShopScores
from marketcore.domain.shared.actors import Actor
from marketcore.domain.shared.errors import AlreadyExists, Conflict, InvalidInput, NotFound

SHOP_SCORE_WINDOW = timedelta(days=180)


class OrderNotReviewable(Conflict):
    code = "order_not_reviewable"


class ReviewService(Service[ReviewsUnitOfWork]):
    def write(
        self,
        actor: Actor,
        order_id: str,
        order_line_id: str,
        rating: int,
        content: str,
        images: Sequence[str] = (),
        anonymous: bool = False,
        shop_scores: ShopScores | None = None,
    ) -> Review:
        buyer_id = actor.require_user()
        now = self._clock.now()
        with self._uow() as uow:
            order = uow.orders.get(order_id)
            if order is None or order.buyer_id != buyer_id:
                raise NotFound("order", order_id)
            try:
                line = order.line(order_line_id)
            except NotFound:
                raise InvalidInput("order_line_id", "not a line of this order") from None
            if order.status is not OrderStatus.COMPLETED:
                raise OrderNotReviewable("only completed orders can be reviewed")
            completed_at = next(t.at for t in reversed(order.history) if t.to_status is OrderStatus.COMPLETED)
            if uow.reviews.get_for_line(order_line_id) is not None:
                raise AlreadyExists("this order line has already been reviewed")
            buyer = uow.users.get(buyer_id)
            review = Review.write(
                new_id(),
                order_id=order.id,
                order_line_id=line.id,
                product_id=line.product_id,
                sku_id=line.sku_id,
                shop_id=order.shop_id,
                buyer_id=buyer_id,
                buyer_name=buyer.display_name if buyer else "buyer",
                completed_at=completed_at,
                rating=rating,
                content=content,
                images=images,
                anonymous=anonymous,
                shop_scores=shop_scores,
                at=now,
            )
            uow.reviews.add(review)
            uow.commit()
        return review

    def shop_scores(self, shop_id: str) -> ShopScoreSummary:
        """The shop's DSR over the last 180 days, as shown on its public page."""
        with self._reader() as uow:
            return uow.reviews.shop_scores(shop_id, self._clock.now() - SHOP_SCORE_WINDOW)

    def for_product(self, product_id: str, page: PageRequest) -> tuple[Page[Review], RatingSummary]:
        with self._reader() as uow:
            return uow.reviews.for_product(product_id, page), uow.reviews.summary_for_product(product_id)
