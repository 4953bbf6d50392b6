"""Operator risk tools: the blacklist."""

from __future__ import annotations

from litestar import Controller, post
from litestar.params import JSONBody

from marketcore.entrypoints.http.common import CurrentActor, Market
from marketcore.entrypoints.http.schemas import BlacklistIn, BlacklistOut, blacklist_out


class AdminRiskController(Controller):
    path = "/admin/risk"
    tags = (
        "risk",
        "admin",
    )

    @post("/blacklist", operation_id="addToBlacklist", sync_to_thread=True)
    def blacklist(self, data: JSONBody[BlacklistIn], market: Market, actor: CurrentActor) -> BlacklistOut:
        return blacklist_out(market.risk.blacklist(actor, data.kind, data.value, data.reason))
