"""Settings from ``MARKETCORE_*`` environment variables (or keyword arguments), validated at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import attrs

from marketcore.domain.shared.errors import InvalidInput, MarketcoreError

PREFIX = "MARKETCORE_"
DEFAULT_GATEWAYS = ("sandbox", "cod")
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


def _gateway_options(env: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """``MARKETCORE_STRIPE_API_KEY=x`` -> ``{"stripe": {"api_key": "x"}}``, for each registered gateway."""
    from marketcore.bootstrap.gateways import GATEWAYS

    options: dict[str, dict[str, str]] = {}
    for code in GATEWAYS:
        prefix = f"{PREFIX}{code.upper()}_"
        found = {
            name.removeprefix(prefix).lower(): value for name, value in env.items() if name.startswith(prefix)
        }
        if found:
            options[code] = found
    return options


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
    database_pool_size: int = 10  # connections per process; PostgreSQL's max_connections bounds the sum
    database_max_overflow: int = 20
    # Writing transactions at once per process on PostgreSQL (others wait their turn); 0: two per core.
    database_writers: int = 0
    environment: str = "development"  # or "production"
    secret_key: str = DEV_SECRET  # signs access tokens
    token_ttl_seconds: int = 86_400
    payment_gateways: tuple[str, ...] = DEFAULT_GATEWAYS
    # Per gateway code, its options from MARKETCORE_<CODE>_<KEY> (secrets among them: never shown).
    gateway_options: Mapping[str, Mapping[str, str]] = attrs.field(factory=dict, repr=False)
    payment_window_minutes: int = 30
    payment_check_minutes: int = 5  # an unsettled online payment is first asked about this old
    payment_give_up_hours: int = 24  # and cancelled here if still unsettled this old
    auto_complete_days: int = 10  # shipped orders complete by themselves this long after shipment
    receipt_extension_days: int = 3  # how far a buyer may push that back, once
    worker_interval_seconds: int = 5
    velocity_checkouts_per_hour: int = 30
    migrate_on_start: bool = True
    broker_url: str = ""  # amqp://user:pass@host:5672/vhost; empty = events stay in-process
    events_exchange: str = "marketcore.events"
    relay_batch_size: int = 100
    relay_interval_ms: int = 1000
    # How long a public product page may be served from this process's cache when another
    # process changed it (this process's own writes evict at once); 0 turns the cache off.
    product_cache_ms: int = 1000
    # The same bound for a signed-in user's roles (this process's own writes evict at once).
    actor_cache_ms: int = 5000

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Environment first, keyword arguments over it; every value checked, errors name the key."""
        env = os.environ if environ is None else environ
        raw: dict[str, Any] = {
            field.name: env[PREFIX + field.name.upper()]
            for field in attrs.fields(cls)
            if PREFIX + field.name.upper() in env and field.name != "gateway_options"
        }
        raw["gateway_options"] = _gateway_options(env)
        for key, value in overrides.items():
            if key not in attrs.fields_dict(cls):
                raise InvalidSettings(key, "unknown setting")
            if key == "gateway_options" and value is not None:
                raw[key] = {**raw[key], **{code: dict(options) for code, options in value.items()}}
            elif value is not None:
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
        for key, low in (("database_pool_size", 1), ("database_max_overflow", 0), ("database_writers", 0)):
            if key in raw:
                values[key] = _int(key, raw[key], low, 1000)
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
        from marketcore.bootstrap.gateways import GATEWAYS, build_gateway  # the registry imports adapters

        if "payment_gateways" in raw:
            given = raw["payment_gateways"]
            codes = [c.strip() for c in (given.split(",") if isinstance(given, str) else given) if c.strip()]
            unknown = [c for c in codes if c not in GATEWAYS]
            if unknown or not codes:
                raise InvalidSettings("payment_gateways", f"choose from {', '.join(sorted(GATEWAYS))}")
            values["payment_gateways"] = tuple(dict.fromkeys(codes))
        values["gateway_options"] = raw.get("gateway_options", {})
        for code in values.get("payment_gateways", DEFAULT_GATEWAYS):
            try:  # built once here only to check the options: the bad key is named at start-up
                build_gateway(code, values["gateway_options"].get(code, {}), values["secret_key"])
            except InvalidInput as error:
                raise InvalidSettings(error.field, error.detail.removeprefix(f"{error.field}: ")) from None
        for key, high in (("payment_check_minutes", 1440), ("payment_give_up_hours", 720)):
            if key in raw:
                values[key] = _int(key, raw[key], 1, high)
        if "payment_window_minutes" in raw:
            values["payment_window_minutes"] = _int(
                "payment_window_minutes", raw["payment_window_minutes"], 1, 10_080
            )
        for key, high in (("auto_complete_days", 90), ("receipt_extension_days", 30)):
            if key in raw:
                values[key] = _int(key, raw[key], 1, high)
        if "worker_interval_seconds" in raw:
            values["worker_interval_seconds"] = _int(
                "worker_interval_seconds", raw["worker_interval_seconds"], 1, 3600
            )
        if "velocity_checkouts_per_hour" in raw:
            values["velocity_checkouts_per_hour"] = _int(
                "velocity_checkouts_per_hour", raw["velocity_checkouts_per_hour"], 1, 1_000_000
            )
        if "migrate_on_start" in raw:
            values["migrate_on_start"] = _bool("migrate_on_start", raw["migrate_on_start"])
        if "broker_url" in raw:
            broker = str(raw["broker_url"]).strip()
            if broker and not (broker.startswith(("amqp://", "amqps://")) and len(broker) > len("amqps://")):
                raise InvalidSettings("broker_url", "use amqp://user:pass@host:5672/vhost, or leave it empty")
            values["broker_url"] = broker
        if "events_exchange" in raw:
            exchange = str(raw["events_exchange"]).strip()
            if not exchange or len(exchange) > 255 or exchange.startswith("amq."):
                raise InvalidSettings("events_exchange", "must be 1 to 255 characters, not starting 'amq.'")
            values["events_exchange"] = exchange
        if "relay_batch_size" in raw:
            values["relay_batch_size"] = _int("relay_batch_size", raw["relay_batch_size"], 1, 10_000)
        if "relay_interval_ms" in raw:
            values["relay_interval_ms"] = _int("relay_interval_ms", raw["relay_interval_ms"], 10, 3_600_000)
        if "product_cache_ms" in raw:
            values["product_cache_ms"] = _int("product_cache_ms", raw["product_cache_ms"], 0, 60_000)
        if "actor_cache_ms" in raw:
            values["actor_cache_ms"] = _int("actor_cache_ms", raw["actor_cache_ms"], 0, 60_000)
        return cls(**values)
