"""Benchmarks for marketcore (issue 3). Run them all with ``python -m bench [--quick]``.

Never part of the test suite: they take minutes and their numbers depend on the machine.
"""
