"""Who in the inspection service reacts to which event: the whole map in one place."""

from services.inspection.database import place_directory
from services.inspection.directory import service as directory
from services.inspection.plans.service import on_incident_reported as open_urgent_task
from shared.catalogue.alerts import IncidentReported
from shared.catalogue.registry import (
    BusinessRegistered,
    BusinessRiskChanged,
    BusinessStatusChanged,
    BusinessUpdated,
    LicenceRecorded,
    PlaceDefined,
)
from shared.inbox import HandlerMap
from shared.places import place_directory_handler

EVENT_HANDLERS: HandlerMap = {
    PlaceDefined: [place_directory_handler(place_directory)],
    BusinessRegistered: [directory.apply_business_registered],
    BusinessUpdated: [directory.apply_business_updated],
    BusinessStatusChanged: [directory.apply_status_changed],
    BusinessRiskChanged: [directory.apply_risk_changed],
    LicenceRecorded: [directory.apply_licence_recorded],
    IncidentReported: [directory.apply_incident_reported, open_urgent_task],
}
