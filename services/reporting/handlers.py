"""Who in the reporting service reacts to which event."""

from services.reporting.database import place_directory
from services.reporting.summaries.service import apply_business_registered, apply_incident_reported
from shared.events import BusinessRegistered, IncidentReported, PlaceDefined
from shared.inbox import HandlerMap
from shared.places import place_directory_handler

EVENT_HANDLERS: HandlerMap = {
    PlaceDefined: [place_directory_handler(place_directory)],
    BusinessRegistered: [apply_business_registered],
    IncidentReported: [apply_incident_reported],
}
