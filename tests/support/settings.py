"""Settings for tests: quick reclaim and short blocking reads; everything else as shipped."""

from __future__ import annotations

from pathlib import Path

from shared.settings import Settings

TEST_SECRET_KEY = "test-secret-key-" + "0123456789abcdef" * 2  # 48 characters


def make_settings(var_dir: Path, redis_url: str, stream_prefix: str, **overrides: object) -> Settings:
    """Settings for tests: quick reclaim and short blocking reads; everything else as shipped."""
    values: dict[str, object] = {
        "env": "test",
        "var_dir": var_dir,
        "redis_url": redis_url,
        "stream_prefix": stream_prefix,
        "secret_key": TEST_SECRET_KEY,
        "claim_idle_ms": 500,
        "block_ms": 200,
        "relay_poll_seconds": 0.1,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]
