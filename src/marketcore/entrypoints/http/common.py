"""What every controller shares: the injected marketplace and actor, pagination parameters."""

from __future__ import annotations

from typing import Annotated

from litestar.di import NamedDependency
from litestar.params import HeaderParameter, QueryParameter

from marketcore.application.shared.ports import PageRequest
from marketcore.bootstrap import Marketplace
from marketcore.domain.shared.actors import Actor
from marketcore.entrypoints.http.auth import TokenIssuer

Limit = Annotated[int, QueryParameter(description="page size, 1 to 100")]
Cursor = Annotated[str | None, QueryParameter(description="next_cursor of the previous page")]

PUBLIC_OPT = {"public": True}


def page_request(limit: int, cursor: str | None) -> PageRequest:
    return PageRequest(limit=limit, cursor=cursor or None)


Market = NamedDependency[Marketplace]
CurrentActor = NamedDependency[Actor]
Tokens = NamedDependency[TokenIssuer]

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key", description="retries with the same key and body return the first result"
    ),
]
