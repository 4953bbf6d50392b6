"""Wiring: the only package that imports adapters."""

from marketcore.bootstrap.marketplace import Marketplace, create_marketplace
from marketcore.bootstrap.settings import InvalidSettings, Settings

__all__ = ["InvalidSettings", "Marketplace", "Settings", "create_marketplace"]
