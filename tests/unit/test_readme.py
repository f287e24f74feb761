"""The README documents every endpoint, every event, every command and every setting (every alert's
runbook section: tests/ops/test_deploy.py)."""

from __future__ import annotations

from pathlib import Path

from shared.events import CATALOGUE
from shian.docs import endpoints

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_endpoint_is_in_the_readme():
    missing = [
        f"{method} {path}"
        for _service, method, path, _ in endpoints()
        if f"| {method} | `{path}` |" not in README
    ]
    assert missing == []


def test_every_event_is_in_the_readme():
    missing = [event_type for event_type, _version in CATALOGUE if f"| `{event_type}` |" not in README]
    assert missing == []


def test_every_command_is_in_the_readme():
    from typer.main import get_command

    from shian.cli import app

    commands = get_command(app).commands  # type: ignore[attr-defined]
    assert commands, "the shian app has no commands"
    for name in commands:
        assert f"`shian {name}" in README, name


def test_every_setting_is_in_the_configuration_table():
    from shared.settings import SERVICE_NAMES, Settings

    def documented_as(name: str) -> str:
        """A service's own setting is documented once for all: SHIAN_<SERVICE>_PORT."""
        service, _, rest = name.partition("_")
        return f"<SERVICE>_{rest}" if service in SERVICE_NAMES else name

    section = README.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `SHIAN_")]
    documented = " ".join(rows)
    missing = [
        name for name in Settings.model_fields if f"`SHIAN_{documented_as(name).upper()}`" not in documented
    ]
    assert missing == []
