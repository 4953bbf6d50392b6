"""Identity ports."""

from __future__ import annotations

from typing import Protocol

from marketcore.application.shared.ports import UnitOfWork
from marketcore.domain.identity.users import User


class UserRepository(Protocol):
    def get(self, user_id: str) -> User | None: ...

    def get_by_email(self, email: str) -> User | None: ...

    def add(self, user: User) -> None: ...


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool: ...


class IdentityUnitOfWork(UnitOfWork, Protocol):
    users: UserRepository
