"""Who in the alerts service reacts to which event."""

from services.alerts.database import place_directory
from services.alerts.directory import service as directory
from services.alerts.signals import service as signals
from shared.catalogue.registry import (
    BanquetFiled,
    BusinessRegistered,
    BusinessUpdated,
    PlaceDefined,
)
from shared.inbox import HandlerMap
from shared.places import place_directory_handler

EVENT_HANDLERS: HandlerMap = {
    PlaceDefined: [place_directory_handler(place_directory)],
    BusinessRegistered: [directory.on_business],
    BusinessUpdated: [directory.on_business],
    BanquetFiled: [directory.on_banquet_filed],
    # alerts short of an incident
    **{event: [signals.on_signal] for event in signals.RAISED_BY},
}
