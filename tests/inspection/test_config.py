"""The inspection service's own settings: read from SHIAN_INSPECTION_* variables, checked at start."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from services.inspection.config import InspectionConfig
from services.inspection.inspections.attachments import FilesystemStore, store_for
from shared.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"
OWN = (
    "SHIAN_INSPECTION_CHECK_SECONDS",
    "SHIAN_INSPECTION_ATTACHMENTS",
    "SHIAN_INSPECTION_S3_ENDPOINT_URL",
    "SHIAN_INSPECTION_S3_ACCESS_KEY_ID",
    "SHIAN_INSPECTION_S3_SECRET_ACCESS_KEY",
    "SHIAN_INSPECTION_S3_REGION",
)


@pytest.fixture(autouse=True)
def unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in OWN:
        monkeypatch.delenv(name, raising=False)


def test_the_settings_come_from_the_service_s_variables(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SHIAN_INSPECTION_CHECK_SECONDS", "5")
    monkeypatch.setenv("SHIAN_INSPECTION_ATTACHMENTS", "s3://evidence/photos")
    monkeypatch.setenv("SHIAN_INSPECTION_S3_REGION", "cn-north-1")
    monkeypatch.setenv("SHIAN_INSPECTION_S3_ENDPOINT_URL", "")  # empty reads as unset
    config = InspectionConfig()
    assert config.check_seconds == 5.0
    assert config.attachments == "s3://evidence/photos"
    assert config.s3_region == "cn-north-1"
    assert config.s3_endpoint_url is None


def test_the_scheduler_checks_every_minute_unless_told_otherwise():
    assert InspectionConfig().check_seconds == 60.0


@pytest.mark.parametrize("seconds", ["0", "-1", "3601"])
def test_a_period_out_of_bounds_is_refused(monkeypatch: pytest.MonkeyPatch, seconds: str):
    monkeypatch.setenv("SHIAN_INSPECTION_CHECK_SECONDS", seconds)
    with pytest.raises(ValidationError, match="check_seconds"):
        InspectionConfig()


def test_photos_are_kept_under_the_var_dir_by_default(tmp_path: Path):
    store = store_for(Settings(var_dir=tmp_path), InspectionConfig())
    assert isinstance(store, FilesystemStore)
    assert store.root == tmp_path / "attachments"


def test_an_unknown_store_is_refused_with_its_variable_named():
    with pytest.raises(ValueError, match="SHIAN_INSPECTION_ATTACHMENTS='ftp://x'"):
        store_for(Settings(), InspectionConfig(attachments="ftp://x"))


def test_every_setting_is_in_the_readme_s_configuration_table():
    section = README.read_text(encoding="utf-8").split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = " ".join(line for line in section.splitlines() if line.startswith("| `SHIAN_INSPECTION_"))
    missing = [
        name
        for name in InspectionConfig.model_fields
        if f"`SHIAN_INSPECTION_{name.upper()}`" not in rows and f"`_{name.upper()}`" not in rows
    ]
    assert missing == []
