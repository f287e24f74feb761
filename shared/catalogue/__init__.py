"""The typed catalogue of events, one module per producing service.

Add an event by defining an `EventPayload` subclass (TYPE, VERSION, PRODUCER) in its producer's
module; it registers itself. A changed payload shape is a new VERSION beside the old one.
"""
