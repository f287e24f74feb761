"""Every audited action is an event too; the events reach `shian.identity` through the outbox; a
verifier fed from the stream refuses a revoked session. And the migrations make the models' schema."""

from __future__ import annotations

import time

import pytest
import redis
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from services.identity.app import SPEC
from shared.bus import decode_entry
from shared.events import Envelope
from shared.tokens import RevokedSessions, SessionRevoked
from tests.support.identity import COUNTY_MOBILE, DONGSHAN, IdentityApp


def test_every_audited_action_writes_its_event(offices: IdentityApp):
    issued = offices.person("inspector", "dongshan", name="检查员", mobile="13900000001", role="inspector")
    account = f"/accounts/{issued['account']['id']}"
    offices.sign_in("13900000001", "Wrong#2026x")
    offices.sign_in("13999999999", "Wrong#2026x")
    for _ in range(4):
        offices.sign_in("13900000001", "Wrong#2026x")
    offices.as_("county", "PATCH", account, json={"role": "township", "township_id": DONGSHAN})
    offices.as_("county", "POST", f"{account}/reset")
    offices.as_("county", "POST", f"{account}/disable")
    offices.as_("county", "POST", f"{account}/enable")
    offices.as_("county", "POST", "/keys/rotate")
    offices.as_("county", "DELETE", "/sessions/current")
    event_of_action = {
        "account.created": "account.created",
        "account.role_changed": "account.changed",
        "account.changed": "account.changed",
        "account.disabled": "account.disabled",
        "account.enabled": "account.enabled",
        "account.password_reset": "account.password_reset",
        "account.password_set": "account.password_set",
        "account.locked": "account.locked",
        "signin.succeeded": "signin.succeeded",
        "signin.failed": "signin.failed",
        "session.revoked": "session.revoked",
    }
    actions = [line["action"] for line in offices.audit()]
    assert set(actions) >= set(event_of_action) - {"account.changed"}
    events = [event["type"] for event in offices.events()]
    for action, event_type in event_of_action.items():
        assert actions.count(action) <= events.count(event_type), action
        if action in actions:
            assert event_type in events, action
    assert "key.rotated" in events
    reasons = [event["payload"]["reason"] for event in offices.events("session.revoked")]
    # the reset found no session open: the role change had ended it
    assert reasons == ["account_changed", "signed_out"]


def _stream_events(identity: IdentityApp, wanted: str, *, timeout: float = 10.0) -> list[Envelope]:
    client = redis.Redis.from_url(identity.settings.redis_url)
    stream = identity.settings.stream("identity")
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            envelopes = []
            for _, fields in client.xrange(stream):
                envelopes.append(decode_entry(fields))
            if any(envelope.type == wanted for envelope in envelopes):
                return envelopes
            time.sleep(0.1)
    finally:
        client.close()
    pytest.fail(f"no {wanted} on {stream} within {timeout} s")


def test_a_revocation_reaches_the_stream_and_a_verifier_fed_from_it_refuses_the_session(
    identity: IdentityApp,
):
    pair = identity.sign_in(COUNTY_MOBILE).json()
    verifier_revoked = RevokedSessions(identity.clock)
    verifier = identity.verifier(revoked=verifier_revoked)
    verifier.verify(pair["access_token"])
    assert identity.bearer(pair["access_token"], "DELETE", "/sessions/current").status_code == 204
    envelopes = _stream_events(identity, "session.revoked")
    assert identity.settings.stream("identity").endswith(".identity")
    for envelope in envelopes:
        if envelope.type == "session.revoked":
            verifier_revoked.on_event(envelope.payload)
    with pytest.raises(SessionRevoked):
        verifier.verify(pair["access_token"])
    verifier.verify(identity.tokens["county"])  # the other session goes on
    types = [envelope.type for envelope in envelopes]
    assert types[:3] == ["account.created", "account.password_set", "signin.succeeded"]


def test_the_migrations_make_the_models_schema(identity: IdentityApp):
    with identity.runtime.db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SPEC.metadata)
    assert differences == []


def test_the_migrations_go_down_to_nothing_and_up_again(tmp_path):
    """The first revision writes the infrastructure tables with shared.migrations' steps; its
    downgrade drops them all, and the way up makes the models' schema again."""
    import sqlalchemy as sa
    from alembic import command

    from shared.migrations import alembic_config, upgrade

    url = f"sqlite:///{tmp_path / 'identity.db'}"
    upgrade(SPEC.migrations, url)
    command.downgrade(alembic_config(SPEC.migrations, url), "base")
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            assert sa.inspect(connection).get_table_names() == ["alembic_version"]
        upgrade(SPEC.migrations, url)
        with engine.connect() as connection:
            assert set(sa.inspect(connection).get_table_names()) >= {
                "outbox",
                "inbox",
                "audit_log",
                "idempotency_keys",
                "parked_events",
                "accounts",
            }
            assert compare_metadata(MigrationContext.configure(connection), SPEC.metadata) == []
    finally:
        engine.dispose()
