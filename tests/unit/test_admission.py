"""The admission pieces on their own: the one per-minute counter (its two faces on one count, and
its pause while Redis is away) and the client address behind trusted reverse proxies."""

from __future__ import annotations

import asyncio
import re
import time
import uuid

import pytest

from shared.admission import ForwardedFor, RateCounter, forwarded_client, trusted_networks
from shared.localredis import free_port


def test_the_blocking_and_the_async_face_count_one_count(redis_url: str) -> None:
    counter = RateCounter(redis_url)
    key = f"unit:{uuid.uuid4().hex}"
    try:
        assert counter.count_blocking(key) == 1
        assert asyncio.run(counter.count(key)) == 2
        assert counter.count_blocking(key) == 3
        other = RateCounter(redis_url)  # another replica's counter sees the same count
        assert other.count_blocking(key) == 4
        asyncio.run(other.close())
    finally:
        asyncio.run(counter.close())


def test_a_burst_is_counted_to_the_last_request(redis_url: str) -> None:
    """Three hundred counts at once wait for the counter's few connections: each is counted. (With
    redis-py's default pool, past 100 at once it refused, and the refusal paused the count.)"""
    counter = RateCounter(redis_url)
    key = f"unit:{uuid.uuid4().hex}"

    async def burst() -> list[int]:
        try:
            return list(await asyncio.gather(*(counter.count(key) for _ in range(300))))
        finally:
            await counter.close()

    assert sorted(asyncio.run(burst())) == list(range(1, 301))
    assert counter._paused_until == 0.0


def test_while_redis_is_away_nothing_is_counted_and_no_call_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    counter = RateCounter(f"redis://127.0.0.1:{free_port()}/0")  # nobody listens there
    assert counter.count_blocking("k") == 0  # the failed attempt pauses both faces
    started = time.monotonic()
    assert [counter.count_blocking("k") for _ in range(50)] == [0] * 50
    assert asyncio.run(counter.count("k")) == 0
    assert time.monotonic() - started < 0.5, "paused: no call tries Redis again"
    monkeypatch.setattr(counter, "_paused_until", 0.0)  # the pause is over: it tries again
    assert counter.count_blocking("k") == 0 and counter._paused_until > time.monotonic()


TRUSTED = trusted_networks("10.0.0.0/8, 192.168.1.7, fd00::/8")


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        # no header, or a peer that is no trusted proxy: the peer, whatever it claims
        ("10.0.0.2", [], "10.0.0.2"),
        ("203.0.113.9", ["198.51.100.1"], "203.0.113.9"),
        ("127.0.0.1", ["198.51.100.1"], "127.0.0.1"),
        # one trusted proxy: the address it appended
        ("10.0.0.2", ["198.51.100.1"], "198.51.100.1"),
        # a client that sends its own header: the proxy appends the real peer; left of it is ignored
        ("10.0.0.2", ["1.2.3.4, 198.51.100.1"], "198.51.100.1"),
        ("10.0.0.2", ["1.2.3.4", "198.51.100.1"], "198.51.100.1"),  # two header lines, in order
        # a chain of trusted proxies: the rightmost address that is not one of them
        ("10.0.0.2", ["1.2.3.4, 198.51.100.1, 192.168.1.7, 10.9.9.9"], "198.51.100.1"),
        ("fd00::1", ["2001:db8::5"], "2001:db8::5"),
        # garbage where the proxy's entry should be: the last trusted proxy stands
        ("10.0.0.2", ["198.51.100.1, not-an-address"], "10.0.0.2"),
        ("10.0.0.2", ["198.51.100.1, not-an-address, 10.0.0.3"], "10.0.0.3"),
        # only trusted addresses: the leftmost of them
        ("10.0.0.2", ["10.0.0.3, 10.0.0.4"], "10.0.0.3"),
    ],
)
def test_the_client_is_the_rightmost_address_no_trusted_proxy_wrote(
    peer: str, forwarded: list[str], client: str
) -> None:
    assert forwarded_client(peer, forwarded, TRUSTED) == client


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    assert trusted_networks("") == trusted_networks(" , ") == ()
    assert forwarded_client("10.0.0.2", ["198.51.100.1"], ()) == "10.0.0.2"


def test_a_trusted_proxy_that_is_not_an_address_stops_the_service() -> None:
    with pytest.raises(ValueError, match=re.escape("'10.0.0.300/8' is not an address or a CIDR")):
        trusted_networks("10.0.0.0/8,10.0.0.300/8")


def test_the_middleware_rewrites_the_client_for_what_follows() -> None:
    seen: list[object] = []

    async def app(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        seen.append(scope["client"])

    async def call(peer: str, *headers: tuple[bytes, bytes], trusted: str = "10.0.0.0/8") -> None:
        scope = {"type": "http", "client": (peer, 4000), "headers": list(headers)}
        await ForwardedFor(app, trusted=trusted_networks(trusted))(scope, None, None)  # type: ignore[arg-type]

    asyncio.run(call("10.0.0.2", (b"x-forwarded-for", b"198.51.100.1")))
    asyncio.run(call("203.0.113.9", (b"x-forwarded-for", b"198.51.100.1")))
    asyncio.run(call("10.0.0.2"))
    asyncio.run(call("10.0.0.2", (b"x-forwarded-for", b"198.51.100.1"), trusted=""))
    assert seen == [("198.51.100.1", 0), ("203.0.113.9", 4000), ("10.0.0.2", 4000), ("10.0.0.2", 4000)]
