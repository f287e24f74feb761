"""Fixtures of the identity tests: the identity app (tests/support/identity.py) with a first county
account signed in, and township offices."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.clock import ManualClock
from shared.settings import Settings
from tests.support.identity import DONGSHAN, START, XISHUI, IdentityApp, cheap_config, running_identity


@pytest.fixture
def identity(settings: Settings) -> Iterator[IdentityApp]:
    with running_identity(settings, ManualClock(START), cheap_config()) as app:
        yield app


@pytest.fixture
def offices(identity: IdentityApp) -> IdentityApp:
    """The county plus the Dongshan and Xishui township offices, signed in."""
    identity.person(
        "dongshan", "county", name="东山办", mobile="13800000002", role="township", township_id=DONGSHAN
    )
    identity.person(
        "xishui", "county", name="西水办", mobile="13800000003", role="township", township_id=XISHUI
    )
    return identity
