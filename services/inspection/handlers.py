"""Who in the inspection service reacts to which event: the whole map in one place."""

from services.inspection.database import place_directory
from services.inspection.directory.service import apply_business_registered
from shared.events import BusinessRegistered, PlaceDefined
from shared.inbox import HandlerMap
from shared.places import place_directory_handler

EVENT_HANDLERS: HandlerMap = {
    PlaceDefined: [place_directory_handler(place_directory)],
    BusinessRegistered: [apply_business_registered],
}
