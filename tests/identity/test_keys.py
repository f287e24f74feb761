"""The JWKS, key rotation without downtime, and the keys at rest."""

from __future__ import annotations

import os
import stat
from datetime import timedelta

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from services.identity.keys import service as keys
from shared.clock import ManualClock
from shared.settings import Settings
from tests.support.identity import COUNTY, COUNTY_MOBILE, START, IdentityApp, cheap_config, running_identity


def test_the_jwks_publishes_the_public_key_only(identity: IdentityApp):
    answer = identity.client.get("/.well-known/jwks.json")
    assert answer.status_code == 200
    assert "max-age" in answer.headers["cache-control"]
    (key,) = answer.json()["keys"]
    assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("EC", "P-256", "ES256", "sig")
    assert "d" not in key and {"x", "y"} <= set(key)
    assert "d" not in key
    from jwt import get_unverified_header

    assert key["kid"] == get_unverified_header(identity.tokens["county"])["kid"]


def test_a_rotated_key_is_accepted_and_the_old_one_kept_until_its_tokens_expire(identity: IdentityApp):
    verifier = identity.verifier(refetch_seconds=0)
    before = identity.tokens["county"]
    old_kid = identity.client.get("/.well-known/jwks.json").json()["keys"][0]["kid"]
    verifier.verify(before)
    fetches = verifier.fetches
    identity.advance(minutes=1)
    answer = identity.as_("county", "POST", "/keys/rotate")
    assert answer.status_code == 201, answer.text
    new_kid = answer.json()["kid"]
    assert new_kid != old_kid
    published = [key["kid"] for key in identity.client.get("/.well-known/jwks.json").json()["keys"]]
    assert published == [new_kid, old_kid]
    rotated = identity.events("key.rotated")[-1]["payload"]
    assert rotated["kid"] == new_kid and rotated["previous_kid"] == old_kid
    # a token signed before the rotation still verifies; one signed after makes the verifier
    # fetch the set again (an unknown kid) and verifies too
    verifier.verify(before)
    assert verifier.fetches == fetches
    identity.again("county")
    after = identity.tokens["county"]
    assert verifier.verify(after)["sub"] == identity.ids["county"]
    assert verifier.fetches == fetches + 1
    # once the old key's last token has expired, the old key leaves the set
    identity.advance(seconds=identity.config.access_ttl_seconds + identity.config.clock_skew_seconds)
    published = [key["kid"] for key in identity.client.get("/.well-known/jwks.json").json()["keys"]]
    assert published == [new_kid]
    listed = identity.as_("county", "GET", "/keys")
    assert listed.status_code == 401  # its token is past its life too
    identity.again("county")
    assert [key["kid"] for key in identity.as_("county", "GET", "/keys").json()] == [new_kid]


def test_only_county_and_operations_rotate(offices: IdentityApp):
    assert offices.as_("dongshan", "POST", "/keys/rotate").status_code == 403
    assert offices.as_("dongshan", "GET", "/keys").status_code == 403
    offices.person("ops", "county", name="运维", mobile="13900000001", role="ops")
    assert offices.as_("ops", "POST", "/keys/rotate").status_code == 201


def test_the_rotation_function_for_the_command_line(identity: IdentityApp):
    with identity.runtime.db.session() as session:
        old = keys.current_key(session)
        assert old is not None
        new = keys.rotate(
            session, now=identity.clock.now(), actor="ops:cli", county_id=COUNTY, config=identity.config
        )
        assert new.kid != old.kid
        assert old.retired_at == identity.clock.now()
        assert old.published_until == identity.clock.now() + timedelta(seconds=930)
    assert identity.events("key.rotated")[-1]["actor"] == "ops:cli"


def test_private_keys_are_encrypted_at_rest_when_a_key_encryption_key_is_set(settings: Settings):
    config = cheap_config(key_encryption_key="k" * 40)
    with running_identity(settings, ManualClock(START), config) as identity:
        with identity.runtime.db.engine.connect() as connection:
            row = connection.execute(sa.text("SELECT private_pem, encrypted FROM signing_keys")).one()
        assert row.encrypted and b"ENCRYPTED PRIVATE KEY" in row.private_pem
        assert identity.verifier().verify(identity.tokens["county"])["sub"] == identity.ids["county"]
        path = identity.runtime.db.engine.url.database
        assert path is not None
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_production_refuses_keys_in_the_clear():
    with pytest.raises(ValueError, match="KEY_ENCRYPTION_KEY"):
        cheap_config(env="production")


def test_the_command_line_creates_the_first_county_account_and_rotates(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
):
    from services.identity.cli import app

    monkeypatch.setenv("SHIAN_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("SHIAN_IDENTITY_ARGON2_MEMORY_KIB", "1024")
    monkeypatch.setenv("SHIAN_IDENTITY_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("SHIAN_IDENTITY_ARGON2_PARALLELISM", "1")
    runner = CliRunner()
    first = runner.invoke(
        app, ["first-county-account", "--county", COUNTY, "--name", "王主任", "--mobile", COUNTY_MOBILE]
    )
    assert first.exit_code == 0, first.output
    assert "one-time code" in first.output
    second = runner.invoke(
        app, ["first-county-account", "--county", COUNTY, "--name", "李主任", "--mobile", "13800000009"]
    )
    assert second.exit_code == 2 and "already" in second.output
    rotated = runner.invoke(app, ["rotate-key"])
    assert rotated.exit_code == 0 and "signing with key" in rotated.output


def test_a_rotation_may_change_the_algorithm_and_both_keys_verify(identity: IdentityApp):
    """A deployment that moves to Ed25519 (SHIAN_IDENTITY_SIGNING_ALGORITHM=EdDSA) rotates: tokens of
    the ES256 key still verify while they live, new ones are EdDSA."""
    import jwt

    verifier = identity.verifier(refetch_seconds=0)
    before = identity.tokens["county"]
    identity.config.signing_algorithm = "EdDSA"
    with identity.runtime.db.session() as session:
        keys.rotate(
            session, now=identity.clock.now(), actor="ops:cli", county_id=COUNTY, config=identity.config
        )
    identity.again("county")
    after = identity.tokens["county"]
    assert jwt.get_unverified_header(after)["alg"] == "EdDSA"
    assert {key["kty"] for key in identity.client.get("/.well-known/jwks.json").json()["keys"]} == {
        "EC",
        "OKP",
    }
    assert verifier.verify(before)["sub"] == verifier.verify(after)["sub"]
    assert identity.as_("county", "GET", "/accounts/me").status_code == 200
    assert identity.bearer(before, "GET", "/accounts/me").status_code == 200
