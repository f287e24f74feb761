"""Identity on PostgreSQL (production's database): migrations, sign-in with its row locks, lockout,
refresh reuse and revocation. Skipped when no PostgreSQL is at hand (see tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from shared.clock import ManualClock
from shared.settings import Settings
from tests.support.identity import COUNTY_MOBILE, DONGSHAN, PASSWORD, START, cheap_config, running_identity


def test_the_flows_on_postgres(settings: Settings, pg_database: Callable[[], str]) -> None:
    url = pg_database()
    on_postgres = settings.model_copy(update={"identity_database_url": url})
    with running_identity(on_postgres, ManualClock(START), cheap_config()) as identity:
        assert identity.runtime.db.is_postgres
        issued = identity.person(
            "dongshan", "county", name="东山办", mobile="13800000002", role="township", township_id=DONGSHAN
        )
        for _ in range(5):
            assert identity.sign_in("13800000002", "Wrong#2026x").status_code == 401
        assert identity.sign_in("13800000002").status_code == 401
        assert len(identity.events("account.locked")) == 1
        pair = identity.sign_in(COUNTY_MOBILE, PASSWORD).json()
        again = identity.client.post("/sessions/refresh", json={"refresh_token": pair["refresh_token"]})
        assert again.status_code == 200
        reused = identity.client.post("/sessions/refresh", json={"refresh_token": pair["refresh_token"]})
        assert reused.status_code == 401
        assert identity.events("session.revoked")[-1]["payload"]["reason"] == "refresh_reused"
        disabled = identity.as_("county", "POST", f"/accounts/{issued['account']['id']}/disable")
        assert disabled.status_code == 200
        assert identity.as_("dongshan", "GET", "/accounts/me").status_code == 401
        assert identity.verifier().verify(identity.tokens["county"])["role"] == "county"
        with identity.runtime.db.engine.connect() as connection:
            assert connection.execute(sa.text("SELECT count(*) FROM signing_keys")).scalar_one() == 1
