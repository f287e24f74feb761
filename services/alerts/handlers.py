"""Who in the alerts service reacts to which event."""

from services.alerts.database import place_directory
from services.alerts.directory import service as directory
from services.alerts.signals import service as signals
from shared.catalogue.inspection import ComplaintDeadlineMissed, InspectionCompleted, RectificationOverdue
from shared.catalogue.registry import (
    BanquetFiled,
    BanquetGuidanceDue,
    BanquetLate,
    BusinessRegistered,
    BusinessUpdated,
    CertificateExpired,
    LicenceExpired,
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
    InspectionCompleted: [signals.on_inspection_completed],
    RectificationOverdue: [signals.on_rectification_overdue],
    CertificateExpired: [signals.on_certificate_expired],
    LicenceExpired: [signals.on_licence_expired],
    BanquetLate: [signals.on_banquet_late],
    BanquetGuidanceDue: [signals.on_banquet_guidance_due],
    ComplaintDeadlineMissed: [signals.on_complaint_deadline_missed],
}
