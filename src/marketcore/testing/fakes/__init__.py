"""Local servers that speak payment providers' wire formats, for tests."""
