"""Strict request-body typing.

Litestar converts bodies leniently (``"2"`` becomes ``2``); the contract wants a wrong JSON type to be
a 400 naming the field. This ``before_request`` hook decodes the body once more in msgspec's strict
mode against the handler's ``data`` type and reports the first mismatch.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException


async def strict_body(request: Request[Any, Any, Any]) -> None:
    field = request.route_handler.parsed_data_field
    if field is None or field.annotation is bytes:
        return  # no body, or the raw bytes (webhooks: the signature covers them as sent)
    body = await request.body()
    if not body.strip():
        return  # absent body: Litestar decides (optional bodies are fine, required ones are a 400)
    try:
        msgspec.json.decode(body, type=field.annotation, strict=True)
    except msgspec.ValidationError as error:
        raise ValidationException(
            "request body has the wrong shape", extra=[{"message": str(error), "source": "body"}]
        ) from None
    except msgspec.DecodeError:
        return  # malformed JSON: Litestar's own decoding reports it
