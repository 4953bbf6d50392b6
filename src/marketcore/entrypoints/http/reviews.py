"""Reviews of completed order lines and the public product reviews page."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import FromPath, JSONBody

from marketcore.domain.reviews.reviews import ShopScores
from marketcore.entrypoints.http.common import PUBLIC_OPT, CurrentActor, Cursor, Limit, Market, page_request
from marketcore.entrypoints.http.schemas import ReviewIn, ReviewOut, ReviewPageOut, review_out, summary_out


class ReviewController(Controller):
    tags = ("reviews",)

    @post("/orders/{order_id:str}/reviews", operation_id="writeReview", sync_to_thread=True)
    def write(
        self, order_id: FromPath[str], data: JSONBody[ReviewIn], market: Market, actor: CurrentActor
    ) -> ReviewOut:
        scores = data.shop_scores
        review = market.reviews.write(
            actor,
            order_id,
            data.order_line_id,
            data.rating,
            data.content,
            data.images,
            data.anonymous,
            ShopScores.create(scores.description, scores.service, scores.logistics) if scores else None,
        )
        return review_out(review)

    @get(
        "/products/{spu_id:str}/reviews",
        operation_id="listProductReviews",
        opt=PUBLIC_OPT,
        sync_to_thread=True,
    )
    def for_product(
        self, spu_id: FromPath[str], market: Market, limit: Limit = 20, cursor: Cursor = None
    ) -> ReviewPageOut:
        page, summary = market.reviews.for_product(spu_id, page_request(limit, cursor))
        return ReviewPageOut([review_out(r) for r in page.items], summary_out(summary), page.next_cursor)
