"""The read cache: an entry is served until a write touches what it was built from, or it expires."""

from __future__ import annotations

from marketcore.entrypoints.http.read_cache import ReadCache


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_page_is_served_until_it_expires() -> None:
    clock = Clock()
    pages = ReadCache[bytes](1.0, clock=clock)
    pages.put(pages.ticket(), "p1", {"p1", "shop", "sku"}, b"page")
    assert pages.get("p1") == b"page"
    clock.now = 0.99
    assert pages.get("p1") == b"page"
    clock.now = 1.0
    assert pages.get("p1") is None


def test_a_write_to_the_product_its_shop_or_its_stock_evicts_the_page() -> None:
    pages = ReadCache[bytes](60.0)
    for written in ("p1", "shop", "sku"):
        pages.put(pages.ticket(), "p1", {"p1", "shop", "sku"}, b"page")
        pages.put(pages.ticket(), "p2", {"p2", "shop2", "sku2"}, b"other")
        pages.evict(frozenset({written, "unrelated"}))
        assert pages.get("p1") is None, written
        assert pages.get("p2") == b"other"


def test_a_page_read_before_a_write_committed_is_not_cached_after_it() -> None:
    pages = ReadCache[bytes](60.0)
    ticket = pages.ticket()  # the reader starts
    pages.evict(frozenset({"sku"}))  # a checkout commits meanwhile
    pages.put(ticket, "p1", {"shop", "sku"}, b"stale")
    assert pages.get("p1") is None
    pages.put(ticket, "p2", {"shop2"}, b"fresh")  # that write did not touch p2
    assert pages.get("p2") == b"fresh"


def test_when_too_many_writes_happened_during_a_read_nothing_is_cached() -> None:
    pages = ReadCache[bytes](60.0)
    ticket = pages.ticket()
    for index in range(1000):
        pages.evict(frozenset({f"other{index}"}))
    pages.put(ticket, "p1", {"shop"}, b"maybe stale")
    assert pages.get("p1") is None


def test_the_cache_holds_at_most_max_entries() -> None:
    pages = ReadCache[bytes](60.0, max_entries=2)
    for name in ("a", "b", "c"):
        pages.put(pages.ticket(), name, {name}, name.encode())
    assert [pages.get(name) for name in ("a", "b", "c")] == [None, b"b", b"c"]
    pages.evict(frozenset({"a"}))  # the dropped page left no dangling index entries behind
    assert pages.get("b") == b"b"


def test_a_ttl_of_zero_turns_the_cache_off() -> None:
    pages = ReadCache[bytes](0.0)
    pages.put(pages.ticket(), "p1", (), b"page")
    assert pages.get("p1") is None
