"""The acknowledgement-deadline rule table, the grouping rule, time windows and the test clock."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from pydantic import ValidationError

from services.alerts.config import AlertsConfig, OffsetClock
from services.alerts.escalation.models import Condition
from services.alerts.rules import acknowledgement as rules
from services.alerts.rules import grouping
from shared.clock import LOCAL_ZONE, ManualClock


@pytest.mark.parametrize(
    ("level", "minutes", "at_once", "county_reachable"),
    [
        ("I", 60, "county", True),
        ("II", 60, "county", True),
        ("III", 120, "township", True),
        ("IV", 120, "township", True),
        ("below_IV", 120, "township", False),
    ],
)
def test_the_default_deadlines_follow_domain_md(level, minutes, at_once, county_reachable):
    rule = rules.rule_for("qingyun", date(2026, 3, 2))
    assert rules.deadline_minutes(rule, level) == minutes
    assert rules.notified_at_once(rule, level, "county") == (at_once == "county")
    assert rules.notified_at_once(rule, level, "township")
    assert rules.within_reach(rule, level, "county") == county_reachable
    assert rule.chain == ("village", "township", "county")


def test_a_county_rule_replaces_the_default_from_its_effective_date():
    faster = rules.AcknowledgementRule(
        region="qingyun",
        effective_from=date(2026, 7, 1),
        deadline_minutes={"I": 30, "II": 30, "III": 60, "IV": 60, "below_IV": 120},
    )
    table = (*rules.RULE_TABLE, faster)
    assert rules.rule_for("qingyun", date(2026, 6, 30), table).region == "default"
    assert rules.deadline_minutes(rules.rule_for("qingyun", date(2026, 7, 1), table), "IV") == 60
    with pytest.raises(LookupError):
        rules.rule_for("qingyun", date(2000, 1, 1))
    assert grouping.rule_for("qingyun", date(2026, 3, 2)).window_hours == 72


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=LOCAL_ZONE)  # 2 March 2026 is a Monday


@pytest.mark.parametrize(
    ("moment", "working", "night"),
    [
        (local(2, 7, 59), False, False),  # Monday 07:59 belongs to Sunday night, not a workday night
        (local(2, 8, 0), True, False),
        (local(2, 17, 59), True, False),
        (local(2, 18, 0), False, True),
        (local(3, 3, 0), False, True),  # Tuesday 03:00 belongs to Monday night
        (local(7, 10, 0), False, False),  # Saturday
        (local(7, 3, 0), False, True),  # Saturday 03:00 belongs to Friday night
    ],
)
def test_time_windows_in_local_time(moment, working, night):
    workdays = [1, 2, 3, 4, 5]
    assert Condition(days=workdays, start=time(8), end=time(18)).applies(moment) is working
    wraps = Condition(days=workdays, start=time(18), end=time(8))
    assert wraps.applies(moment) is night
    assert Condition(days=workdays, start=time(8), end=time(18), outside=True).applies(moment) is not working


def test_the_offset_clock_is_a_test_aid_refused_in_production():
    base = ManualClock(local(2, 9))
    assert OffsetClock(timedelta(hours=2), base).now() == local(2, 11)
    assert AlertsConfig(env="test", clock_offset_seconds=60).clock().now() > datetime.now(LOCAL_ZONE)
    with pytest.raises(ValidationError, match="refused in production"):
        AlertsConfig(env="production", clock_offset_seconds=60)
    with pytest.raises(ValidationError, match="WEBHOOK_SECRET"):
        AlertsConfig(env="test", webhook_url="http://127.0.0.1:1/hook")


def test_acknowledgement_links_in_production_need_https_and_a_strong_key():
    strong = "Vq7#pL2m" + "xR9$kT4w" + "Zb6!nY3c" + "Hd8&sF5j"
    with pytest.raises(ValueError, match="SHIAN_ALERTS_ACK_LINK_KEY is not set"):
        AlertsConfig(env="production", public_url="https://alerts.qingyun.gov.cn")
    with pytest.raises(ValueError, match="SHIAN_ALERTS_ACK_LINK_KEY"):
        AlertsConfig(
            env="production", public_url="https://alerts.qingyun.gov.cn", ack_link_key="changeme-please"
        )
    with pytest.raises(ValueError, match="must be https"):
        AlertsConfig(env="production", public_url="http://alerts.qingyun.gov.cn", ack_link_key=strong)
    with pytest.raises(ValueError) as refused:
        AlertsConfig(env="production", public_url="https://a.cn", ack_link_key="changeme-please")
    assert "changeme-please" not in str(refused.value)  # a refused key is not printed back
    AlertsConfig(env="production", public_url="https://alerts.qingyun.gov.cn", ack_link_key=strong)
    AlertsConfig(env="production")  # no public URL: messages carry no link, nothing to sign


def test_a_claim_outlasts_the_longest_send():
    config = AlertsConfig(
        env="test", webhook_max_attempts=10, webhook_timeout_seconds=5, webhook_backoff_seconds=0.5
    )
    assert config.longest_send().total_seconds() == 10 * 5 + 0.5 * 511
