"""A bare Litestar app: one route returning the product-detail JSON (same bytes), for comparison."""

from __future__ import annotations

import json
import os
from typing import Any

from litestar import Litestar, get

PAYLOAD_ENV = "MARKETCORE_BENCH_PAYLOAD"


def app_from_env() -> Litestar:
    """``uvicorn --factory bench.bare:app_from_env``; the payload is the JSON file named by the env var."""
    with open(os.environ[PAYLOAD_ENV], encoding="utf-8") as file:
        payload = json.load(file)

    @get("/bare/{spu_id:str}")
    async def bare(spu_id: str) -> dict[str, Any]:
        return payload  # type: ignore[no-any-return]

    return Litestar(route_handlers=[bare])
