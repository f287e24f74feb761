"""Benchmark of identity: what verifying its tokens costs every service, and what a sign-in costs.

    python bench/identity.py            # 8,000 verifications per algorithm, 50 sign-ins of each kind
    python bench/identity.py --quick    # a smoke run

1. Verifying one access token, per request of every service: identity's ES256 and an EdDSA one
   through `shared.tokens.JwksVerifier` (keys cached, as a service holds them between JWKS
   fetches), beside the baseline measured in the same run, today's HS256 (`shared.auth.decode_token`).
   The three take turns in small batches (a shared machine's load weighs on all alike); the fastest
   batch is the cost with the least interference.
2. Signing in, end to end through the HTTP app (Redis attempt counters, Argon2id, a session, a
   signed token, the audit line and the events committed) with the shipped Argon2id parameters:
   right password, wrong password, unknown account (checked against a dummy hash), interleaved;
   beside its baseline in the same run, one bare Argon2id verification with the same parameters
   (argon2-cffi alone). Redis is a private server started here on 127.0.0.1 (and stopped after);
   the database a SQLite file in a temporary directory.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from jwt.algorithms import ECAlgorithm, OKPAlgorithm

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # `python bench/identity.py` from a checkout
    sys.path.insert(0, str(REPO_ROOT))

from shared.auth import Role, decode_token, issue_token  # noqa: E402
from shared.settings import Settings  # noqa: E402
from shared.tokens import JwksVerifier  # noqa: E402


def _interleaved(functions: dict[str, Callable[[], Any]], count: int, batches: int = 40) -> dict[str, tuple]:
    """Microseconds per call of each function: (fastest batch, median batch). The functions take
    turns in small batches, so a change of load on a shared machine weighs on all of them alike;
    the fastest batch is the cost with the least interference."""
    per_batch = max(1, count // batches)
    seen: dict[str, list[float]] = {label: [] for label in functions}
    for _ in range(batches):
        for label, function in functions.items():
            started = time.perf_counter()
            for _ in range(per_batch):
                function()
            seen[label].append((time.perf_counter() - started) / per_batch * 1e6)
    return {label: (min(values), statistics.median(values)) for label, values in seen.items()}


def verification(count: int, var_dir: Path) -> dict[str, tuple]:
    now = datetime.now(UTC)
    claims = {
        "iss": "shian-identity",
        "aud": "shian",
        "sub": "7d1f0c2e-8b5e-4a59-9a57-0c1b2f3e4d5a",
        "sid": "s-0123456789abcdef01234567",
        "role": "township",
        "county": "qingyun",
        "township": "qingyun.dongshan",
        "village": None,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=15)).timestamp()),
    }
    ed = ed25519.Ed25519PrivateKey.generate()
    p256 = ec.generate_private_key(ec.SECP256R1())
    jwks = {
        "keys": [
            {**json.loads(OKPAlgorithm.to_jwk(ed.public_key())), "kid": "ed", "alg": "EdDSA"},
            {**json.loads(ECAlgorithm.to_jwk(p256.public_key())), "kid": "ec", "alg": "ES256"},
        ]
    }
    verifier = JwksVerifier("bench", "shian-identity", "shian", fetch=lambda _url: jwks)
    eddsa = jwt.encode(claims, ed, algorithm="EdDSA", headers={"kid": "ed"})
    es256 = jwt.encode(claims, p256, algorithm="ES256", headers={"kid": "ec"})
    settings = Settings(var_dir=var_dir, secret_key="bench-" + "0123456789abcdef" * 3)
    hs256 = issue_token(
        settings, subject="bench", role=Role.township, county_id="qingyun", township_id="qingyun.dongshan"
    )
    return _interleaved(
        {
            "HS256 (baseline: today, shared.auth)": lambda: decode_token(settings, hs256),
            "ES256 (identity, JwksVerifier)": lambda: verifier.verify(es256),
            "EdDSA (JwksVerifier)": lambda: verifier.verify(eddsa),
        },
        count,
    )


def sign_in(count: int, var_dir: Path) -> dict[str, Any]:
    """Sign-in latencies in milliseconds (right password, wrong password, unknown account) and the
    baseline, one bare Argon2id verification with the same parameters, all interleaved."""
    from argon2 import PasswordHasher, Type
    from fastapi.testclient import TestClient

    from services.identity.accounts import service as accounts
    from services.identity.app import SPEC, create
    from services.identity.config import IdentityConfig
    from shared.localredis import start_local_redis
    from shared.migrations import upgrade

    redis = start_local_redis(var_dir / "redis")
    try:
        settings = Settings(
            var_dir=var_dir,
            redis_url=redis.url,
            access_log=False,
            env="test",
            rate_limit_per_minute=0,
        )
        config = IdentityConfig(
            attempts_per_account_per_minute=count * 10, attempts_per_address_per_minute=count * 10
        )
        bare = PasswordHasher(
            time_cost=config.argon2_time_cost,
            memory_cost=config.argon2_memory_kib,
            parallelism=config.argon2_parallelism,
            type=Type.ID,
        )
        upgrade(SPEC.migrations, settings.database_url("identity"))
        with TestClient(create(settings, config=config)) as client:
            identity = client.app.state.identity  # type: ignore[attr-defined]
            with client.app.state.runtime.db.session() as session:  # type: ignore[attr-defined]
                issued = accounts.bootstrap_county(
                    session,
                    identity,
                    county_id="qingyun",
                    name="王主任",
                    mobile="13800000001",
                    now=datetime.now(UTC),
                )
            password = "Qingyun#2026"
            answer = client.post(
                "/password", json={"mobile": "13800000001", "code": issued.code, "password": password}
            )
            assert answer.status_code == 204, answer.text
            stored = bare.hash(password)
            times: dict[str, list[float]] = {
                "bare Argon2id verify (baseline)": [],
                "right password": [],
                "wrong password": [],
                "unknown account": [],
            }
            for _ in range(count):  # interleaved, so that a change of load weighs on all alike
                started = time.perf_counter()
                bare.verify(stored, password)
                times["bare Argon2id verify (baseline)"].append((time.perf_counter() - started) * 1000)
                for label, mobile, given, expected in (
                    ("wrong password", "13800000001", "Wrong#2026x", 401),
                    ("right password", "13800000001", password, 201),  # clears the failure count
                    ("unknown account", "13900000009", password, 401),
                ):
                    started = time.perf_counter()
                    status = client.post("/sessions", json={"mobile": mobile, "password": given}).status_code
                    times[label].append((time.perf_counter() - started) * 1000)
                    assert status == expected, (label, status)
        return {
            "argon2id": identity.hasher.parameters,
            **{label: _percentiles(values) for label, values in times.items()},
        }
    finally:
        redis.stop()


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {"n": len(ordered), "p50_ms": round(statistics.median(ordered), 1), "p99_ms": round(p99, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")
    args = parser.parse_args()
    print(
        f"bench/identity.py: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}, Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory(prefix="shian-identity-bench-") as directory:
        var_dir = Path(directory)
        print("token verification, microseconds per token (fastest batch, median batch):")
        for label, (fastest, median) in verification(400 if args.quick else 8000, var_dir).items():
            print(f"  {label:38} {fastest:8.1f} {median:8.1f}")
        result = sign_in(5 if args.quick else 50, var_dir)
        print(f"sign-in through HTTP ({result.pop('argon2id')}), milliseconds:")
        for label, figures in result.items():
            n, p50, p99 = figures["n"], figures["p50_ms"], figures["p99_ms"]
            print(f"  {label:38} n={n:3}  p50 {p50:7.1f}  p99 {p99:7.1f}")


if __name__ == "__main__":
    main()
