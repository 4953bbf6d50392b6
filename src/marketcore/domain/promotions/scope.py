"""Which lines an offer covers: SKUs, categories, shops, or everything its owner sells."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from marketcore.domain.shared.errors import InvalidInput

MAX_SCOPE_ENTRIES = 1000


def _id_set(field: str, values: Iterable[str]) -> frozenset[str]:
    if isinstance(values, str):
        raise InvalidInput(field, "a list of ids, not one string")
    result = frozenset(values)
    if len(result) > MAX_SCOPE_ENTRIES:
        raise InvalidInput(field, f"at most {MAX_SCOPE_ENTRIES} entries")
    if any(not isinstance(v, str) or not v for v in result):
        raise InvalidInput(field, "ids are non-empty strings")
    return result


# Named converters: the attrs mypy plugin types named functions only.
def _skus(values: Iterable[str]) -> frozenset[str]:
    return _id_set("scope.sku_ids", values)


def _categories(values: Iterable[str]) -> frozenset[str]:
    return _id_set("scope.category_ids", values)


def _shops(values: Iterable[str]) -> frozenset[str]:
    return _id_set("scope.shop_ids", values)


@attrs.frozen
class Scope:
    """An empty scope covers everything the owner sells (a shop: its lines; the platform: all).

    Otherwise a line is covered when its SKU, one of its categories (its leaf and the leaf's
    ancestors, as the caller gives them) or its shop is listed: the sets are alternatives.
    """

    sku_ids: frozenset[str] = attrs.field(factory=frozenset, converter=_skus)
    category_ids: frozenset[str] = attrs.field(factory=frozenset, converter=_categories)
    shop_ids: frozenset[str] = attrs.field(factory=frozenset, converter=_shops)

    @property
    def is_everything(self) -> bool:
        return not (self.sku_ids or self.category_ids or self.shop_ids)

    def covers(self, sku_id: str, category_ids: Iterable[str], shop_id: str) -> bool:
        if self.is_everything:
            return True
        if sku_id in self.sku_ids or shop_id in self.shop_ids:
            return True
        return not self.category_ids.isdisjoint(category_ids)

    def to_params(self) -> dict[str, list[str]]:
        return {
            "sku_ids": sorted(self.sku_ids),
            "category_ids": sorted(self.category_ids),
            "shop_ids": sorted(self.shop_ids),
        }


EVERYTHING = Scope()
