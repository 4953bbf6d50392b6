"""Schema management for the CLI, which may not import adapters itself."""

from __future__ import annotations

from marketcore.adapters.sqlalchemy.migrate import upgrade
from marketcore.bootstrap.settings import Settings


def migrate(settings: Settings) -> None:
    if not settings.database_url.startswith("memory"):
        upgrade(settings.database_url)
