"""The AsyncAPI document lists every catalogued event with its payload schema."""

from shared.asyncapi import build_app
from shared.events import CATALOGUE


def test_every_catalogued_event_is_a_documented_channel_with_its_schema():
    document = build_app().schema.to_specification().to_jsonable()
    channels = document["channels"]
    schemas = document["components"]["schemas"]
    for (event_type, version), payload in CATALOGUE.items():
        assert f"{event_type} v{version}" in channels
        assert payload.__name__ in schemas
        assert set(schemas[payload.__name__]["properties"]) == set(payload.model_fields)
