"""Run the schema migrations from code: no ``alembic.ini`` is needed at runtime."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import URL

from marketcore.adapters.sqlalchemy.engine import create_engine_for, normalize_url

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(database_url: str | URL) -> Config:
    """An Alembic config for our migrations; also usable with ``alembic.command`` for autogenerate."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    url = normalize_url(database_url).render_as_string(hide_password=False)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database at ``database_url`` up to ``revision`` in one transaction."""
    config = alembic_config(database_url)
    engine = create_engine_for(database_url)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()
