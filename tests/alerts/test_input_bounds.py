"""Input that used to answer 500: offsets beyond SQLite's 64-bit integers, a naive or out-of-range
time in `/incidents/stats`, an onset out of range. Each is a 422 naming the field, and a rejected
report writes nothing (hardening issue, item 8)."""

from __future__ import annotations

import pytest

from tests.support.alerts import Alerts, incident_body


def loc(response) -> list:  # type: ignore[no-untyped-def]
    assert response.status_code == 422, response.text
    return response.json()["detail"][0]["loc"]


@pytest.mark.parametrize("path", ["/incidents", "/alerts"])
@pytest.mark.parametrize("offset", [2**63, 2**64])
def test_an_offset_beyond_the_database_is_a_422(alerts: Alerts, path: str, offset: int):
    assert loc(alerts.as_("county", "GET", path, params={"offset": offset})) == ["query", "offset"]


@pytest.mark.parametrize("bound", ["since", "until"])
@pytest.mark.parametrize(
    "moment",
    [
        "2026-03-01T00:00:00",  # no zone: compared with aware times, it raised
        "0001-01-01T00:00:00+00:00",
        "9999-12-31T23:59:59+00:00",
    ],
)
def test_stats_need_an_aware_time_in_range(alerts: Alerts, bound: str, moment: str):
    assert loc(alerts.as_("county", "GET", "/incidents/stats", params={bound: moment})) == ["query", bound]


def test_stats_take_an_aware_window(alerts: Alerts):
    alerts.report()
    window = {"since": "2026-03-01T00:00:00+08:00", "until": "2026-03-03T00:00:00+08:00"}
    response = alerts.as_("county", "GET", "/incidents/stats", params=window)
    assert response.status_code == 200, response.text
    assert len(response.json()["incidents"]) == 1


@pytest.mark.parametrize("onset_at", ["0001-01-01T00:00:00+14:00", "2026-03-02T06:00:00"])
def test_an_onset_out_of_range_or_without_zone_is_a_422_and_writes_nothing(alerts: Alerts, onset_at: str):
    before = alerts.counts()
    response = alerts.as_("shangcun", "POST", "/incidents", json=incident_body(onset_at=onset_at))
    assert loc(response) == ["body", "onset_at"]
    assert alerts.counts() == before
