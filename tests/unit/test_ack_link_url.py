"""`shian up` points alerts' acknowledgement links at the web app (phones reach it only), outside
production and only when SHIAN_ALERTS_PUBLIC_URL is not set; alerts then signs the links with a
key derived from the development signing key, which production refuses to do without its own."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from services.alerts.config import AlertsConfig
from shian.launcher import System


def test_links_lead_to_the_web_app_in_development(tmp_path: Path):
    system = System(
        var_dir=tmp_path / "var", ports={"web": 18000, "alerts": 18003}, env={"SHIAN_ENV": "development"}
    )
    system.env.pop("SHIAN_ALERTS_PUBLIC_URL", None)
    system.link_acknowledgements_to_web()
    assert system.env["SHIAN_ALERTS_PUBLIC_URL"] == system.urls["web"]
    assert system.urls["web"].endswith(":18000")
    config = AlertsConfig(env="development", public_url=system.env["SHIAN_ALERTS_PUBLIC_URL"])
    key = config.link_key(system.settings)  # no SHIAN_ALERTS_ACK_LINK_KEY: derived, and stable
    assert len(key) == 32 and key == config.link_key(system.settings)


def test_a_configured_url_is_kept(tmp_path: Path):
    chosen = "https://shian.qingyun.gov.cn"
    system = System(
        var_dir=tmp_path / "var", env={"SHIAN_ENV": "development", "SHIAN_ALERTS_PUBLIC_URL": chosen}
    )
    system.link_acknowledgements_to_web()
    assert system.env["SHIAN_ALERTS_PUBLIC_URL"] == chosen


def test_nothing_is_chosen_in_production_or_without_the_web(tmp_path: Path):
    production = System(
        var_dir=tmp_path / "prod",
        env={
            "SHIAN_ENV": "production",
            "SHIAN_SECRET_KEY": secrets.token_urlsafe(48),
            "SHIAN_METRICS_TOKEN": secrets.token_urlsafe(32),
        },
    )
    production.env.pop("SHIAN_ALERTS_PUBLIC_URL", None)
    production.link_acknowledgements_to_web()
    assert "SHIAN_ALERTS_PUBLIC_URL" not in production.env
    with pytest.raises(ValueError, match="SHIAN_ALERTS_ACK_LINK_KEY is not set"):
        AlertsConfig(env="production", public_url="https://shian.qingyun.gov.cn")

    alone = System(var_dir=tmp_path / "alone", services=["alerts"], env={"SHIAN_ENV": "development"})
    alone.env.pop("SHIAN_ALERTS_PUBLIC_URL", None)
    alone.link_acknowledgements_to_web()
    assert "SHIAN_ALERTS_PUBLIC_URL" not in alone.env
