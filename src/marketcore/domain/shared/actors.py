"""Who is calling a use case. Use cases enforce permissions against it themselves."""

from __future__ import annotations

import enum

import attrs

from marketcore.domain.shared.errors import Forbidden, Unauthenticated


class Role(enum.StrEnum):
    BUYER = "buyer"
    OPERATOR = "operator"
    SYSTEM = "system"


@attrs.frozen
class Actor:
    user_id: str | None
    roles: frozenset[Role] = frozenset()

    @classmethod
    def anonymous(cls) -> Actor:
        return cls(None)

    @classmethod
    def system(cls) -> Actor:
        return cls("system", frozenset({Role.SYSTEM}))

    @property
    def is_operator(self) -> bool:
        return Role.OPERATOR in self.roles or Role.SYSTEM in self.roles

    def require_user(self) -> str:
        if self.user_id is None:
            raise Unauthenticated("log in first")
        return self.user_id

    def require_operator(self) -> str:
        user_id = self.require_user()
        if not self.is_operator:
            raise Forbidden("operators only")
        return user_id
