"""Read models: every other service's events projected into reporting's own tables.

Each projection is keyed by the id of the record it describes and sets only the facts its event
carries, so applying an event twice, or replaying the archive from scratch, gives the same rows.
"""
