"""Production settings: the signing key and the metrics token must be real secrets, not the
placeholders shipped in deploy/ nor anything else a stranger could guess."""

from __future__ import annotations

import random
import secrets
import string
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from shared.settings import GENERATE_KEY_COMMAND, Settings, estimated_entropy_bits, weak_secret_reason

ROOT = Path(__file__).resolve().parents[2]
STRONG = secrets.token_urlsafe(48)
METRICS = secrets.token_urlsafe(48)
# What deploy/k8s/config.yaml shipped before: 61 characters, accepted as a signing key.
OLD_K8S_PLACEHOLDER = "REPLACE-with-48-random-characters-shared-by-all-four-services"


def production(**values: object) -> Settings:
    return Settings(**{"env": "production", "secret_key": STRONG, "metrics_token": METRICS, **values})


def k8s_secret() -> dict[str, str]:
    documents = yaml.safe_load_all((ROOT / "deploy/k8s/config.yaml").read_text(encoding="utf-8"))
    (secret,) = [doc for doc in documents if doc and doc["kind"] == "Secret"]
    return secret["stringData"]


def test_a_generated_key_and_token_start_production() -> None:
    settings = production()
    assert settings.signing_key() == STRONG
    assert settings.metrics_token == METRICS
    assert settings.public_docs is False


def test_keys_from_the_documented_command_pass() -> None:
    """Deterministic: 20,000 keys like token_urlsafe(48)'s from a seeded generator (a random key
    is refused by chance a few times in a million), and a few real ones."""
    assert GENERATE_KEY_COMMAND == "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
    alphabet = string.ascii_letters + string.digits + "-_"
    generator = random.Random(20261130)
    for _ in range(20_000):
        key = "".join(generator.choices(alphabet, k=64))
        assert weak_secret_reason(key) is None, key
    for _ in range(20):
        key = secrets.token_urlsafe(48)
        assert weak_secret_reason(key) is None, key


@pytest.mark.parametrize(
    "key",
    [
        OLD_K8S_PLACEHOLDER,
        "changeme-changeme-changeme-changeme-changeme",
        "PLACEHOLDER_for_the_signing_key_of_all_services_0000",
        "an-example-key-from-the-docs-with-enough-length-42",
        "my-super-secret-signing-key-for-the-county-service",
        "please-replace-this-value-before-you-deploy-shian",
        "xxx-xxx-xxx-xxx-xxx-xxx-xxx-xxx-xxx-xxx-xxx-xxx",
        "Q7vR2mK9pL4xN8wT3" + "z" * 20 + "A1bC5dE6fG7h",  # a run of one character
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",  # the alphabet in order
        "k2J9x-Qm4P" * 5,  # one short random piece, repeated
    ],
)
def test_placeholders_and_patterns_are_refused_in_production(key: str) -> None:
    assert len(key) >= 32
    with pytest.raises(ValidationError) as raised:
        production(secret_key=key)
    message = str(raised.value)
    assert "SHIAN_SECRET_KEY" in message
    assert GENERATE_KEY_COMMAND in message
    assert key not in message  # an error message never repeats the secret


def test_a_long_key_with_few_distinct_characters_is_refused_as_low_entropy() -> None:
    key = "ab" * 10 + "ba" * 10 + "aabb" * 5  # 60 characters, 1 bit each
    assert estimated_entropy_bits(key) == pytest.approx(60.0)
    with pytest.raises(ValidationError, match="about 60 bits"):
        production(secret_key=key)


def test_entropy_is_estimated_from_the_characters() -> None:
    assert estimated_entropy_bits("") == 0
    assert estimated_entropy_bits("aaaa") == 0
    assert estimated_entropy_bits("abcd") == pytest.approx(8.0)  # 4 characters x 2 bits
    assert estimated_entropy_bits(STRONG) >= 256


def test_a_short_or_missing_key_is_refused_with_the_way_to_make_one() -> None:
    with pytest.raises(ValidationError, match="at least 32 characters") as raised:
        production(secret_key=secrets.token_urlsafe(16))
    assert GENERATE_KEY_COMMAND in str(raised.value)
    with pytest.raises(ValidationError, match="SHIAN_SECRET_KEY must be set") as raised:
        production(secret_key=None)
    assert GENERATE_KEY_COMMAND in str(raised.value)


def test_the_placeholders_shipped_in_deploy_are_refused() -> None:
    secret = k8s_secret()
    with pytest.raises(ValidationError, match=r"SHIAN_SECRET_KEY .*placeholder"):
        production(secret_key=secret["SHIAN_SECRET_KEY"])
    with pytest.raises(ValidationError, match=r"SHIAN_METRICS_TOKEN .*placeholder"):
        production(metrics_token=secret["SHIAN_METRICS_TOKEN"])


def test_production_needs_a_strong_metrics_token_distinct_from_the_key() -> None:
    with pytest.raises(ValidationError, match="SHIAN_METRICS_TOKEN must be set"):
        production(metrics_token=None)
    with pytest.raises(ValidationError, match=r"SHIAN_METRICS_TOKEN .*at least 32 characters"):
        production(metrics_token="metrics")
    with pytest.raises(ValidationError, match="SHIAN_METRICS_TOKEN must differ from SHIAN_SECRET_KEY"):
        production(metrics_token=STRONG)


def test_development_and_test_accept_simple_keys_and_no_metrics_token(tmp_path: Path) -> None:
    for env in ("development", "test"):
        settings = Settings(env=env, var_dir=tmp_path, secret_key="changeme", metrics_token=None)
        assert settings.signing_key() == "changeme"
        assert settings.metrics_token is None


def test_metrics_token_and_public_docs_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIAN_ENV", "production")
    monkeypatch.setenv("SHIAN_SECRET_KEY", STRONG)
    monkeypatch.setenv("SHIAN_METRICS_TOKEN", METRICS)
    monkeypatch.setenv("SHIAN_PUBLIC_DOCS", "true")
    settings = Settings()
    assert (settings.metrics_token, settings.public_docs) == (METRICS, True)


def test_the_development_key_and_var_directory_are_private(tmp_path: Path) -> None:
    var = tmp_path / "var"
    Settings(env="development", var_dir=var).signing_key()
    assert (var / "dev-secret.key").stat().st_mode & 0o777 == 0o600
    assert var.stat().st_mode & 0o777 == 0o700
