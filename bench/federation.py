"""What a province's token costs a service: `python bench/federation.py [--quick]`.

Verifying one bearer token into the services' `Principal`, keys cached (as a service holds them
between fetches), in the same run and interleaved in small batches so that the shared machine's
load weighs on all alike:

* baseline: identity's ES256 access token (`shared.tokens.JwksVerifier` + `principal_of`);
* a province's RS256 access token through `shared.federation.OidcVerifier` (RSA-2048) with its
  claim mapping (a nested role list, a division-code map, the place looked up in memory);
* the same with an ES256 province key;
* refusing a province token whose signature was tampered with (what a flood of forgeries costs).

Prints microseconds per token: the fastest batch (the cost with the least interference) and the
median batch.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from shared.auth import PlaceFacts
from shared.federation import ClaimMapping, OidcVerifier
from shared.tokens import InvalidToken, JwksVerifier, principal_of

ISSUER = "https://sso.province.example/realms/food"
PLACES = {
    "qingyun": PlaceFacts("county", "qingyun", None),
    "qingyun.dongshan": PlaceFacts("township", "qingyun", "qingyun"),
}


def interleaved(functions: dict[str, Callable[[], Any]], count: int, batches: int = 40) -> dict[str, tuple]:
    per_batch = max(1, count // batches)
    seen: dict[str, list[float]] = {label: [] for label in functions}
    for _ in range(batches):
        for label, function in functions.items():
            began = time.perf_counter()
            for _ in range(per_batch):
                function()
            seen[label].append((time.perf_counter() - began) / per_batch * 1e6)
    return {label: (min(times), statistics.median(times)) for label, times in seen.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run (fewer tokens)")
    count = 400 if parser.parse_args().quick else 8000
    now = int(time.time())

    identity_key = ec.generate_private_key(ec.SECP256R1())
    identity_jwks = {
        "keys": [{**json.loads(ECAlgorithm.to_jwk(identity_key.public_key())), "kid": "i1", "alg": "ES256"}]
    }
    identity = JwksVerifier("jwks", "shian-identity", "shian", fetch=lambda _url: identity_jwks)
    identity_token = jwt.encode(
        {
            "iss": "shian-identity",
            "aud": "shian",
            "sub": "a-1",
            "sid": "s-1",
            "role": "township",
            "county": "qingyun",
            "township": "qingyun.dongshan",
            "iat": now,
            "exp": now + 3600,
        },
        identity_key,
        algorithm="ES256",
        headers={"kid": "i1"},
    )

    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    province_jwks = {
        "keys": [
            {**json.loads(RSAAlgorithm.to_jwk(rsa_key.public_key())), "kid": "r1", "use": "sig"},
            {**json.loads(ECAlgorithm.to_jwk(ec_key.public_key())), "kid": "e1", "alg": "ES256"},
        ]
    }
    documents = {
        f"{ISSUER}/.well-known/openid-configuration": {"issuer": ISSUER, "jwks_uri": f"{ISSUER}/certs"},
        f"{ISSUER}/certs": province_jwks,
    }
    mapping = ClaimMapping(
        role_claim="realm_access.roles",
        role_map={"spj-township": "township", "spj-county": "county"},
        place_claim="division_code",
        place_map={"331001101": "qingyun.dongshan", "331001": "qingyun"},
    )
    province = OidcVerifier(
        ISSUER,
        "shian-qingyun",
        f"{ISSUER}/.well-known/openid-configuration",
        mapping,
        fetch=documents.__getitem__,
    )
    claims = {
        "iss": ISSUER,
        "aud": ["shian-qingyun", "province-api"],
        "sub": "p-1",
        "iat": now,
        "exp": now + 3600,
        "realm_access": {"roles": ["offline_access", "spj-township"]},
        "division_code": "331001101",
    }
    rs256 = jwt.encode(claims, rsa_key, algorithm="RS256", headers={"kid": "r1"})
    es256 = jwt.encode(claims, ec_key, algorithm="ES256", headers={"kid": "e1"})
    head, body, signature = rs256.split(".")
    tampered = f"{head}.{body}.{signature[:10]}{'A' if signature[10] != 'A' else 'B'}{signature[11:]}"

    def refuse() -> None:
        try:
            province.principal(tampered, PLACES.get)
        except InvalidToken:
            return
        raise AssertionError("a tampered token was taken")

    figures = interleaved(
        {
            "identity ES256 (baseline)": lambda: principal_of(identity.verify(identity_token)),
            "province RS256 + mapping": lambda: province.principal(rs256, PLACES.get),
            "province ES256 + mapping": lambda: province.principal(es256, PLACES.get),
            "province RS256 tampered, refused": refuse,
        },
        count,
    )
    print(f"token verification into a Principal, µs per token ({count} each, interleaved)")
    print(f"{'':36} {'fastest batch':>14} {'median batch':>13}")
    for label, (fastest, median) in figures.items():
        print(f"{label:36} {fastest:14.1f} {median:13.1f}")


if __name__ == "__main__":
    main()
