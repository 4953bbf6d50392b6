"""What promotions and coupon templates share: who may manage whose, and reading rule params.

``shop_id`` None means the platform's offers, which only operators manage; a shop's are managed by
its staff, and to anyone else the shop (and its offers) does not exist.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from marketcore.application.shops.ports import ShopRepository
from marketcore.application.shops.services import staff_shop
from marketcore.domain.promotions.rules import Placement, RuleKind, RuleKinds
from marketcore.domain.shared.actors import Actor
from marketcore.domain.shared.errors import InvalidInput, NotFound


def authorize_owner(shops: ShopRepository, actor: Actor, shop_id: str | None) -> None:
    if shop_id is None:
        actor.require_operator()
    else:
        staff_shop(shops, actor, shop_id)


def owned(item_shop_id: str | None, shop_id: str | None, kind: str, ident: str) -> None:
    """Another owner's offer answers not found, like a missing one."""
    if item_shop_id != shop_id:
        raise NotFound(kind, ident)


def decode_rule(
    kinds: RuleKinds, code: str, params: Mapping[str, object], placements: Collection[Placement]
) -> RuleKind:
    """The rule of ``code`` from ``params``, if its kind is of one of ``placements``; bad params
    name ``params.<field>``."""
    if not isinstance(code, str):
        raise InvalidInput("kind", "a rule kind's code")
    kind = kinds.get(code)
    if kind.placement not in placements:
        wanted = sorted(c for c in kinds.codes() if kinds.get(c).placement in placements)
        raise InvalidInput("kind", f"{code} does not belong here; one of {', '.join(wanted)}")
    if not isinstance(params, Mapping):
        raise InvalidInput("params", "an object")
    try:
        return kind.from_params(params)
    except InvalidInput as error:
        detail = error.detail.removeprefix(f"{error.field}: ")
        raise InvalidInput(f"params.{error.field}", detail) from error
    except (TypeError, ValueError, KeyError, AttributeError) as error:  # an integrator's kind
        raise InvalidInput("params", f"not valid for {code}: {error}") from error
