"""The figures equal the records: a known county is built through the other services' APIs, then
reporting's figures are compared with what those services list, and with their own drill-downs."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from tests.support.county import COUNTY, DONGSHAN, SHANGCUN, XISHUI
from tests.support.reporting import Known


def _all(known: Known, service: str, url: str, who: str, **params: Any) -> list[dict[str, Any]]:
    body = known.api(service, "GET", url, who, params={"limit": 200, **params})
    return body["items"] if isinstance(body, dict) else body


def test_every_figure_equals_the_records_of_the_services_that_own_them(known: Known):
    stats = known.stats(DONGSHAN, "dongshan")
    figures = {key: figure["value"] for key, figure in stats["figures"].items()}

    def groups(key: str) -> dict[str, float]:
        return {item["group"]: item["value"] for item in stats["figures"][key]["groups"] if item["value"]}

    businesses = _all(known, "registry", "/businesses", "dongshan")
    assert figures["businesses.registered"] == len(businesses) == 3
    assert groups("businesses.registered") == Counter(b["kind"] for b in businesses)
    assert groups("businesses.by_status") == Counter(b["status"] for b in businesses)

    permits = [
        lic
        for b in businesses
        for lic in known.api("registry", "GET", f"/businesses/{b['id']}", "dongshan")["licences"]
    ]
    today = known.today
    assert figures["licences.expired"] == sum(
        date.fromisoformat(lic["expires_on"]) < today for lic in permits
    )
    assert figures["licences.expiring"] == sum(
        today <= date.fromisoformat(lic["expires_on"]) <= date.fromordinal(today.toordinal() + 30)
        for lic in permits
    )
    assert figures["licences.expiring"] == 1  # the restaurant's permit, ten days from now
    assert figures["licences.missing_permit"] == sum(
        not any(
            lic["kind"] == "food_permit"
            for lic in known.api("registry", "GET", f"/businesses/{b['id']}", "dongshan")["licences"]
        )
        for b in businesses
    )
    staff = [
        s
        for b in businesses
        for s in known.api("registry", "GET", f"/businesses/{b['id']}/staff", "dongshan")
    ]
    states = Counter(s["certificate_state"] for s in staff)
    assert figures["certificates.expired"] == states["expired"] == 1
    assert figures["certificates.valid"] == states["valid"] + states["expiring"] == 1

    inspections = _all(known, "inspection", "/inspections", "dongshan")
    assert figures["inspections.total"] == len(inspections) == 3
    assert groups("inspections.total") == Counter(i["kind"] for i in inspections)
    assert groups("inspections.by_outcome") == Counter(i["outcome"] for i in inspections)
    assert figures["inspections.businesses"] == len({i["business_id"] for i in inspections})
    assert figures["problems.found"] == 1

    orders = _all(known, "inspection", "/rectifications", "dongshan")
    assert figures["problems.ordered"] == len(orders) == 1
    assert figures["problems.open"] == len([o for o in orders if o["status"] == "open"])

    coverage = known.api("inspection", "GET", "/coverage", "dongshan")["townships"]
    [ours] = [row for row in coverage if row["township_id"] == DONGSHAN]
    assert figures["coverage.registered"] == ours["registered"]
    assert figures["coverage.graded"] == ours["graded"]
    assert stats["coverage"]["ratio"] == ours["ratio"]

    [campaign] = stats["campaigns"]
    progress = known.api("inspection", "GET", f"/campaigns/{campaign['campaign_id']}/progress", "dongshan")
    [row] = [item for item in progress["townships"] if item["township_id"] == DONGSHAN]
    assert (campaign["done"], campaign["target"]) == (row["done"], row["target"]) == (1, 2)

    complaints = _all(known, "inspection", "/complaints", "dongshan")
    assert figures["complaints.received"] == len(complaints) == 1
    assert figures["complaints.closed"] == len([c for c in complaints if c["status"] == "closed"]) == 1

    incidents = known.api("alerts", "GET", "/incidents", "dongshan", params={"state": "all"})["items"]
    assert figures["incidents.reported"] == len(incidents) == 1
    assert groups("incidents.reported") == Counter(i["level"] for i in incidents)
    assert figures["incidents.ill"] == sum(i["ill_count"] for i in incidents)
    assert figures["incidents.closed"] == len([i for i in incidents if i["status"] == "closed"])
    assert figures["incidents.acknowledged"] == 1

    banquets = _all(known, "registry", "/banquets", "dongshan")
    assert figures["banquets.filed"] == len(banquets) == 1
    assert figures["banquets.people"] == sum(b["people"] for b in banquets)
    assert figures["banquets.guidance_due"] == 1
    letters = known.api("registry", "GET", "/letters", "dongshan")
    assert figures["letters.signed"] == len(letters) == 2

    publicity = known.api("reporting", "GET", "/activities/publicity", "dongshan")["items"]
    for column in ("banners", "boards", "leaflets", "people_consulted"):
        assert figures[f"publicity.{column}"] == sum(p[column] for p in publicity)
    assert figures["publicity.leaflets"] == 800
    trainings = known.api("reporting", "GET", "/activities/trainings", "dongshan")["items"]
    assert figures["trainings.attendees"] == sum(t["attendees"] for t in trainings) == 12
    assessments = known.api("reporting", "GET", "/activities/assessments", "dongshan")
    assert figures["assessments.average_score"] == sum(a["score"] for a in assessments) / len(assessments)


def test_every_figure_links_to_exactly_the_records_it_counts(known: Known):
    stats = known.stats(DONGSHAN, "dongshan")
    client, headers = known.county.reporting, known.county.headers("dongshan")
    checked = 0
    for key, figure in stats["figures"].items():
        links = [(figure["link"], figure["value"])] + [(g["link"], g["value"]) for g in figure["groups"]]
        for link, value in links:
            page = client.get(f"{link}&limit=1000", headers=headers)
            assert page.status_code == 200, (link, page.text)
            body = page.json()
            if key.endswith(("average_score", "minutes_to_acknowledge", "hours_to_close")):
                continue  # an average: its link lists the records it averages over
            column = {
                "incidents.ill": "ill_count",
                "incidents.deaths": "death_count",
                "banquets.people": "people",
                "trainings.attendees": "attendees",
            }.get(key) or (
                key.split(".")[1] if key.startswith("publicity.") and key != "publicity.events" else None
            )
            total = sum(record[column] for record in body["records"]) if column else body["total"]
            assert total == value, (key, link)
            checked += 1
    assert checked > 60


def test_places_add_up_and_are_scoped(known: Known):
    county = known.stats(COUNTY, "county")["figures"]
    dongshan = known.stats(DONGSHAN, "county")["figures"]
    xishui = known.stats(XISHUI, "county")["figures"]
    for key in ("businesses.registered", "inspections.total", "incidents.reported", "publicity.leaflets"):
        assert county[key]["value"] == dongshan[key]["value"] + xishui[key]["value"]
    assert xishui["incidents.reported"]["value"] == 1
    village = known.stats(SHANGCUN, "dongshan")["figures"]
    assert village["businesses.registered"]["value"] == 2  # the restaurant and the noodle shop
    assert village["inspections.total"]["value"] == 2

    client, period = known.county.reporting, known.period.query()
    assert (
        client.get(
            f"/statistics/{DONGSHAN}", params=period, headers=known.county.headers("xishui")
        ).status_code
        == 404
    )
    assert (
        client.get(
            f"/statistics/{COUNTY}", params=period, headers=known.county.headers("dongshan")
        ).status_code
        == 404
    )
    assert (
        client.get(
            f"/statistics/{DONGSHAN}", params=period, headers=known.county.headers("shangcun")
        ).status_code
        == 403
    )
    assert (
        client.get(f"/statistics/{DONGSHAN}", params=period, headers=known.county.headers("ops")).status_code
        == 403
    )
    assert client.get(f"/statistics/{DONGSHAN}", params=period).status_code == 401
    assert (
        client.get(
            "/statistics/qingyun.atlantis", params=period, headers=known.county.headers("county")
        ).status_code
        == 404
    )
    link = known.stats(DONGSHAN, "dongshan")["figures"]["inspections.total"]["link"]
    assert client.get(link, headers=known.county.headers("xishui")).status_code == 404


def test_periods_bound_the_figures(known: Known):
    previous = known.stats(DONGSHAN, "dongshan", **known.period.previous().query())["figures"]
    assert previous["inspections.total"]["value"] == 0
    assert previous["publicity.events"]["value"] == 0
    month = known.stats(DONGSHAN, "dongshan", period=known.today.strftime("%Y-%m"))["figures"]
    assert month["inspections.total"]["value"] == 3
    ranged = known.stats(
        DONGSHAN, "dongshan", **{"from": known.today.isoformat(), "to": known.today.isoformat()}
    )
    assert ranged["figures"]["incidents.reported"]["value"] == 1
    client, headers = known.county.reporting, known.county.headers("dongshan")
    for params, field in (
        ({"period": "2026-H3"}, "period"),
        ({"from": "2026-07-01"}, "to"),
        ({"from": "2026-07-01", "to": "2026-06-01"}, "to"),
        ({"period": "2026", "from": "2026-01-01", "to": "2026-02-01"}, "period"),
    ):
        response = client.get(f"/statistics/{DONGSHAN}", params=params, headers=headers)
        assert response.status_code == 422, params
        assert response.json()["detail"][0]["loc"][-1] == field
