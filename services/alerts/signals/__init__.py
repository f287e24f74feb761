"""Signals: alerts raised from other services' events, short of an incident (the entity stays
"alert" in the API, the tables, the events and the audit log)."""
