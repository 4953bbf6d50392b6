"""The reference Litestar HTTP entrypoint."""

from marketcore.entrypoints.http.app import app_from_env, create_app

__all__ = ["app_from_env", "create_app"]
