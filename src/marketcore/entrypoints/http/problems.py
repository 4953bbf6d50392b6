"""RFC 9457 problem details: every error the API answers, mapped through one table."""

from __future__ import annotations

import logging
import re
from typing import Any

from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.types import ExceptionHandlersMap

from marketcore.application.payments.ports import GatewayUnavailable, InvalidNotification
from marketcore.application.shared.ports import StorageUnavailable
from marketcore.domain.shared.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    MarketcoreError,
    NotFound,
    Unauthenticated,
)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "urn:marketcore:problem:"

logger = logging.getLogger("marketcore.http")

# The one table: error class -> HTTP status. The most specific class in an error's MRO wins, so
# every Conflict subclass (insufficient_stock, order_not_cancellable, ...) is 409 and RiskBlocked,
# a Forbidden, is 403.
STATUS_BY_ERROR: dict[type[MarketcoreError], int] = {
    InvalidInput: 422,
    NotFound: 404,
    Unauthenticated: 401,
    Forbidden: 403,
    Conflict: 409,
    InvalidNotification: 400,
    GatewayUnavailable: 503,
    StorageUnavailable: 503,
}

TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}

# Framework exceptions -> stable codes.
HTTP_CODES = {
    400: "malformed_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    503: "unavailable",
}


def status_for(error: MarketcoreError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 500


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    field: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        "type": TYPE_BASE + code.replace("_", "-"),
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if field is not None:
        body["field"] = field
    if errors:
        body["errors"] = errors
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _domain_error(request: Request[Any, Any, Any], exc: MarketcoreError) -> Response[dict[str, Any]]:
    status = status_for(exc)
    if status == 500:
        return _unexpected(request, exc)
    if isinstance(exc, InvalidInput):
        return problem(
            status,
            exc.code,
            exc.detail,
            field=exc.field,
            errors=[{"field": exc.field, "message": exc.detail}],
        )
    if isinstance(exc, InvalidNotification):  # the signature covers the exact body as received
        return problem(status, exc.code, exc.detail, field="body")
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if isinstance(exc, StorageUnavailable):
        headers = {"Retry-After": "1"}
    return problem(status, exc.code, exc.detail, headers=headers)


def _validation_error(request: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    """Malformed JSON, wrong JSON types, bad query/path/header parameters: 400 naming the field."""
    errors: list[dict[str, Any]] = []
    extra = exc.extra
    items = extra if isinstance(extra, list) else [extra] if isinstance(extra, dict) else []
    for item in items:
        if not isinstance(item, dict):
            continue
        field = _field_name(item)
        entry: dict[str, Any] = {"message": str(item.get("message", exc.detail))}
        if field:
            entry["field"] = field
        if item.get("source"):
            entry["source"] = str(item["source"]).removeprefix("ParamType.").lower()
        errors.append(entry)
    first_field = next((e["field"] for e in errors if "field" in e), None)
    detail = errors[0]["message"] if errors else str(exc.detail)
    if first_field and first_field not in detail:
        detail = f"{first_field}: {detail}"
    code = (
        "malformed_json" if "json" in detail.lower() and "malformed" in detail.lower() else "invalid_request"
    )
    return problem(400, code, detail, field=first_field, errors=errors)


def _field_name(item: dict[str, Any]) -> str | None:
    """The offending field: Litestar's ``key`` for parameters, else the path in msgspec's message
    (``... - at `$.skus[0].price```); a missing field is named by itself; the root is ``body``."""
    key = item.get("key")
    if key:
        return str(key).removeprefix("$.")
    message = str(item.get("message", ""))
    path = ""
    marker = " - at `$"
    if marker in message:
        path = message.split(marker, 1)[1].rstrip("`").removeprefix(".")
    missing = re.search(r"missing required field `([^`]+)`", message)
    if missing:
        path = f"{path}.{missing.group(1)}" if path else missing.group(1)
    if path:
        return path
    return "body" if item.get("source") == "body" else None


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    status = exc.status_code
    if isinstance(exc, NotFoundException):
        status = 404
    elif isinstance(exc, MethodNotAllowedException):
        status = 405
    elif isinstance(exc, NotAuthorizedException):
        status = 401
    elif isinstance(exc, PermissionDeniedException):
        status = 403
    if status >= 500:
        return _unexpected(request, exc)
    code = HTTP_CODES.get(status, "http_error")
    detail = str(exc.detail) if exc.detail else TITLES.get(status, "Error")
    field = None
    if status == 400 and request.method in ("POST", "PUT", "PATCH"):
        code, field = "malformed_json", "body"  # the body could not be decoded at all
        detail = f"the request body is not valid JSON: {detail}"
    if status == 404:
        detail = "no such resource"
    elif status == 401:
        detail = "a valid bearer token is required"
    headers = dict(exc.headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return problem(status, code, detail, field=field, headers=headers or None)


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(500, "internal_error", "an unexpected error occurred; it has been logged")


def exception_handlers() -> ExceptionHandlersMap:
    return {
        MarketcoreError: _domain_error,
        ValidationException: _validation_error,
        HTTPException: _http_error,
        Exception: _unexpected,
    }


__all__ = ["PROBLEM_JSON", "STATUS_BY_ERROR", "exception_handlers", "problem", "status_for"]
