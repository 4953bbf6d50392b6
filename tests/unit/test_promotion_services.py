"""Promotion, coupon-template, claiming and member-level use cases, through the Python API."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar

import attrs
import pytest

from marketcore import Marketplace
from marketcore.adapters.clock import FrozenClock
from marketcore.application.promotions.coupons import (
    CouponTemplateChanges,
    CouponTemplateClaimed,
    CouponTemplateDraft,
)
from marketcore.application.promotions.promotions import PromotionDraft
from marketcore.application.shared.ports import PageRequest
from marketcore.domain.promotions.coupons import (
    CouponBudgetExhausted,
    CouponClaimLimitReached,
    CouponNotClaimable,
    CouponStatus,
)
from marketcore.domain.promotions.kinds import FullReductionRule
from marketcore.domain.promotions.rules import Applies, Basket, Outcome, Placement
from marketcore.domain.promotions.scope import Scope
from marketcore.domain.shared.actors import Actor
from marketcore.domain.shared.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from marketcore.testing.scenarios import Scenario, a_marketplace_with

DAY = timedelta(days=1)


@pytest.fixture
def world(marketplace: Marketplace) -> Scenario:
    return a_marketplace_with(marketplace)


def draft(
    clock: FrozenClock, kind: str = "full_reduction", params: dict[str, Any] | None = None, **kw: Any
) -> PromotionDraft:
    now = clock.now()
    fields: dict[str, Any] = {"starts_at": now - DAY, "ends_at": now + DAY}
    fields.update(kw)
    return PromotionDraft("offer", kind, {"tiers": [[20000, 2000]]} if params is None else params, **fields)


def template_draft(clock: FrozenClock, **kw: Any) -> CouponTemplateDraft:
    now = clock.now()
    fields: dict[str, Any] = {
        "name": "¥10 off ¥100",
        "kind": "fixed_amount",
        "params": {"value": 1000, "threshold": 10000},
        "claim_from": now - DAY,
        "claim_until": now + DAY,
        "budget": 3,
        "per_buyer_limit": 2,
        "valid_days": 7,
    }
    fields.update(kw)
    return CouponTemplateDraft(**fields)


# -- promotions --------------------------------------------------------------------------------


def test_staff_manage_their_shops_promotions_of_any_kind(world: Scenario, clock: FrozenClock) -> None:
    m, shop = world.marketplace, world.shops[0]
    reduction = m.promotions.create(shop.staff, shop.id, draft(clock, group="main", priority=5))
    discount = m.promotions.create(
        shop.staff,
        shop.id,
        draft(
            clock, "full_discount", {"tiers": [[10000, 500]]}, scope=Scope(sku_ids=frozenset(shop.sku_ids))
        ),
    )
    member = m.promotions.create(
        shop.staff,
        shop.id,
        draft(clock, "member_price", {"entries": [[shop.sku_ids[0], 2, 9000]]}, starts_at=None, ends_at=None),
    )
    assert isinstance(reduction.rule, FullReductionRule) and reduction.group == "main"
    listed = m.promotions.listing(shop.staff, shop.id, PageRequest())
    assert [p.id for p in listed.items] == [member.id, discount.id, reduction.id]
    assert m.promotions.get(shop.staff, shop.id, discount.id).scope == Scope(sku_ids=frozenset(shop.sku_ids))

    replaced = m.promotions.replace(
        shop.staff, shop.id, reduction.id, draft(clock, params={"tiers": [[30000, 5000]]})
    )
    assert replaced.id == reduction.id and replaced.group is None
    assert m.promotions.get(shop.staff, shop.id, reduction.id).rule == FullReductionRule.from_params(
        {"tiers": [[30000, 5000]]}
    )
    assert not m.promotions.stop(shop.staff, shop.id, reduction.id).enabled
    with m.container.uow()() as uow:
        active = uow.promotions.active_for_checkout([shop.id], clock.now())
    assert {p.id for p in active} == {discount.id, member.id}


def test_promotions_are_their_owners_alone(world: Scenario, clock: FrozenClock) -> None:
    m, mine, theirs = world.marketplace, world.shops[0], world.shops[1]
    promotion = m.promotions.create(mine.staff, mine.id, draft(clock))
    with pytest.raises(NotFound):
        m.promotions.create(theirs.staff, mine.id, draft(clock))
    with pytest.raises(NotFound):
        m.promotions.get(theirs.staff, theirs.id, promotion.id)  # exists, but not theirs
    with pytest.raises(NotFound):
        m.promotions.stop(world.buyer, mine.id, promotion.id)
    with pytest.raises(Forbidden):
        m.promotions.create(
            mine.staff, None, draft(clock, "cross_shop_reduction", {"tiers": [[30000, 3000]]})
        )
    with pytest.raises(NotFound):
        m.promotions.get(world.operator, None, promotion.id)  # a shop's, not the platform's


def test_operators_manage_platform_promotions(world: Scenario, clock: FrozenClock) -> None:
    m = world.marketplace
    cross = m.promotions.create(
        world.operator, None, draft(clock, "cross_shop_reduction", {"tiers": [[30000, 3000]]})
    )
    shipping = m.promotions.create(world.operator, None, draft(clock, "free_shipping", {"threshold": 9900}))
    assert cross.shop_id is None and str(cross.funder) == "platform"
    assert [p.id for p in m.promotions.listing(world.operator, None, PageRequest()).items] == [
        shipping.id,
        cross.id,
    ]
    with pytest.raises(InvalidInput) as error:
        m.promotions.create(world.operator, None, draft(clock))  # a 满减 belongs to a shop
    assert error.value.field == "shop_id"


@pytest.mark.parametrize(
    ("kind", "params", "field"),
    [
        ("no_such_kind", {}, "kind"),
        ("full_reduction", {"tiers": [[100, 200]]}, "params.tiers[0]"),
        ("full_reduction", {"tiers": "many"}, "params.tiers"),
        ("full_reduction", {"tiers": [[20000, 2000]], "currency": "XYZ"}, "params.currency"),
        ("member_price", {"entries": [["a", 0, 100]]}, "params.entries[0].level"),
        ("fixed_amount", {"value": 100}, "kind"),
        ("flash_sale", {}, "kind"),
    ],
)
def test_bad_rules_name_their_field(
    world: Scenario, clock: FrozenClock, kind: str, params: dict[str, Any], field: str
) -> None:
    shop = world.shops[0]
    with pytest.raises(InvalidInput) as error:
        world.marketplace.promotions.create(shop.staff, shop.id, draft(clock, kind, params))
    assert error.value.field == field


def test_bad_promotion_fields_name_their_field(world: Scenario, clock: FrozenClock) -> None:
    shop, now = world.shops[0], clock.now()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"ends_at": now - 2 * DAY}, "ends_at"),
        ({"priority": 5000}, "priority"),
        ({"group": ""}, "group"),
    ]
    for changes, field in cases:
        with pytest.raises(InvalidInput) as error:
            world.marketplace.promotions.create(shop.staff, shop.id, draft(clock, **changes))
        assert error.value.field == field


# -- coupon templates ---------------------------------------------------------------------------


def test_coupon_templates_for_shops_and_the_platform(world: Scenario, clock: FrozenClock) -> None:
    m, shop = world.marketplace, world.shops[0]
    mine = m.coupons.create_template(shop.staff, shop.id, template_draft(clock))
    platform = m.coupons.create_template(
        world.operator, None, template_draft(clock, kind="percent_off", params={"off_bp": 1000, "cap": 2000})
    )
    assert (mine.issued, mine.remaining) == (0, 3)
    assert [v.template.id for v in m.coupons.templates(shop.staff, shop.id, PageRequest()).items] == [
        mine.template.id
    ]
    assert [v.template.id for v in m.coupons.templates(world.operator, None, PageRequest()).items] == [
        platform.template.id
    ]
    with pytest.raises(NotFound):
        m.coupons.template(world.shops[1].staff, world.shops[1].id, mine.template.id)
    with pytest.raises(Forbidden):
        m.coupons.create_template(shop.staff, None, template_draft(clock))
    with pytest.raises(InvalidInput) as error:
        m.coupons.create_template(shop.staff, shop.id, template_draft(clock, kind="full_reduction"))
    assert error.value.field == "kind"
    with pytest.raises(InvalidInput) as error:
        m.coupons.create_template(shop.staff, shop.id, template_draft(clock, params={"value": -1}))
    assert error.value.field == "params.value"
    with pytest.raises(InvalidInput) as error:
        m.coupons.create_template(shop.staff, shop.id, template_draft(clock, budget=0))
    assert error.value.field == "budget"


def test_templates_change_freely_until_claimed_then_only_safely(world: Scenario, clock: FrozenClock) -> None:
    m, shop = world.marketplace, world.shops[0]
    template_id = m.coupons.create_template(shop.staff, shop.id, template_draft(clock)).template.id
    changed = m.coupons.update_template(
        shop.staff,
        shop.id,
        template_id,
        CouponTemplateChanges(params={"value": 1500, "threshold": 10000}, budget=4),
    )
    assert changed.template.offer.value is not None and changed.template.offer.value.amount == 1500
    assert changed.template.budget == 4
    m.coupons.claim(world.buyer, template_id)
    with pytest.raises(CouponTemplateClaimed, match="params"):
        m.coupons.update_template(
            shop.staff, shop.id, template_id, CouponTemplateChanges(params={"value": 9000})
        )
    with pytest.raises(InvalidInput) as error:
        m.coupons.update_template(shop.staff, shop.id, template_id, CouponTemplateChanges(budget=0))
    assert error.value.field == "budget"
    safe = m.coupons.update_template(
        shop.staff,
        shop.id,
        template_id,
        CouponTemplateChanges(name="renamed", budget=1, claim_until=clock.now() + 2 * DAY),
    )
    assert (safe.template.name, safe.issued, safe.remaining) == ("renamed", 1, 0)
    held = m.coupons.my_coupons(world.buyer, None, PageRequest()).items[0].coupon
    assert held.offer.value is not None and held.offer.value.amount == 1500 and held.name == "¥10 off ¥100"


# -- claiming ----------------------------------------------------------------------------------


def test_buyers_claim_within_their_limit_and_the_budget(world: Scenario, clock: FrozenClock) -> None:
    m, shop = world.marketplace, world.shops[0]
    template_id = m.coupons.create_template(shop.staff, shop.id, template_draft(clock)).template.id
    first = m.coupons.claim(world.buyer, template_id)
    m.coupons.claim(world.buyer, template_id)
    with pytest.raises(CouponClaimLimitReached):
        m.coupons.claim(world.buyer, template_id)
    other, _ = world.new_buyer("other")
    m.coupons.claim(other, template_id)
    late, _ = world.new_buyer("late")
    with pytest.raises(CouponBudgetExhausted):
        m.coupons.claim(late, template_id)
    assert first.valid_until == clock.now() + 7 * DAY and first.shop_id == shop.id
    assert m.coupons.template(shop.staff, shop.id, template_id).issued == 3
    mine = m.coupons.my_coupons(world.buyer, None, PageRequest())
    assert len(mine.items) == 2 and all(h.usable and not h.expired for h in mine.items)
    assert m.coupons.my_coupons(late, None, PageRequest()).items == []


def test_claims_refused_outside_the_window_or_once_stopped(world: Scenario, clock: FrozenClock) -> None:
    m, shop, now = world.marketplace, world.shops[0], clock.now()
    later = m.coupons.create_template(
        shop.staff, shop.id, template_draft(clock, claim_from=now + DAY, claim_until=now + 2 * DAY)
    )
    with pytest.raises(CouponNotClaimable):
        m.coupons.claim(world.buyer, later.template.id)
    stopped = m.coupons.create_template(shop.staff, shop.id, template_draft(clock))
    m.coupons.stop_template(shop.staff, shop.id, stopped.template.id)
    with pytest.raises(CouponNotClaimable):
        m.coupons.claim(world.buyer, stopped.template.id)
    with pytest.raises(NotFound):
        m.coupons.claim(world.buyer, "no-such-template")
    with pytest.raises(Unauthenticated):
        m.coupons.claim(Actor.anonymous(), stopped.template.id)
    assert m.coupons.template(shop.staff, shop.id, stopped.template.id).issued == 0


def test_available_lists_claimable_templates_with_the_buyers_counts(
    world: Scenario, clock: FrozenClock
) -> None:
    m, a, b, now = world.marketplace, world.shops[0], world.shops[1], clock.now()
    of_a = m.coupons.create_template(a.staff, a.id, template_draft(clock, per_buyer_limit=1)).template.id
    of_b = m.coupons.create_template(b.staff, b.id, template_draft(clock)).template.id
    platform = m.coupons.create_template(world.operator, None, template_draft(clock)).template.id
    m.coupons.create_template(
        a.staff, a.id, template_draft(clock, claim_from=now + DAY, claim_until=now + 2 * DAY)
    )
    m.coupons.claim(world.buyer, of_a)
    everything = m.coupons.available(world.buyer, PageRequest())
    assert [v.template.id for v in everything.items] == [platform, of_b, of_a]
    by_id = {v.template.id: v for v in everything.items}
    assert (by_id[of_a].claimed, by_id[of_a].issued, by_id[of_b].claimed) == (1, 1, 0)
    assert [v.template.id for v in m.coupons.available(world.buyer, PageRequest(), shop_id=b.id).items] == [
        of_b
    ]


def test_held_coupons_show_their_status_and_expiry(world: Scenario, clock: FrozenClock) -> None:
    m, shop = world.marketplace, world.shops[0]
    template_id = m.coupons.create_template(
        shop.staff, shop.id, template_draft(clock, valid_days=1)
    ).template.id
    coupon = m.coupons.claim(world.buyer, template_id)
    with m.container.uow()() as uow:
        held = uow.coupons.get(coupon.id)
        assert held is not None
        held.lock("checkout-1", clock.now())
        uow.commit()
    assert [
        h.coupon.status for h in m.coupons.my_coupons(world.buyer, CouponStatus.LOCKED, PageRequest()).items
    ] == [CouponStatus.LOCKED]
    assert m.coupons.my_coupons(world.buyer, CouponStatus.AVAILABLE, PageRequest()).items == []
    clock.advance(2 * DAY)
    [view] = m.coupons.my_coupons(world.buyer, None, PageRequest()).items
    assert view.expired and not view.usable


# -- member levels -----------------------------------------------------------------------------


def test_operators_set_member_levels(world: Scenario) -> None:
    m = world.marketplace
    buyer_id = world.buyer.require_user()
    assert m.identity.me(world.buyer).member_level == 0
    assert m.identity.set_member_level(world.operator, buyer_id, 3).member_level == 3
    assert m.identity.me(world.buyer).member_level == 3
    with pytest.raises(Forbidden):
        m.identity.set_member_level(world.buyer, buyer_id, 100)
    for level in (-1, 101, True):
        with pytest.raises(InvalidInput) as error:
            m.identity.set_member_level(world.operator, buyer_id, level)
        assert error.value.field == "level"
    with pytest.raises(NotFound):
        m.identity.set_member_level(world.operator, "nobody", 1)


@attrs.frozen
class SecondUnitHalfPrice:
    code: ClassVar[str] = "second_unit_half_price"
    placement: ClassVar[Placement] = Placement.SHOP_PROMOTION
    default_priority: ClassVar[int] = 250

    def discount(self, basket: Basket) -> Outcome:
        return Applies(
            sum(line.amount // line.quantity // 2 for line in basket.lines if line.quantity >= 2), "½"
        )

    def ceiling(self, basket: Basket) -> int:
        return basket.amount

    def to_params(self) -> dict[str, object]:
        return {"note": self.note}

    note: str = ""

    @classmethod
    def from_params(cls, params: Mapping[str, object]) -> SecondUnitHalfPrice:
        note = params.get("note", "")
        if not isinstance(note, str):
            raise InvalidInput("note", "a string")
        return cls(note)


def test_an_integrators_kind_registered_at_bootstrap_is_managed_and_stored(
    world: Scenario, clock: FrozenClock
) -> None:
    m, shop = world.marketplace, world.shops[0]
    with pytest.raises(InvalidInput) as error:
        m.promotions.create(shop.staff, shop.id, draft(clock, "second_unit_half_price", {}))
    assert error.value.field == "kind"
    m.container.rule_kinds().register(SecondUnitHalfPrice)
    with pytest.raises(InvalidInput) as error:
        m.promotions.create(shop.staff, shop.id, draft(clock, "second_unit_half_price", {"note": 5}))
    assert error.value.field == "params.note"
    created = m.promotions.create(shop.staff, shop.id, draft(clock, "second_unit_half_price", {"note": "hi"}))
    assert m.promotions.get(shop.staff, shop.id, created.id).rule == SecondUnitHalfPrice("hi")
