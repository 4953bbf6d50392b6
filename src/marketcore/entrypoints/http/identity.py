"""Registration, login, profile and addresses; operators set member levels."""

from __future__ import annotations

from litestar import Controller, get, post, put
from litestar.params import FromPath, JSONBody

from marketcore.entrypoints.http.common import PUBLIC_OPT, CurrentActor, Market, Tokens
from marketcore.entrypoints.http.promotion_schemas import MemberLevelIn, MemberLevelOut, member_level_out
from marketcore.entrypoints.http.schemas import (
    AddressIn,
    AddressOut,
    LoginIn,
    MeOut,
    PageOut,
    RegisterIn,
    TokenOut,
    UserOut,
    address_out,
    me_out,
    user_out,
)


class AuthController(Controller):
    path = "/auth"
    tags = ("identity",)

    @post("/register", operation_id="register", opt=PUBLIC_OPT, sync_to_thread=True)
    def register(self, data: JSONBody[RegisterIn], market: Market) -> UserOut:
        return user_out(market.identity.register(data.email, data.password, data.display_name))

    @post("/login", operation_id="login", status_code=200, opt=PUBLIC_OPT, sync_to_thread=True)
    def login(self, data: JSONBody[LoginIn], market: Market, tokens: Tokens) -> TokenOut:
        user = market.identity.authenticate(data.email, data.password)
        return TokenOut(access_token=tokens.issue(user.id), expires_in=tokens.ttl_seconds)


class MeController(Controller):
    path = "/me"
    tags = ("identity",)

    @get("", operation_id="getMe", sync_to_thread=True)
    def me(self, market: Market, actor: CurrentActor) -> MeOut:
        user = market.identity.me(actor)
        return me_out(user, market.shops.memberships(user.id))

    @get("/addresses", operation_id="listAddresses", sync_to_thread=True)
    def addresses(self, market: Market, actor: CurrentActor) -> PageOut[AddressOut]:
        return PageOut([address_out(a) for a in market.identity.addresses(actor)])

    @post("/addresses", operation_id="addAddress", sync_to_thread=True)
    def add_address(self, data: JSONBody[AddressIn], market: Market, actor: CurrentActor) -> AddressOut:
        address = market.identity.add_address(
            actor,
            data.recipient,
            data.phone,
            data.province,
            data.city,
            data.district,
            data.detail,
            data.postal_code,
        )
        return address_out(address)


class AdminUserController(Controller):
    path = "/admin/users"
    tags = ("identity", "admin")

    @put("/{user_id:str}/member-level", operation_id="setMemberLevel", sync_to_thread=True)
    def set_member_level(
        self, user_id: FromPath[str], data: JSONBody[MemberLevelIn], market: Market, actor: CurrentActor
    ) -> MemberLevelOut:
        """A buyer's member level, 0 (not a member) to 100: what member prices read."""
        return member_level_out(market.identity.set_member_level(actor, user_id, data.level))
