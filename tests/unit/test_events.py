"""The event envelope and the catalogue: what every service relies on to read what another wrote."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta, timezone

import pydantic
import pytest
from faststream.redis.parser.binary import BinaryMessageFormatV1

import shared.events
from shared.bus import DATA_FIELD, decode_entry
from shared.catalogue.alerts import IncidentReported
from shared.catalogue.registry import BusinessRegistered, PlaceDefined
from shared.events import CATALOGUE, Envelope, EventPayload, catalogue_rows
from shared.settings import SERVICE_NAMES


def place_event(**overrides: object) -> Envelope:
    payload = PlaceDefined(place_id="qingyun.dongshan", level="township", name="东山镇", parent_id="qingyun")
    return Envelope.wrap(
        payload,
        county_id="qingyun",
        township_id="qingyun.dongshan",
        actor="county:office",
        correlation_id=overrides.pop("correlation_id", None),  # type: ignore[arg-type]
        occurred_at=overrides.pop("occurred_at", None),  # type: ignore[arg-type]
    )


def test_an_envelope_survives_bytes_round_trip_with_its_typed_payload():
    correlation = uuid.uuid4()
    envelope = place_event(correlation_id=correlation)

    again = Envelope.from_bytes(envelope.to_bytes())

    assert again == envelope
    assert again.event_id == envelope.event_id and again.correlation_id == correlation
    assert again.type == "place.defined" and again.version == 1
    payload = again.parse_payload()
    assert isinstance(payload, PlaceDefined)
    assert payload == PlaceDefined(
        place_id="qingyun.dongshan", level="township", name="东山镇", parent_id="qingyun"
    )


def test_a_payload_with_dates_and_uuids_round_trips_to_the_same_model():
    business = BusinessRegistered(
        business_id=uuid.uuid4(),
        name="好味餐馆",
        kind="catering",
        village_id="qingyun.dongshan.shangcun",
        risk_level="B",
        registered_on=date(2025, 3, 1),
    )
    envelope = Envelope.wrap(business, county_id="qingyun", township_id="qingyun.dongshan", actor="x")

    parsed = Envelope.from_bytes(envelope.to_bytes()).parse_payload()

    assert parsed == business
    assert isinstance(parsed.business_id, uuid.UUID) and parsed.registered_on == date(2025, 3, 1)


def test_occurred_at_is_utc_and_keeps_the_instant():
    shanghai = timezone(timedelta(hours=8))
    local = datetime(2025, 6, 1, 9, 30, tzinfo=shanghai)
    envelope = place_event(occurred_at=local)

    again = Envelope.from_bytes(envelope.to_bytes())

    assert again.occurred_at == local  # the same instant
    assert again.occurred_at.utcoffset() is not None
    default = place_event()
    assert default.occurred_at.tzinfo is not None
    assert abs((datetime.now(UTC) - default.occurred_at).total_seconds()) < 60


def test_every_envelope_gets_its_own_event_id():
    ids = {place_event().event_id for _ in range(100)}
    assert len(ids) == 100


def test_an_envelope_as_faststream_writes_it_is_decoded_from_a_stream_entry():
    envelope = place_event()
    raw = asyncio.run(
        BinaryMessageFormatV1.encode(
            message=envelope.to_bytes(),
            reply_to=None,
            headers={"event_id": str(envelope.event_id), "event_type": envelope.type},
            correlation_id=str(envelope.event_id),
        )
    )
    assert raw.startswith(BinaryMessageFormatV1.IDENTITY_HEADER)

    assert decode_entry({DATA_FIELD: raw}) == envelope


@pytest.mark.parametrize(
    "fields",
    [
        {b"garbage": b"x"},
        {DATA_FIELD: b"not json at all"},
        {DATA_FIELD: b'{"type": "place.defined"}'},
    ],
)
def test_an_unreadable_stream_entry_raises(fields: dict[bytes, bytes]):
    with pytest.raises((ValueError, pydantic.ValidationError)):
        decode_entry(fields)


def test_an_unknown_type_or_version_raises_key_error_on_parsing():
    unknown_type = Envelope(type="no.such.event", county_id="qingyun", actor="x", payload={})
    with pytest.raises(KeyError):
        unknown_type.parse_payload()

    unknown_version = place_event().model_copy(update={"version": 99})
    with pytest.raises(KeyError):
        unknown_version.parse_payload()


def test_envelope_and_payload_refuse_unknown_fields():
    body = place_event().model_dump(mode="json")
    body["surprise"] = 1
    with pytest.raises(pydantic.ValidationError):
        Envelope.model_validate(body)

    envelope = place_event()
    bad = envelope.model_copy(update={"payload": {**envelope.payload, "surprise": 1}})
    with pytest.raises(pydantic.ValidationError):
        bad.parse_payload()


def test_a_payload_not_matching_its_model_fails_to_parse():
    envelope = place_event()
    bad = envelope.model_copy(update={"payload": {**envelope.payload, "level": "province"}})
    with pytest.raises(pydantic.ValidationError):
        bad.parse_payload()


@pytest.fixture
def private_catalogue(monkeypatch: pytest.MonkeyPatch) -> dict:
    """A copy of the catalogue for tests that register types, so the real one stays as shipped."""
    copy = dict(CATALOGUE)
    monkeypatch.setattr(shared.events, "CATALOGUE", copy)
    return copy


def test_registering_a_type_and_version_twice_is_rejected(private_catalogue: dict):
    with pytest.raises(TypeError, match="catalogued twice"):

        class AnotherPlaceDefined(EventPayload):
            TYPE = "place.defined"
            PRODUCER = "registry"

            place_id: str

    assert private_catalogue[("place.defined", 1)] is PlaceDefined


def test_a_new_version_of_a_type_is_catalogued_beside_the_old(private_catalogue: dict):
    class PlaceDefinedV2(EventPayload):
        TYPE = "place.defined"
        VERSION = 2
        PRODUCER = "registry"

        place_id: str
        level: str
        name: str
        code: str

    assert private_catalogue[("place.defined", 2)] is PlaceDefinedV2
    assert private_catalogue[("place.defined", 1)] is PlaceDefined
    envelope = Envelope.wrap(
        PlaceDefinedV2(place_id="p", level="village", name="村", code="001"),
        county_id="qingyun",
        township_id=None,
        actor="x",
    )
    assert envelope.version == 2
    assert isinstance(Envelope.from_bytes(envelope.to_bytes()).parse_payload(), PlaceDefinedV2)


def test_subclassing_without_a_type_registers_nothing(private_catalogue: dict):
    before = dict(private_catalogue)

    class Mixin(EventPayload):
        note: str = ""

    assert private_catalogue == before


def test_the_catalogue_is_complete_and_well_formed():
    assert CATALOGUE[("place.defined", 1)] is PlaceDefined
    assert CATALOGUE[("business.registered", 1)] is BusinessRegistered
    assert CATALOGUE[("incident.reported", 1)] is IncidentReported
    for (event_type, version), model in CATALOGUE.items():
        assert event_type == model.TYPE and version == model.VERSION
        assert model.PRODUCER in SERVICE_NAMES, model
        assert event_type == event_type.lower() and "." in event_type, event_type
        assert (model.__doc__ or "").strip(), f"{event_type} has no description"
    rows = catalogue_rows()
    assert len(rows) == len(CATALOGUE)
    assert {(row["type"], row["version"]) for row in rows} == set(CATALOGUE)


async def test_the_bus_writes_exactly_fastreams_binary_message_format():
    """Shian encodes stream entries itself (speed); they must stay what FastStream writes."""
    from faststream.redis.parser.binary import BinaryMessageFormatV1

    from shared.bus import OutgoingEvent, decode_entry, encode_message
    from shared.catalogue.registry import PlaceDefined
    from shared.events import Envelope

    envelope = Envelope.wrap(
        PlaceDefined(place_id="qy.ds.v1", level="village", name="上村", parent_id="qy.ds"),
        county_id="qy",
        township_id="qy.ds",
        actor="test",
    )
    item = OutgoingEvent(
        stream="s", body=envelope.to_bytes(), event_id=str(envelope.event_id), event_type=envelope.type
    )
    faststreams = await BinaryMessageFormatV1.encode(
        message=item.body,
        reply_to=None,
        headers={"event_id": item.event_id, "event_type": item.event_type},
        correlation_id=item.event_id,
    )
    assert encode_message(item) == faststreams
    assert decode_entry({b"__data__": encode_message(item)}) == envelope
