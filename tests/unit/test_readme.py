"""The README documents every endpoint, every event, every command and every alert."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

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

    command = get_command(app)
    for name in command.commands:  # type: ignore[attr-defined]
        assert f"`shian {name}" in README, name


def test_every_alert_has_a_runbook_section_in_the_readme():
    rules = yaml.safe_load((ROOT / "deploy/prometheus/rules.yml").read_text())
    headings = set(re.findall(r"^### (\w+)$", README, flags=re.M))
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"] if "alert" in rule}
    assert alerts - headings == set()
    for group in rules["groups"]:
        for rule in group["rules"]:
            if "alert" in rule:
                assert rule["annotations"]["runbook_url"] == f"README.md#{rule['alert'].lower()}"


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
