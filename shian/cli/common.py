"""What the command modules share: the consoles, the settings (or a clear error), the
production refusal of test aids, and the way to the bus for `deadletters` and `status`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from shared.settings import SERVICE_NAMES, Settings, get_settings

T = TypeVar("T")

console = Console()
err = Console(stderr=True, soft_wrap=True)

ServiceName = StrEnum("ServiceName", {name: name for name in SERVICE_NAMES})  # type: ignore[misc]


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)


def load_settings() -> Settings:
    """The SHIAN_* settings, or a clear error naming what is wrong with them."""
    from pydantic import ValidationError

    try:
        return get_settings()
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in error.errors()
        )
        fail(f"invalid SHIAN_* settings: {problems}")


def refuse_in_production(settings: Settings, command: str, why: str) -> None:
    """Test aids stop with a clear message in production instead of minting real credentials."""
    if settings.env == "production":
        fail(f"`shian {command}` is refused when SHIAN_ENV=production: {why}")


def configured(settings: Settings, field: str) -> str | None:
    """A setting's value if its SHIAN_* variable was set to something (not left to its default)."""
    value = getattr(settings, field)
    return (value or None) if field in settings.model_fields_set else None


RedisUrlOption = Annotated[
    str | None,
    typer.Option(
        "--redis-url",
        help="Redis to use (default SHIAN_REDIS_URL, else the one a running `shian up` uses).",
        show_default=False,
    ),
]


def bus_settings(redis_url: str | None) -> Settings:
    """Settings pointing at the bus: an explicit URL, SHIAN_REDIS_URL, or a running `shian up`'s."""
    from shian.launcher import read_state

    settings = load_settings()
    if redis_url:
        return settings.model_copy(update={"redis_url": redis_url})
    if not configured(settings, "redis_url"):
        state = read_state(settings.var_dir)
        update: dict[str, Any] = {}
        if state.get("redis_url"):
            update["redis_url"] = state["redis_url"]
        if state.get("stream_prefix") and not configured(settings, "stream_prefix"):
            update["stream_prefix"] = state["stream_prefix"]
        if update:
            return settings.model_copy(update=update)
    return settings


def with_redis(settings: Settings, work: Callable[[Any], Awaitable[T]]) -> T:
    from redis.asyncio import Redis
    from redis.exceptions import RedisError

    async def main() -> T:
        client = Redis.from_url(settings.redis_url, socket_connect_timeout=3, socket_timeout=10)
        try:
            return await work(client)
        finally:
            await client.aclose()

    try:
        return asyncio.run(main())
    except (RedisError, OSError) as error:
        fail(
            f"cannot use Redis at {settings.redis_url}: {error} (is `shian up` running? set SHIAN_REDIS_URL)"
        )
