"""An order's totals, summed in minor units in one pass, against the step-by-step ``Money`` sums."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketcore.domain.ordering.orders import AddressSnapshot, LineDiscount, Order, OrderLine
from marketcore.domain.shared.errors import InvalidInput
from marketcore.domain.shared.money import Currency, Money

ADDRESS = AddressSnapshot("Li Lei", "13800000000", "Zhejiang", "Hangzhou", "Xihu", "1 Road", "310000")
AT = datetime(2026, 12, 2, tzinfo=UTC)
EIGHT_YUAN = Money(800)


def a_line(price: int, quantity: int, discounts: list[int], currency: Currency = Currency.CNY) -> OrderLine:
    return OrderLine(
        f"line-{price}-{quantity}",
        sku_id="sku",
        product_id="product",
        title="Tea",
        sku_code="T-1",
        attributes={},
        unit_price=Money(price, currency),
        quantity=quantity,
        discounts=[LineDiscount(f"p{i}", "off", Money(d, currency), "shop") for i, d in enumerate(discounts)],
    )


def an_order(lines: list[OrderLine], shipping: Money = EIGHT_YUAN) -> Order:
    return Order.place(
        "order",
        number="N1",
        checkout_id="checkout",
        buyer_id="buyer",
        shop_id="shop",
        lines=lines,
        shipping_fee=shipping,
        address=ADDRESS,
        payment_method="sandbox",
        pay_on_delivery=False,
        payment_deadline=AT,
        at=AT,
    )


lines = st.lists(
    st.builds(
        a_line,
        st.integers(min_value=0, max_value=10**7),
        st.integers(min_value=1, max_value=99),
        st.lists(st.integers(min_value=0, max_value=10**5), max_size=4),
    ),
    min_size=1,
    max_size=6,
)


@given(lines, st.integers(min_value=0, max_value=10**4))
def test_order_totals_are_the_sums_of_their_lines(order_lines: list[OrderLine], shipping: int) -> None:
    order = an_order(order_lines, Money(shipping))
    for line in order.lines:
        assert line.subtotal == line.unit_price * line.quantity
        assert line.discount == Money.sum(d.amount for d in line.discounts)
        assert line.total == line.subtotal - line.discount
    assert order.subtotal == Money.sum(line.subtotal for line in order.lines)
    assert order.discount == Money.sum(line.discount for line in order.lines)
    assert order.total == order.subtotal - order.discount + Money(shipping)


def test_totals_refuse_amounts_in_another_currency() -> None:
    dollars = a_line(500, 1, [100], Currency.USD)
    with pytest.raises(InvalidInput, match="cannot combine CNY and USD"):
        _ = an_order([a_line(500, 1, []), dollars]).total
    with pytest.raises(InvalidInput, match="cannot combine USD and CNY"):  # the order's is USD
        _ = an_order([a_line(500, 1, [])], Money(800, Currency.USD)).total
    mixed = a_line(500, 1, [])
    mixed.discounts.append(LineDiscount("p", "off", Money(100, Currency.USD), "shop"))
    with pytest.raises(InvalidInput, match="cannot combine CNY and USD"):
        _ = mixed.total
    with pytest.raises(InvalidInput, match="cannot combine CNY and USD"):
        _ = an_order([mixed]).discount
