"""marketcore: the framework-free core of a B2B2C marketplace."""

from marketcore.bootstrap import Marketplace, Settings, create_marketplace

__all__ = ["Marketplace", "Settings", "create_marketplace"]
