"""A township cannot probe the county's licence numbers with the import's dry run (hardening
issue, item 11), and still learns what it needs to fix its own ledger."""

from __future__ import annotations

import json

import sqlalchemy as sa

from services.registry.imports.service import OUTSIDE_CLASH
from tests.registry.test_imports import ledger_csv, post
from tests.support.county import HECUN
from tests.support.registry import Registry

PERMIT = {"issued_on": "2024-01-01", "expires_on": "2029-01-01"}


def row(name: str, number: str) -> str:
    return f"{name},餐饮单位,上村,,,,,,,,,{number},2024-01-01,2029-01-01"


def rejections(report: dict) -> dict[int, tuple[str, str]]:
    return {item["row"]: (item["field"], item["reason"]) for item in report["rejected"]}


def test_a_number_held_elsewhere_is_not_told_apart_by_a_dry_run(registry: Registry):
    xishui = registry.register(
        who="xishui", name="河村饭店", village_id=HECUN, food_permit={"number": "JY900", **PERMIT}
    )
    registry.register(name="好味餐馆", food_permit={"number": "JY100", **PERMIT})
    rows = [
        row("新一饭店", "JY900"),
        row("新二饭店", "JY100"),
        row("新三饭店", "JY777"),
        row("新四饭店", "JY777"),
    ]

    audit_lines = registry.counts("audit_log")
    dry = post(registry, ledger_csv(rows), dry_run=True).json()
    assert (dry["accepted"], dry["imported"]) == (2, 0)  # JY900 held in 西水乡: as if it were free
    assert rejections(dry) == {
        3: ("food_permit_number", "JY100 is already registered to 好味餐馆 (上村)"),
        5: ("food_permit_number", "JY777 is used in row 4 too"),
    }
    assert registry.counts("audit_log") == audit_lines  # a dry run writes nothing

    real = post(registry, ledger_csv(rows)).json()
    assert (real["accepted"], real["imported"]) == (1, 1)
    reasons = rejections(real)
    assert reasons[2] == ("food_permit_number", OUTSIDE_CLASH.format(number="JY900"))
    assert not any(word in reasons[2][1] for word in ("西水", "河村", "xishui", "hecun"))
    assert set(reasons) == {2, 3, 5}

    with registry.runtime.db.engine.connect() as connection:
        (detail,) = connection.execute(
            sa.text("SELECT detail FROM audit_log WHERE action = 'ledger.licence_clash'")
        ).scalars()
    clash = json.loads(detail) if isinstance(detail, str) else detail
    assert clash == {"row": 2, "column": "food_permit_number", "number": "JY900", "held_by": xishui["id"]}
