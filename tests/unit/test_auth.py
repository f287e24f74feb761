"""Tokens and place scoping."""

from datetime import timedelta

import jwt
import pytest
from pydantic import ValidationError

from shared.auth import Principal, Role, decode_token, issue_token
from shared.settings import Settings

SECRET = "unit-test-secret-key-that-is-long-enough-0123456789"


@pytest.fixture
def settings(tmp_path):
    return Settings(env="test", var_dir=tmp_path, secret_key=SECRET)


def test_a_token_round_trips_its_role_and_place(settings):
    token = issue_token(settings, subject="li", role=Role.township, county_id="qy", township_id="qy.ds")
    principal = decode_token(settings, token)
    assert principal == Principal(subject="li", role=Role.township, county_id="qy", township_id="qy.ds")
    assert principal.actor == "township:li"


def test_an_expired_token_is_refused(settings):
    token = issue_token(settings, subject="li", role=Role.county, county_id="qy", ttl=timedelta(seconds=-1))
    with pytest.raises(jwt.ExpiredSignatureError):
        decode_token(settings, token)


def test_a_token_signed_with_another_key_is_refused(settings, tmp_path):
    other = Settings(env="test", var_dir=tmp_path, secret_key="another-secret-key-" + "x" * 40)
    token = issue_token(other, subject="li", role=Role.county, county_id="qy")
    with pytest.raises(jwt.InvalidSignatureError):
        decode_token(settings, token)


def test_roles_need_their_place(settings):
    with pytest.raises(ValueError, match="township"):
        issue_token(settings, subject="li", role=Role.township, county_id="qy")
    with pytest.raises(ValueError, match="village"):
        issue_token(settings, subject="li", role=Role.village, county_id="qy", township_id="qy.ds")


@pytest.mark.parametrize(
    ("principal", "place", "visible"),
    [
        (Principal("c", Role.county, "qy"), ("qy", "qy.ds", None), True),
        (Principal("c", Role.county, "qy"), ("other", "other.t", None), False),
        (Principal("t", Role.township, "qy", "qy.ds"), ("qy", "qy.ds", None), True),
        (Principal("t", Role.township, "qy", "qy.ds"), ("qy", "qy.xs", None), False),
        (Principal("i", Role.inspector, "qy", "qy.ds"), ("qy", "qy.ds", "qy.ds.v1"), True),
        (Principal("v", Role.village, "qy", "qy.ds", "qy.ds.v1"), ("qy", "qy.ds", "qy.ds.v1"), True),
        (Principal("v", Role.village, "qy", "qy.ds", "qy.ds.v1"), ("qy", "qy.ds", "qy.ds.v2"), False),
        (Principal("v", Role.village, "qy", "qy.ds", "qy.ds.v1"), ("qy", "qy.ds", None), False),
        (Principal("o", Role.ops, "qy"), ("qy", "qy.ds", None), False),
    ],
)
def test_scope(principal, place, visible):
    county, township, village = place
    assert principal.sees(county_id=county, township_id=township, village_id=village) is visible


def test_production_refuses_to_start_without_a_secret(tmp_path):
    with pytest.raises(ValidationError, match="SHIAN_SECRET_KEY"):
        Settings(env="production", var_dir=tmp_path, secret_key=None)
    with pytest.raises(ValidationError, match="32 characters"):
        Settings(env="production", var_dir=tmp_path, secret_key="short")


def test_development_keeps_one_generated_key_for_all_services(tmp_path):
    first = Settings(env="development", var_dir=tmp_path).signing_key()
    second = Settings(env="development", var_dir=tmp_path).signing_key()
    assert first == second
    assert len(first) >= 32
