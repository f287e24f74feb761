"""Who in the identity service reacts to which event: nobody yet. Identity produces
(`shian.identity`) and consumes no stream; a place directory from the registry's `place.defined`
would let it check the places of new accounts (see the service's README notes)."""

from shared.inbox import HandlerMap

EVENT_HANDLERS: HandlerMap = {}
