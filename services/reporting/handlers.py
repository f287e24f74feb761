"""Who in the reporting service reacts to which event.

Every catalogued event of a consumed stream is archived; those that a read model describes are
also projected (readmodels/projections.py). Events catalogued later are archived as soon as this
process knows their type, so a rebuild can project them once a projection exists.
"""

from __future__ import annotations

from services.reporting.readmodels.archive import archive
from services.reporting.readmodels.projections import PROJECTIONS
from shared.events import CATALOGUE
from shared.inbox import Handler, HandlerMap

CONSUMES = ("registry", "inspection", "alerts")


def _handlers() -> HandlerMap:
    chains: dict[type, list[Handler]] = {}
    for model in CATALOGUE.values():
        if model.PRODUCER in CONSUMES:
            chains[model] = [archive, *PROJECTIONS.get(model, ())]
    return chains


EVENT_HANDLERS: HandlerMap = _handlers()
