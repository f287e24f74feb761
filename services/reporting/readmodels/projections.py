"""Which projection applies which event: the one map a replay and the live consumer share."""

from __future__ import annotations

import sqlalchemy as sa

from services.reporting.database import place_directory
from services.reporting.readmodels import alerts, inspection, registry
from shared.catalogue import alerts as alert_events
from shared.catalogue import inspection as inspection_events
from shared.catalogue import registry as registry_events
from shared.inbox import HandlerMap
from shared.places import place_directory_handler

PROJECTIONS: HandlerMap = {
    registry_events.PlaceDefined: [place_directory_handler(place_directory)],
    registry_events.BusinessRegistered: [registry.on_business_registered],
    registry_events.BusinessUpdated: [registry.on_business_updated],
    registry_events.BusinessStatusChanged: [registry.on_business_status_changed],
    registry_events.BusinessRiskChanged: [registry.on_business_risk_changed],
    registry_events.BusinessGraded: [registry.on_business_graded],
    registry_events.LicenceRecorded: [registry.on_licence_recorded],
    registry_events.LicenceExpiring: [registry.on_licence_notice],
    registry_events.LicenceExpired: [registry.on_licence_notice],
    registry_events.StaffRecorded: [registry.on_staff_recorded],
    registry_events.CertificateRecorded: [registry.on_certificate_recorded],
    registry_events.CertificateExpiring: [registry.on_certificate_notice],
    registry_events.CertificateExpired: [registry.on_certificate_notice],
    registry_events.BanquetFiled: [registry.on_banquet_filed],
    registry_events.BanquetLate: [registry.on_banquet_late],
    registry_events.BanquetGuidanceDue: [registry.on_banquet_guidance_due],
    registry_events.LetterSigned: [registry.on_letter_signed],
    inspection_events.InspectionCompleted: [inspection.on_inspection_completed],
    inspection_events.RectificationOrdered: [inspection.on_rectification_ordered],
    inspection_events.RectificationVerified: [inspection.on_rectification_verified],
    inspection_events.RectificationOverdue: [inspection.on_rectification_overdue],
    inspection_events.RectificationEscalated: [inspection.on_rectification_escalated],
    inspection_events.CaseReferred: [inspection.on_case_referred],
    inspection_events.CampaignLaunched: [inspection.on_campaign_launched],
    inspection_events.ComplaintReceived: [inspection.on_complaint_received],
    inspection_events.ComplaintAccepted: [inspection.on_complaint_accepted],
    inspection_events.ComplaintAssigned: [inspection.on_complaint_assigned],
    inspection_events.ComplaintFollowedUp: [inspection.on_complaint_followed_up],
    inspection_events.ComplaintClosed: [inspection.on_complaint_closed],
    inspection_events.ComplaintDeadlineMissed: [inspection.on_complaint_deadline_missed],
    inspection_events.InspectionTaskOpened: [inspection.on_task_opened],
    alert_events.IncidentReported: [alerts.on_incident_reported],
    alert_events.IncidentLevelChanged: [alerts.on_level_changed],
    alert_events.IncidentCountsUpdated: [alerts.on_counts_updated],
    alert_events.AlertAcknowledged: [alerts.on_acknowledged],
    alert_events.IncidentProgressed: [alerts.on_progressed],
    alert_events.IncidentClosed: [alerts.on_closed],
    alert_events.AlertEscalated: [alerts.on_escalated],
    alert_events.AlertRaised: [alerts.on_alert_raised],
    alert_events.AlertResolved: [alerts.on_alert_resolved],
}

PROJECTION_TABLES: tuple[sa.Table, ...] = (
    place_directory,
    registry.ReportBusiness.__table__,
    registry.ReportLicence.__table__,
    registry.ReportStaff.__table__,
    registry.ReportCertificate.__table__,
    registry.ReportBanquet.__table__,
    registry.ReportLetter.__table__,
    inspection.ReportInspection.__table__,
    inspection.ReportViolation.__table__,
    inspection.ReportRectification.__table__,
    inspection.ReportCase.__table__,
    inspection.ReportCampaign.__table__,
    inspection.ReportComplaint.__table__,
    inspection.ReportTask.__table__,
    alerts.ReportIncident.__table__,
    alerts.ReportAlert.__table__,
)
"""The tables a rebuild empties and fills again (never the archive, nor reporting's own records)."""
