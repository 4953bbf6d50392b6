"""Bearer-token authentication: Litestar's JWTAuth, with an anonymous actor on public routes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from anyio import to_thread
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.middleware.authentication import AuthenticationResult
from litestar.security.jwt import JWTAuth, JWTAuthenticationMiddleware, Token

from marketcore.bootstrap import Marketplace
from marketcore.domain.shared.actors import Actor
from marketcore.domain.shared.errors import MarketcoreError

PUBLIC = "public"  # route opt key: no token needed; a token, if sent, is still honoured
ALWAYS_OPEN = ["^/schema", "^/health$", "^/ready$"]


class ActorAuthenticationMiddleware(JWTAuthenticationMiddleware):
    """Like the stock middleware, but a public route without a token gets ``Actor.anonymous()``."""

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        if not connection.headers.get(self.auth_header) and connection.route_handler.opt.get(PUBLIC):
            return AuthenticationResult(user=Actor.anonymous(), auth=None)
        return await super().authenticate_request(connection)


def build_jwt_auth(marketplace: Marketplace) -> JWTAuth[Actor, Token]:
    async def retrieve_actor(token: Token, connection: ASGIConnection[Any, Any, Any, Any]) -> Actor | None:
        try:
            return await to_thread.run_sync(marketplace.actor_for, token.sub)
        except MarketcoreError:  # the user is gone: the token no longer names anyone
            return None

    return JWTAuth[Actor, Token](
        retrieve_user_handler=retrieve_actor,
        token_secret=marketplace.settings.secret_key,
        default_token_expiration=timedelta(seconds=marketplace.settings.token_ttl_seconds),
        exclude=ALWAYS_OPEN,
        authentication_middleware_class=ActorAuthenticationMiddleware,
    )


class TokenIssuer:
    """Signs access tokens for signed-in users (a plain class, so it can be injected)."""

    def __init__(self, jwt_auth: JWTAuth[Actor, Token], ttl_seconds: int) -> None:
        self._jwt_auth = jwt_auth
        self.ttl_seconds = ttl_seconds

    def issue(self, user_id: str) -> str:
        return self._jwt_auth.create_token(
            identifier=user_id, token_expiration=timedelta(seconds=self.ttl_seconds)
        )


def provide_actor(request: Request[Any, Any, Any], market: NamedDependency[Marketplace]) -> Actor:
    """The caller, as the authentication middleware resolved it (anonymous when there is none).

    Takes ``market`` only so Litestar resolves the two dependencies one after the other: two
    independent ones are resolved in a task group, which costs about 100 µs a request."""
    user = request.scope.get("user")
    return user if isinstance(user, Actor) else Actor.anonymous()
