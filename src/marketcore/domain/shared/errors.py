"""One error tree rooted at MarketcoreError; every class has a stable ``code`` slug."""

from __future__ import annotations

from typing import ClassVar


class MarketcoreError(Exception):
    code: ClassVar[str] = "marketcore_error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidInput(MarketcoreError):
    """Input that breaks a domain rule about its shape; names the offending field."""

    code = "validation_error"

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.field = field


class NotFound(MarketcoreError):
    """Missing, or belonging to someone else: the two are indistinguishable on purpose."""

    code = "not_found"

    def __init__(self, kind: str, ident: str) -> None:
        super().__init__(f"{kind} {ident} not found")
        self.kind = kind
        self.ident = ident


class Forbidden(MarketcoreError):
    code = "forbidden"


class Unauthenticated(MarketcoreError):
    code = "unauthenticated"


class Conflict(MarketcoreError):
    """A business rule refuses the command in the current state."""

    code = "conflict"


class ConcurrencyConflict(Conflict):
    """Another transaction changed the aggregate first; retrying may succeed."""

    code = "concurrent_update"


class IdempotencyConflict(Conflict):
    code = "idempotency_key_reused"


class AlreadyExists(Conflict):
    """A unique key (an e-mail, a code, one review per line) is already taken."""

    code = "already_exists"
