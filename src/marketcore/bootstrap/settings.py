"""Settings from ``MARKETCORE_*`` environment variables (or keyword arguments), validated at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import attrs

from marketcore.domain.shared.errors import MarketcoreError

PREFIX = "MARKETCORE_"
KNOWN_GATEWAYS = ("sandbox", "cod")
DEV_SECRET = "marketcore-development-secret-do-not-use-in-production"


class InvalidSettings(MarketcoreError):
    code = "invalid_settings"

    def __init__(self, key: str, detail: str) -> None:
        super().__init__(f"{PREFIX}{key.upper()}: {detail}")
        self.key = key


def _int(key: str, raw: object, low: int, high: int) -> int:
    try:
        value = int(str(raw))
    except ValueError:
        raise InvalidSettings(key, f"must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise InvalidSettings(key, f"must be {low} to {high}, got {value}")
    return value


def _bool(key: str, raw: object) -> bool:
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise InvalidSettings(key, f"must be true or false, got {raw!r}")


@attrs.frozen(kw_only=True)
class Settings:
    database_url: str = "sqlite:///marketcore.db"
    environment: str = "development"  # or "production"
    secret_key: str = DEV_SECRET  # signs access tokens
    token_ttl_seconds: int = 86_400
    payment_gateways: tuple[str, ...] = KNOWN_GATEWAYS
    payment_window_minutes: int = 30
    velocity_checkouts_per_hour: int = 30
    migrate_on_start: bool = True

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Environment first, keyword arguments over it; every value checked, errors name the key."""
        env = os.environ if environ is None else environ
        raw: dict[str, Any] = {
            field.name: env[PREFIX + field.name.upper()]
            for field in attrs.fields(cls)
            if PREFIX + field.name.upper() in env
        }
        for key, value in overrides.items():
            if key not in attrs.fields_dict(cls):
                raise InvalidSettings(key, "unknown setting")
            if value is not None:
                raw[key] = value
        return cls._validated(raw)

    @classmethod
    def _validated(cls, raw: dict[str, Any]) -> Settings:
        values: dict[str, Any] = {}
        if "database_url" in raw:
            url = str(raw["database_url"]).strip()
            if not url.startswith(("sqlite", "postgresql", "postgres", "memory")):
                raise InvalidSettings("database_url", "use sqlite:///FILE, postgresql://... or memory://")
            values["database_url"] = url
        environment = str(raw.get("environment", "development"))
        if environment not in ("development", "production"):
            raise InvalidSettings("environment", "must be development or production")
        values["environment"] = environment
        secret = str(raw.get("secret_key", DEV_SECRET))
        if environment == "production" and (secret == DEV_SECRET or len(secret) < 32):
            raise InvalidSettings("secret_key", "production needs a secret of at least 32 characters")
        values["secret_key"] = secret
        if "token_ttl_seconds" in raw:
            values["token_ttl_seconds"] = _int("token_ttl_seconds", raw["token_ttl_seconds"], 60, 2_592_000)
        if "payment_gateways" in raw:
            given = raw["payment_gateways"]
            codes = [c.strip() for c in (given.split(",") if isinstance(given, str) else given) if c.strip()]
            unknown = [c for c in codes if c not in KNOWN_GATEWAYS]
            if unknown or not codes:
                raise InvalidSettings("payment_gateways", f"choose from {', '.join(KNOWN_GATEWAYS)}")
            values["payment_gateways"] = tuple(dict.fromkeys(codes))
        if "payment_window_minutes" in raw:
            values["payment_window_minutes"] = _int(
                "payment_window_minutes", raw["payment_window_minutes"], 1, 10_080
            )
        if "velocity_checkouts_per_hour" in raw:
            values["velocity_checkouts_per_hour"] = _int(
                "velocity_checkouts_per_hour", raw["velocity_checkouts_per_hour"], 1, 1_000_000
            )
        if "migrate_on_start" in raw:
            values["migrate_on_start"] = _bool("migrate_on_start", raw["migrate_on_start"])
        return cls(**values)
