"""Who in the registry reacts to which event: the whole map in one place."""

from services.registry.businesses.reactions import on_incident_reported, on_inspection_completed
from shared.catalogue.alerts import IncidentReported
from shared.catalogue.inspection import InspectionCompleted
from shared.inbox import HandlerMap

EVENT_HANDLERS: HandlerMap = {
    InspectionCompleted: [on_inspection_completed],
    IncidentReported: [on_incident_reported],
}
