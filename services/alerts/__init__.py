"""Alerts: incidents, their level, escalation chains, acknowledgement and notifications."""
