"""Checklist templates (日常监督检查要点表), shipped as data under `data/`: one YAML file per kind
and version, plus `kinds.yaml` mapping business kinds to checklists. A template takes effect on its
date; an inspection uses the newest version in force on its day unless it names one."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

import yaml

DATA = Path(__file__).parent / "data"


@dataclass(frozen=True)
class ChecklistItem:
    code: str
    text: str
    key: bool
    section: str

    @property
    def severity(self) -> Literal["key", "general"]:
        return "key" if self.key else "general"


@dataclass(frozen=True)
class ChecklistTemplate:
    kind: str
    version: int
    effective_from: date
    title: str
    minimum_items: int
    items: tuple[ChecklistItem, ...]

    def item(self, code: str) -> ChecklistItem | None:
        return self._by_code().get(code)

    @functools.cache  # noqa: B019 (templates are immutable and few)
    def _by_code(self) -> dict[str, ChecklistItem]:
        return {item.code: item for item in self.items}


def _parse(raw: dict) -> ChecklistTemplate:
    items = tuple(ChecklistItem(**item) for item in raw["items"])
    codes = [item.code for item in items]
    if len(set(codes)) != len(codes):
        raise ValueError(f"checklist {raw['kind']} v{raw['version']} repeats an item code")
    if not 0 < raw["minimum_items"] <= len(items):
        raise ValueError(f"checklist {raw['kind']} v{raw['version']}: minimum_items out of range")
    return ChecklistTemplate(
        kind=raw["kind"],
        version=int(raw["version"]),
        effective_from=raw["effective_from"],
        title=raw["title"],
        minimum_items=int(raw["minimum_items"]),
        items=items,
    )


@functools.cache
def all_templates() -> tuple[ChecklistTemplate, ...]:
    templates = []
    for path in sorted(DATA.glob("*.v*.yaml")):
        templates.append(_parse(yaml.safe_load(path.read_text(encoding="utf-8"))))
    return tuple(sorted(templates, key=lambda t: (t.kind, t.version)))


@functools.cache
def kind_map() -> dict[str, str]:
    """Business kind -> checklist kind."""
    raw = yaml.safe_load((DATA / "kinds.yaml").read_text(encoding="utf-8"))
    return {business_kind: checklist for checklist, kinds in raw.items() for business_kind in kinds}


def checklist_kind_for(business_kind: str) -> str:
    return kind_map().get(business_kind, kind_map()["other"])


def versions(kind: str) -> Sequence[ChecklistTemplate]:
    return [template for template in all_templates() if template.kind == kind]


def template_for(kind: str, *, on: date, version: int | None = None) -> ChecklistTemplate | None:
    """The named version, or the newest in force on the day; None if there is none."""
    candidates = versions(kind)
    if version is not None:
        return next((t for t in candidates if t.version == version and t.effective_from <= on), None)
    in_force = [t for t in candidates if t.effective_from <= on]
    return max(in_force, key=lambda t: t.version) if in_force else None
