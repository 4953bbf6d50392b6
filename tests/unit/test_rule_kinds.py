"""Rule kinds are a registry by stable code: built-ins round-trip, integrators add their own."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import attrs
import pytest
from offers import line, offer

from marketcore.domain.promotions.kinds import (
    BUILT_IN_KINDS,
    BuyNPayM,
    CrossShopReduction,
    FixedAmountOff,
    FlashSalePrice,
    FreeShipping,
    FullDiscountRule,
    FullReductionRule,
    LimitedTimeDiscount,
    MemberPrice,
    MemberPriceEntry,
    PercentOff,
    RateTier,
    SkuPrice,
    Tier,
    default_rule_kinds,
)
from marketcore.domain.promotions.pricing import price
from marketcore.domain.promotions.rules import (
    Applies,
    Basket,
    DoesNotApply,
    Nudge,
    Outcome,
    Placement,
    RuleKind,
    RuleKinds,
    read_int,
)
from marketcore.domain.shared.errors import AlreadyExists, InvalidInput
from marketcore.domain.shared.money import Money

EXAMPLES: list[RuleKind] = [
    FullReductionRule([Tier(Money(20000), Money(2000)), Tier(Money(30000), Money(4000))]),
    FullReductionRule([Tier(Money(10000), Money(1000))], repeating=True, cap=Money(5000)),
    FullDiscountRule([RateTier(Money(10000), 500), RateTier(Money(20000), 1000)]),
    BuyNPayM(3, 2),
    MemberPrice([MemberPriceEntry("a", 1, Money(900)), MemberPriceEntry("a", 2, Money(800))]),
    LimitedTimeDiscount(off_bp=1500, prices=[SkuPrice("b", Money(500))]),
    FlashSalePrice("fs", "a", Money(100), per_buyer_limit=2, remaining=5),
    CrossShopReduction([Tier(Money(30000), Money(3000))], repeating=True),
    FreeShipping(Money(9900)),
    FixedAmountOff(Money(500), Money(5000)),
    PercentOff(1000, Money(2000), Money(0)),
]


def test_the_built_in_kinds_have_the_documented_codes() -> None:
    assert default_rule_kinds().codes() == (
        "buy_n_pay_m",
        "cross_shop_reduction",
        "fixed_amount",
        "flash_sale",
        "free_shipping",
        "full_discount",
        "full_reduction",
        "limited_time_discount",
        "member_price",
        "percent_off",
    )
    assert {kind.code for kind in BUILT_IN_KINDS} == {type(rule).code for rule in EXAMPLES}


@pytest.mark.parametrize("rule", EXAMPLES, ids=lambda r: type(r).code)
def test_every_built_in_kind_comes_back_from_its_plain_params(rule: RuleKind) -> None:
    kinds = default_rule_kinds()
    stored = RuleKinds.encode(rule)
    assert set(stored) == {"kind", "params"}
    params = stored["params"]
    assert isinstance(params, dict)
    assert kinds.decode(str(stored["kind"]), params) == rule


def test_an_unknown_kind_names_the_field() -> None:
    with pytest.raises(InvalidInput) as error:
        default_rule_kinds().decode("half_price_tuesday", {})
    assert error.value.field == "kind"


@pytest.mark.parametrize(
    ("code", "params", "field"),
    [
        ("full_reduction", {"tiers": [[100, 200]]}, "tiers[0]"),
        ("full_reduction", {"tiers": [[100, 10], [200, 5]]}, "tiers[1]"),
        ("full_reduction", {"tiers": [[100, 10]], "cap": 50}, "cap"),
        ("full_reduction", {"tiers": "lots"}, "tiers"),
        ("full_discount", {"tiers": [[100, 10_000]]}, "tiers[0]"),
        ("buy_n_pay_m", {"buy": 3, "pay": 3}, "pay"),
        ("percent_off", {"off_bp": 0}, "off_bp"),
        ("fixed_amount", {"value": -1}, "value"),
        ("fixed_amount", {"value": 100, "currency": "XYZ"}, "currency"),
        ("member_price", {"entries": [["a", 0, 100]]}, "entries[0].level"),
        ("limited_time_discount", {"prices": [["a", "cheap"]]}, "prices[0].price"),
        ("flash_sale", {"sale_id": "f", "sku_id": "a", "price": 1, "per_buyer_limit": 0}, "per_buyer_limit"),
    ],
)
def test_bad_params_name_their_field(code: str, params: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        default_rule_kinds().decode(code, params)
    assert error.value.field == field


@attrs.frozen
class SecondUnitHalfPrice:
    """An integrator's kind: the second unit of each eligible line at half price."""

    code: ClassVar[str] = "second_unit_half_price"
    placement: ClassVar[Placement] = Placement.SHOP_PROMOTION
    default_priority: ClassVar[int] = 250

    def discount(self, basket: Basket) -> Outcome:
        off = sum(line.amount // line.quantity // 2 for line in basket.lines if line.quantity >= 2)
        if not off:
            return DoesNotApply(
                "needs_two_units", "buy two of an item", Nudge("add one more of an item", add_units=1)
            )
        return Applies(off, "second unit half price")

    def ceiling(self, basket: Basket) -> int:
        return basket.amount

    def to_params(self) -> dict[str, object]:
        return {}

    @classmethod
    def from_params(cls, params: Mapping[str, object]) -> SecondUnitHalfPrice:
        return cls()


def test_an_integrator_registers_their_own_kind_and_the_engine_prices_it() -> None:
    kinds = default_rule_kinds()
    kinds.register(SecondUnitHalfPrice)
    rule = kinds.decode("second_unit_half_price", {})
    result = price([line("a", "s1", 1000, 2), line("b", "s1", 3000)], [offer("half", "s1", rule)])
    shop = result.shops[0]
    assert shop.discount == Money(500)
    (applied,) = shop.applied
    assert (applied.kind, applied.detail) == ("second_unit_half_price", "second unit half price")
    single = price([line("b", "s1", 3000)], [offer("half", "s1", rule)]).shops[0]
    assert [(s.reason, s.detail) for s in single.skipped] == [("needs_two_units", "buy two of an item")]


def test_an_over_generous_kind_is_held_to_its_basket_by_the_engine() -> None:
    @attrs.frozen
    class Everything(SecondUnitHalfPrice):
        code: ClassVar[str] = "everything"

        def discount(self, basket: Basket) -> Outcome:
            return Applies(basket.amount * 10)

    result = price([line("a", "s1", 1000), line("b", "s2", 500)], [offer("all", "s1", Everything())])
    assert [s.total.amount for s in result.shops] == [0, 500]


def test_a_kind_code_is_registered_once() -> None:
    kinds = default_rule_kinds()
    with pytest.raises(AlreadyExists):
        kinds.register(FullReductionRule)


def test_a_kind_needs_a_stable_code_and_a_placement() -> None:
    class Nameless:
        code = "Not A Code"
        placement = Placement.COUPON

    with pytest.raises(InvalidInput) as error:
        RuleKinds([Nameless])  # type: ignore[list-item]
    assert error.value.field == "code"


def test_params_readers_name_the_field() -> None:
    with pytest.raises(InvalidInput) as error:
        read_int({"buy": True}, "buy", 2, 10)
    assert error.value.field == "buy"


@pytest.mark.parametrize("kind", BUILT_IN_KINDS, ids=lambda k: k.code)
def test_built_in_rules_are_frozen_so_storage_may_share_one_decoded_rule(kind: type[object]) -> None:
    # PromotionSpec hands the same decoded built-in rule to every load of the same params.
    rule = object.__new__(kind)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        rule.anything = 1  # type: ignore[attr-defined]


def test_stored_promotions_decode_each_params_once_and_new_params_anew() -> None:
    from marketcore.adapters.repositories import PROMOTIONS

    rule = FullReductionRule((Tier(Money(20_000), Money(3_000)),))
    stored = {"kind": rule.code, "params": rule.to_params()}
    assert PROMOTIONS._rule(stored["kind"], stored["params"]) is PROMOTIONS._rule(
        stored["kind"], dict(stored["params"])
    )
    other = FullReductionRule((Tier(Money(20_000), Money(4_000)),))
    assert PROMOTIONS._rule(other.code, other.to_params()) == other
