"""Who in the identity service reacts to which event: the places, from the registry's
`place.defined`, so that an account names a township and village the county has."""

from services.identity.database import place_directory
from shared.catalogue.registry import PlaceDefined
from shared.inbox import HandlerMap
from shared.places import place_directory_handler

EVENT_HANDLERS: HandlerMap = {
    PlaceDefined: [place_directory_handler(place_directory)],
}
