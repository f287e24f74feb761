"""Every metric the Prometheus rules and the Grafana dashboard name exists in the services' real
/metrics output, with the labels they select on; every recorded series they read is recorded.

The system is started and driven first (a business, an incident, a dead letter): prometheus-client
prints a labelled metric's HELP and TYPE lines before its first sample, so a metric that only
appears on errors is still found by name; its labels are checked where samples exist.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import pytest
import yaml

from tests.support.system import DEPLOY, RunningSystem

pytestmark = pytest.mark.e2e

RULES = DEPLOY / "prometheus" / "rules.yml"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "shian.json"

# Series Prometheus makes itself, and labels it adds to every scraped series (prometheus.yml,
# deploy/k8s's scrape config): rules may use them although no service prints them.
PROMETHEUS_SERIES = {"up"}
TARGET_LABELS = {"job", "instance", "service", "namespace", "pod"}
PROMQL_WORDS = {
    "sum", "max", "min", "avg", "count", "by", "without", "rate", "increase", "delta", "deriv",
    "histogram_quantile", "min_over_time", "max_over_time", "vector", "and", "or", "unless", "on",
    "ignoring", "group_left", "group_right", "bool", "offset", "abs", "time", "le",
}  # fmt: skip
IDENTIFIER = re.compile(r"(?<![\w:.\"'])([a-zA-Z_][\w:]*)(\s*\{[^}]*\})?(?![\w\"'(])")
MATCHER = re.compile(r"([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)")


def rule_expressions() -> Iterator[tuple[str, str]]:
    for group in yaml.safe_load(RULES.read_text())["groups"]:
        for rule in group["rules"]:
            yield rule.get("alert") or rule["record"], rule["expr"]


def dashboard_expressions() -> Iterator[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            yield f"panel {panel['title']!r}", target["expr"]
    for variable in dashboard["templating"]["list"]:
        series = re.sub(r"^label_values\((.*),\s*\w+\)$", r"\1", variable["definition"])
        yield f"variable {variable['name']}", series


def selectors(expr: str) -> Iterator[tuple[str, set[str]]]:
    """(series name, label names matched on it) for every series selector in a PromQL expression."""
    expr = re.sub(r'"[^"]*"', '""', expr)  # label values and strings can hold anything
    expr = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", expr)
    for match in IDENTIFIER.finditer(expr):
        name, braces = match.group(1), match.group(2) or ""
        if name in PROMQL_WORDS or re.fullmatch(r"\d+[smhdwy]?", name):
            continue
        yield name, set(MATCHER.findall(braces))


def exposed(text: str) -> dict[str, set[str] | None]:
    """Series names a /metrics page offers -> label names seen on their samples (None: no sample
    yet). A histogram `x` offers x_bucket, x_sum and x_count; a counter's TYPE line names x_total."""
    offered: dict[str, set[str] | None] = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(maxsplit=3)
            suffixes = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("", "_sum", "_count")}
            for suffix in suffixes.get(kind, ("",)):
                offered.setdefault(name + suffix, None)
        elif line and not line.startswith("#"):
            name, _, rest = line.partition("{")
            name = name.split()[0]
            labels = set(re.findall(r'(\w+)="', rest)) if rest else set()
            offered[name] = (offered.get(name) or set()) | labels
    return offered


@pytest.fixture(scope="module")
def offered(running: RunningSystem) -> dict[str, set[str] | None]:
    merged: dict[str, set[str] | None] = {}
    with httpx.Client(timeout=10) as http:
        for name, url in running.system.urls.items():
            answer = http.get(f"{url}/metrics")
            assert answer.status_code == 200, name
            for series, labels in exposed(answer.text).items():
                known = merged.get(series)
                merged[series] = labels if known is None else known | (labels or set())
    return merged


def recorded() -> set[str]:
    return {name for name, _ in rule_expressions() if ":" in name}


def test_the_parser_finds_the_series_of_an_expression() -> None:
    found = dict(
        selectors(
            'sum by (service, le) (rate(shian_http_request_duration_seconds_bucket{route!~"/a|/b"}[5m]))'
            ' / on (service) service:shian_http_requests:rate5m > 0.05 and up{job="shian"} == 0'
        )
    )
    assert found == {
        "shian_http_request_duration_seconds_bucket": {"route"},
        "service:shian_http_requests:rate5m": set(),
        "up": {"job"},
    }


def test_the_drive_made_the_error_metrics_print_samples(offered: dict[str, set[str] | None]) -> None:
    """The dead letter the fixture caused shows as a sample, not only as a TYPE line."""
    assert offered["shian_deadletters_total"] == {"service", "stream"}
    assert offered["shian_http_requests_total"] == {"service", "method", "route", "status"}


@pytest.mark.parametrize("source", ["rules", "dashboard"])
def test_every_metric_named_exists_with_the_labels_used(
    source: str, offered: dict[str, set[str] | None]
) -> None:
    expressions = list(rule_expressions() if source == "rules" else dashboard_expressions())
    assert expressions
    records = recorded()
    missing, bad_labels = [], []
    for where, expr in expressions:
        for name, labels in selectors(expr):
            if ":" in name:
                if name not in records:
                    missing.append(f"{where}: recorded series {name} is not recorded in rules.yml")
                continue
            if name in PROMETHEUS_SERIES:
                continue
            if name not in offered:
                missing.append(f"{where}: {name} is in no service's /metrics")
                continue
            seen = offered[name]
            unknown = labels - TARGET_LABELS - (seen or set())
            if seen is not None and unknown:
                bad_labels.append(f"{where}: {name} has no label {', '.join(sorted(unknown))}")
    assert not missing and not bad_labels, "\n".join(missing + bad_labels)
