"""Users, their credentials' hash, roles and delivery addresses."""

from __future__ import annotations

import re
from datetime import datetime

import attrs

from marketcore.domain.shared.actors import Role
from marketcore.domain.shared.errors import InvalidInput, NotFound
from marketcore.domain.shared.events import Aggregate, DomainEvent
from marketcore.domain.shared.text import require_text

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_ADDRESSES = 20
MAX_MEMBER_LEVEL = 100  # 0: not a member; member prices name the lowest level they need


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if not _EMAIL.match(email) or len(email) > 254:
        raise InvalidInput("email", "not a valid e-mail address")
    return email


@attrs.frozen
class Address:
    id: str
    recipient: str
    phone: str
    province: str
    city: str
    district: str
    detail: str
    postal_code: str = ""

    @classmethod
    def create(
        cls,
        id: str,
        recipient: str,
        phone: str,
        province: str,
        city: str,
        district: str,
        detail: str,
        postal_code: str = "",
    ) -> Address:
        if not re.fullmatch(r"\+?[0-9][0-9 -]{5,19}", phone.strip()):
            raise InvalidInput("phone", "not a valid phone number")
        return cls(
            id=id,
            recipient=require_text("recipient", recipient, 50),
            phone=phone.strip(),
            province=require_text("province", province, 50),
            city=require_text("city", city, 50),
            district=require_text("district", district, 50, min_length=0),
            detail=require_text("detail", detail, 200),
            postal_code=require_text("postal_code", postal_code, 12, min_length=0),
        )


@attrs.frozen(kw_only=True)
class UserRegistered(DomainEvent):
    user_id: str


@attrs.frozen(kw_only=True)
class MemberLevelChanged(DomainEvent):
    user_id: str
    level: int
    previous: int
    changed_by: str


@attrs.define(eq=False)
class User(Aggregate):
    email: str
    password_hash: str
    display_name: str
    created_at: datetime
    roles: frozenset[Role] = frozenset({Role.BUYER})
    addresses: list[Address] = attrs.Factory(list)
    member_level: int = 0  # what member prices read; set by operators

    @classmethod
    def register(cls, id: str, email: str, password_hash: str, display_name: str, at: datetime) -> User:
        user = cls(
            id,
            email=normalise_email(email),
            password_hash=password_hash,
            display_name=require_text("display_name", display_name, 50),
            created_at=at,
        )
        user.record(UserRegistered(occurred_at=at, user_id=id))
        return user

    def grant(self, role: Role) -> None:
        self.roles = self.roles | {role}

    def set_member_level(self, level: int, changed_by: str, at: datetime) -> None:
        if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= MAX_MEMBER_LEVEL:
            raise InvalidInput("level", f"a whole number from 0 to {MAX_MEMBER_LEVEL}")
        if level == self.member_level:
            return
        previous, self.member_level = self.member_level, level
        self.record(
            MemberLevelChanged(
                occurred_at=at, user_id=self.id, level=level, previous=previous, changed_by=changed_by
            )
        )

    def add_address(self, address: Address) -> None:
        if len(self.addresses) >= MAX_ADDRESSES:
            raise InvalidInput("addresses", f"at most {MAX_ADDRESSES} addresses")
        self.addresses.append(address)

    def address(self, address_id: str) -> Address:
        for address in self.addresses:
            if address.id == address_id:
                return address
        raise NotFound("address", address_id)


def check_password_strength(password: str) -> None:
    if not 8 <= len(password) <= 128:
        raise InvalidInput("password", "must be 8 to 128 characters")
