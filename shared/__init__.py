"""Shian's common library: events, bus, outbox/inbox, database, settings, auth, metrics."""
