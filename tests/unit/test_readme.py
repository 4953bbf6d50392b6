"""The README's embedding example must keep working."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).parents[2] / "README.md"


def test_the_readme_python_example_runs() -> None:
    text = README.read_text(encoding="utf-8")
    example = re.search(r"```python\n(.*?)```", text, re.S)
    assert example is not None
    code = example.group(1).replace('"sqlite:///shop.db"', '"memory://"')
    assert len(code.splitlines()) <= 20
    exec(compile(code, "README.md", "exec"), {})
