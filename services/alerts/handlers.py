"""Who in the alerts service reacts to which event."""

from services.alerts.database import place_directory
from shared.events import PlaceDefined
from shared.inbox import HandlerMap
from shared.places import place_directory_handler

EVENT_HANDLERS: HandlerMap = {
    PlaceDefined: [place_directory_handler(place_directory)],
}
