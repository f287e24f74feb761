"""`services/` holds the four services and nothing else; the system's tooling lives in `shian/`."""

from __future__ import annotations

import tomllib
from pathlib import Path

from shared.settings import SERVICE_NAMES

ROOT = Path(__file__).resolve().parents[2]


def test_services_holds_only_the_four_services() -> None:
    entries = {path.name for path in (ROOT / "services").iterdir() if path.name != "__pycache__"}
    assert entries == {*SERVICE_NAMES, "__init__.py"}


def test_the_shian_command_is_the_tooling_package() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["scripts"] == {"shian": "shian.cli:main"}
