"""`python -m services.identity`: migrate identity's database, then serve it (port 8005 unless
SHIAN_IDENTITY_PORT says otherwise). The shared launcher learns of identity later."""

import uvicorn

from services.identity.app import SPEC, create
from services.identity.config import SERVICE, IdentitySettings
from shared.logging import configure_logging
from shared.migrations import upgrade

settings = IdentitySettings()
configure_logging(SERVICE, level=settings.log_level, json=settings.log_json)
upgrade(SPEC.migrations, settings.database_url(SERVICE))
uvicorn.run(
    create(settings),
    host=settings.host,
    port=settings.port(SERVICE),
    log_config=None,
    access_log=False,
    timeout_graceful_shutdown=10,
)
