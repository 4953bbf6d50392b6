"""Addresses for tests of what happens when a provider cannot be reached."""

from __future__ import annotations

import socket


def closed_address() -> str:
    """An address on this machine where nothing listens (connection refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
