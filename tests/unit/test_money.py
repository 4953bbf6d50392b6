from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketcore.domain.shared.errors import InvalidInput
from marketcore.domain.shared.money import Currency, Money, allocate

weights = st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=60).filter(any)


@given(total=st.integers(min_value=-(10**12), max_value=10**12), weights=weights)
def test_allocation_parts_always_sum_to_the_whole(total: int, weights: list[int]) -> None:
    assert sum(allocate(total, weights)) == total


@given(total=st.integers(min_value=0, max_value=10**12), weights=weights)
def test_allocating_a_positive_amount_never_gives_a_negative_part(total: int, weights: list[int]) -> None:
    assert all(part >= 0 for part in allocate(total, weights))


@given(total=st.integers(min_value=0, max_value=10**12), weights=weights)
def test_each_part_is_within_one_cent_of_its_exact_share(total: int, weights: list[int]) -> None:
    weight_sum = sum(weights)
    for part, weight in zip(allocate(total, weights), weights, strict=True):
        assert abs(part * weight_sum - total * weight) < weight_sum


@given(total=st.integers(min_value=0, max_value=10**9), weights=weights)
def test_a_zero_weight_gets_nothing(total: int, weights: list[int]) -> None:
    for part, weight in zip(allocate(total, weights), weights, strict=True):
        if weight == 0:
            assert part == 0


def test_remainder_goes_to_the_largest_remainders_then_the_earliest() -> None:
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]
    assert allocate(10, [3, 3, 4]) == [3, 3, 4]
    assert Money(1000).allocate([1, 2]) == [Money(333), Money(667)]


@pytest.mark.parametrize("weights", [[], [0, 0], [1, -1]])
def test_allocation_refuses_meaningless_weights(weights: list[int]) -> None:
    with pytest.raises(InvalidInput):
        allocate(10, weights)


def test_money_of_different_currencies_does_not_mix() -> None:
    with pytest.raises(InvalidInput):
        Money(1, Currency.CNY) + Money(1, Currency.USD)


def test_money_refuses_floats() -> None:
    with pytest.raises(InvalidInput):
        Money(1.5)  # type: ignore[arg-type]


def test_money_compares_by_value_and_prints_in_major_units() -> None:
    assert Money(150) == Money(150)
    assert Money(150) != Money(150, Currency.USD)
    assert str(Money(-1205)) == "-12.05 CNY"


def test_a_sum_of_money_is_in_its_currency_and_refuses_another() -> None:
    dollars = [Money(150, Currency.USD), Money(250, Currency.USD)]
    assert Money.sum(dollars, Currency.USD) == Money(400, Currency.USD)
    assert Money.sum([], Currency.EUR) == Money(0, Currency.EUR)
    with pytest.raises(InvalidInput, match="cannot combine CNY and USD"):
        Money.sum([Money(1), Money(2, Currency.USD)])
