"""The services stay independent: none imports another, and the common library imports none.

A service talks to another only through the events of the catalogue (shared.catalogue) and, for
the web app, through HTTP. An import across that line would couple their releases and databases.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(
    path.name for path in (ROOT / "services").iterdir() if (path / "__init__.py").exists() and path.is_dir()
)


def imported_modules(folder: Path) -> list[tuple[Path, str]]:
    found = []
    for source in folder.rglob("*.py"):
        tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found += [(source, alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found += [(source, node.module)]
    return found


def test_there_are_services_to_check():
    assert {"registry", "inspection", "alerts", "reporting"} <= set(SERVICES)


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_imports_no_other_service(service: str):
    crossings = [
        f"{source.relative_to(ROOT)} imports {module}"
        for source, module in imported_modules(ROOT / "services" / service)
        if module.startswith("services.") and module.split(".")[1] != service
    ]
    assert crossings == []


def test_the_common_library_imports_no_service():
    crossings = [
        f"{source.relative_to(ROOT)} imports {module}"
        for source, module in imported_modules(ROOT / "shared")
        if module == "services" or module.startswith("services.")
    ]
    assert crossings == []
