"""Demo accounts for each role of the demo county: they sign in; refused in production."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from services.identity.demo import ensure_demo_accounts
from tests.support.identity import IdentityApp

DEMO_COUNTY = Path(__file__).resolve().parents[2] / "services" / "registry" / "data" / "demo_county.yaml"


def test_every_demo_account_signs_in_with_its_role_and_place(settings, tmp_path):
    from shared.clock import ManualClock
    from tests.support.identity import START, cheap_config, running_identity

    definition = yaml.safe_load(DEMO_COUNTY.read_text(encoding="utf-8"))
    with running_identity(settings, ManualClock(START), cheap_config(), county=False) as identity:
        with identity.runtime.db.session() as session:
            made = ensure_demo_accounts(session, identity.identity, definition, now=identity.clock.now())
        assert {account.role for account in made} == {"county", "ops", "township", "inspector", "village"}
        assert len(made) == 2 + 2 * 2 + 7
        assert len({account.mobile for account in made}) == len(made)
        verifier = identity.verifier()
        for account in made:
            answer = identity.sign_in(account.mobile, account.password)
            assert answer.status_code == 201, (account, answer.text)
            claims = verifier.verify(answer.json()["access_token"])
            assert (claims["role"], claims["township"], claims["village"]) == (
                account.role,
                account.township_id,
                account.village_id,
            )
        shangcun = next(account for account in made if account.village_id == "qingyun.dongshan.shangcun")
        assert shangcun.name == "李明"
        created = identity.events("account.created")
        assert len(created) == len(made) and {event["payload"]["status"] for event in created} == {"active"}
        with identity.runtime.db.session() as session:  # a second run changes nothing
            ensure_demo_accounts(session, identity.identity, definition, now=identity.clock.now())
        assert len(identity.events("account.created")) == len(made)


def test_demo_accounts_are_refused_in_production(identity: IdentityApp):
    identity.config.env = "production"
    with identity.runtime.db.session() as session, pytest.raises(RuntimeError, match="production"):
        ensure_demo_accounts(
            session, identity.identity, {"id": "qingyun", "townships": []}, now=identity.clock.now()
        )


def test_the_command_line_makes_the_demo_accounts(settings, monkeypatch: pytest.MonkeyPatch):
    from typer.testing import CliRunner

    from services.identity.cli import app

    monkeypatch.setenv("SHIAN_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("SHIAN_IDENTITY_ARGON2_MEMORY_KIB", "1024")
    monkeypatch.setenv("SHIAN_IDENTITY_ARGON2_TIME_COST", "1")
    result = CliRunner().invoke(app, ["demo-accounts"])
    assert result.exit_code == 0, result.output
    assert "13800000001" in result.output and "Qingyun#2026" in result.output
