"""Registration, login, profile and addresses."""

from __future__ import annotations

from marketcore.application.identity.ports import IdentityUnitOfWork, PasswordHasher
from marketcore.application.shared.ids import new_id
from marketcore.application.shared.ports import Clock, UnitOfWorkFactory
from marketcore.application.shared.services import Service
from marketcore.domain.identity.users import (
    Address,
    User,
    check_password_strength,
    normalise_email,
)
from marketcore.domain.shared.actors import Actor, Role
from marketcore.domain.shared.errors import AlreadyExists, NotFound, Unauthenticated


class IdentityService(Service[IdentityUnitOfWork]):
    def __init__(
        self, uow: UnitOfWorkFactory[IdentityUnitOfWork], clock: Clock, hasher: PasswordHasher
    ) -> None:
        super().__init__(uow, clock)
        self._hasher = hasher

    def register(self, email: str, password: str, display_name: str) -> User:
        check_password_strength(password)
        email = normalise_email(email)
        with self._uow() as uow:
            if uow.users.get_by_email(email) is not None:
                raise AlreadyExists("an account with this e-mail already exists")
            user = User.register(
                new_id(), email, self._hasher.hash(password), display_name, self._clock.now()
            )
            uow.users.add(user)
            uow.commit()
        return user

    def authenticate(self, email: str, password: str) -> User:
        """The same error for an unknown e-mail and a wrong password, so neither leaks."""
        with self._reader() as uow:
            user = uow.users.get_by_email(email.strip().lower())
        if user is None or not self._hasher.verify(user.password_hash, password):
            raise Unauthenticated("invalid e-mail or password")
        return user

    def create_operator(self, email: str, password: str, display_name: str = "Operator") -> User:
        """Create an operator account, or grant the operator role to an existing account."""
        check_password_strength(password)
        email = normalise_email(email)
        with self._uow() as uow:
            user = uow.users.get_by_email(email)
            if user is None:
                user = User.register(
                    new_id(), email, self._hasher.hash(password), display_name, self._clock.now()
                )
                uow.users.add(user)
            user.grant(Role.OPERATOR)
            uow.commit()
        return user

    def set_member_level(self, actor: Actor, user_id: str, level: int) -> User:
        """Operators set a buyer's member level (0: not a member, up to 100)."""
        operator = actor.require_operator()
        with self._uow() as uow:
            user = uow.users.get(user_id)
            if user is None:
                raise NotFound("user", user_id)
            user.set_member_level(level, operator, self._clock.now())
            uow.commit()
        return user

    def me(self, actor: Actor) -> User:
        user_id = actor.require_user()
        with self._reader() as uow:
            user = uow.users.get(user_id)
        if user is None:
            raise NotFound("user", user_id)
        return user

    def add_address(
        self,
        actor: Actor,
        recipient: str,
        phone: str,
        province: str,
        city: str,
        district: str,
        detail: str,
        postal_code: str = "",
    ) -> Address:
        address = Address.create(new_id(), recipient, phone, province, city, district, detail, postal_code)
        with self._uow() as uow:
            user = uow.users.get(actor.require_user())
            if user is None:
                raise NotFound("user", str(actor.user_id))
            user.add_address(address)
            uow.commit()
        return address

    def addresses(self, actor: Actor) -> list[Address]:
        return list(self.me(actor).addresses)
