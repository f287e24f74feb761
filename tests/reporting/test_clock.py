"""Reporting reads today from the injected clock only: no call in its code takes the system's date
itself (a test's fixed clock would not reach it)."""

from __future__ import annotations

import ast
from pathlib import Path

import services.reporting

ROOT = Path(services.reporting.__file__).parent


def _reads_the_system_date(call: ast.Call) -> bool:
    function = call.func
    if isinstance(function, ast.Name) and function.id == "local_today":
        return not call.args and not call.keywords  # local_today() defaults to the system clock
    if isinstance(function, ast.Attribute) and function.attr in ("today", "now"):
        owner = function.value
        return isinstance(owner, ast.Name) and owner.id in ("date", "datetime") and not call.args
    return False


def test_no_reporting_code_reads_today_without_a_clock():
    found = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in sorted(ROOT.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call) and _reads_the_system_date(node)
    ]
    assert found == []
