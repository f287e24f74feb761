"""Who in the alerts service reacts to which event."""

from services.alerts.alerts import service as alerts
from services.alerts.database import place_directory
from services.alerts.directory import service as directory
from shared.catalogue.inspection import ComplaintDeadlineMissed, InspectionCompleted, RectificationOverdue
from shared.catalogue.registry import (
    BanquetFiled,
    BanquetGuidanceDue,
    BanquetLate,
    BusinessRegistered,
    BusinessUpdated,
    CertificateExpired,
    LicenceExpired,
)
from shared.events import PlaceDefined
from shared.inbox import HandlerMap
from shared.places import place_directory_handler

EVENT_HANDLERS: HandlerMap = {
    PlaceDefined: [place_directory_handler(place_directory)],
    BusinessRegistered: [directory.on_business],
    BusinessUpdated: [directory.on_business],
    BanquetFiled: [directory.on_banquet_filed],
    # alerts short of an incident
    InspectionCompleted: [alerts.on_inspection_completed],
    RectificationOverdue: [alerts.on_rectification_overdue],
    CertificateExpired: [alerts.on_certificate_expired],
    LicenceExpired: [alerts.on_licence_expired],
    BanquetLate: [alerts.on_banquet_late],
    BanquetGuidanceDue: [alerts.on_banquet_guidance_due],
    ComplaintDeadlineMissed: [alerts.on_complaint_deadline_missed],
}
