"""Put coupons in buyers' hands and promotions on sale in one call, through real storage."""

from __future__ import annotations

from datetime import timedelta

from marketcore.application.shared.ids import new_id
from marketcore.bootstrap.marketplace import Marketplace
from marketcore.domain.promotions.coupons import Coupon, CouponTemplate
from marketcore.domain.promotions.promotions import Promotion
from marketcore.domain.promotions.rules import RuleKind
from marketcore.domain.promotions.scope import EVERYTHING, Scope


def give_coupon(
    market: Marketplace,
    buyer_id: str,
    shop_id: str | None,
    rule: RuleKind,
    *,
    name: str = "coupon",
    valid_days: int = 7,
    scope: Scope = EVERYTHING,
) -> Coupon:
    """A coupon of a fresh template (``shop_id`` None: the platform's) claimed by ``buyer_id`` now."""
    now = market.container.clock().now()
    template = CouponTemplate.create(
        new_id(),
        name,
        shop_id,
        rule,
        claim_from=now - timedelta(days=1),
        claim_until=now + timedelta(days=30),
        budget=1000,
        per_buyer_limit=10,
        scope=scope,
        valid_days=valid_days,
    )
    coupon = template.claim(new_id(), buyer_id, now, issued=0, claimed_by_buyer=0)
    with market.container.uow()() as uow:
        uow.coupon_templates.add(template)
        uow.coupons.add(coupon)
        uow.commit()
    return coupon


def add_promotion(
    market: Marketplace,
    name: str,
    shop_id: str | None,
    rule: RuleKind,
    *,
    scope: Scope = EVERYTHING,
    days: int = 30,
) -> Promotion:
    """A promotion of any kind (``shop_id`` None: the platform's), running from a day ago."""
    now = market.container.clock().now()
    promotion = Promotion.create(
        new_id(), name, shop_id, rule, now - timedelta(days=1), now + timedelta(days=days), scope=scope
    )
    with market.container.uow()() as uow:
        uow.promotions.add(promotion)
        uow.commit()
    return promotion


def coupon_state(market: Marketplace, coupon_id: str) -> tuple[str, str | None]:
    """The coupon's status and the checkout holding or having used it, as stored."""
    with market.container.uow()() as uow:
        coupon = uow.coupons.get(coupon_id)
    assert coupon is not None
    return str(coupon.status), coupon.checkout_id
