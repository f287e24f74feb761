"""Before a service reads a body it knows who sends it and how big it may be, over a real socket.

A request with a body and no valid token is answered 401 before the body is read (50 MB of JSON
used to be parsed first); a body over its limit is answered 413 at once when its length is declared
and as soon as it passes the limit when it is chunked."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx
import pytest

from shared.auth import Role, issue_token
from shared.settings import Settings
from tests.support.service_process import ServiceProcess

pytestmark = pytest.mark.integration


def _exchange(
    port: int, head: str, body_chunks: tuple[bytes, ...] = (), timeout: float = 10.0
) -> tuple[str, float]:
    """Send a request head (and maybe some of its body); the status line and the seconds it took."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        connection.sendall(head.encode("latin-1"))
        for chunk in body_chunks:
            try:
                connection.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
        answer = b""
        try:
            while b"\r\n" not in answer:
                data = connection.recv(4096)
                if not data:
                    break
                answer += data
        except TimeoutError:
            return "", time.monotonic() - started  # no answer yet: the server waits for the body
    return answer.split(b"\r\n", 1)[0].decode(), time.monotonic() - started


def _head(path: str, length: int | None, token: str | None = None, chunked: bool = False) -> str:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    elif length is not None:
        lines.append(f"Content-Length: {length}")
    return "\r\n".join(lines) + "\r\n\r\n"


@pytest.fixture
def registry(settings: Settings, tmp_path: Path):
    process = ServiceProcess("registry", settings, tmp_path / "registry").start()
    token = issue_token(settings, subject="county-office", role=Role.county, county_id="qingyun")
    county = {"id": "qingyun", "name": "青云县", "townships": [{"id": "qingyun.dongshan", "name": "东山镇"}]}
    defined = httpx.put(f"{process.url}/places", json=county, headers={"Authorization": f"Bearer {token}"})
    assert defined.status_code == 200, defined.text
    try:
        yield process
    finally:
        process.kill()


def test_a_body_without_a_token_is_refused_before_it_is_read(registry: ServiceProcess) -> None:
    # 500 KB announced, not a byte of it sent: only an answer that does not wait for the body returns
    status, seconds = _exchange(registry.port, _head("/businesses", 500 * 1024))
    assert status == "HTTP/1.1 401 Unauthorized"
    assert seconds < 5
    status, _ = _exchange(registry.port, _head("/businesses", 500 * 1024, token="forged.token.here"))
    assert status == "HTTP/1.1 401 Unauthorized"
    # 50 MB without a token: refused at once, for its size or its caller, never read
    status, seconds = _exchange(registry.port, _head("/businesses", 50 * 1024 * 1024))
    assert status in ("HTTP/1.1 401 Unauthorized", "HTTP/1.1 413 Request Entity Too Large")
    assert seconds < 5


def test_a_body_over_its_limit_is_refused_with_413(registry: ServiceProcess, settings: Settings) -> None:
    token = issue_token(settings, subject="county-office", role=Role.county, county_id="qingyun")
    status, seconds = _exchange(registry.port, _head("/businesses", 2 * 1024 * 1024, token=token))
    assert status == "HTTP/1.1 413 Request Entity Too Large"
    assert seconds < 5
    # an upload route declares a larger limit (32 MiB): 20 MB is read, 40 MB refused at once
    status, _ = _exchange(
        registry.port, _head("/imports/businesses", 20 * 1024 * 1024, token=token), timeout=2
    )
    assert status == ""
    status, _ = _exchange(registry.port, _head("/imports/businesses", 40 * 1024 * 1024, token=token))
    assert status == "HTTP/1.1 413 Request Entity Too Large"
    chunk = b"x" * 65536
    frames = tuple(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" for _ in range(40))  # 2.5 MB
    status, _ = _exchange(registry.port, _head("/businesses", None, token=token, chunked=True), frames)
    assert status == "HTTP/1.1 413 Request Entity Too Large"
    assert "Traceback" not in registry.log()
