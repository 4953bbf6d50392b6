"""The promotions context's services, one module each; imported from here for convenience."""

from __future__ import annotations

from marketcore.application.promotions.coupons import CouponService
from marketcore.application.promotions.promotions import PromotionsService

__all__ = ["CouponService", "PromotionsService"]
