"""Conformance kits: subclass a contract, provide its fixture, run it against your adapter."""
