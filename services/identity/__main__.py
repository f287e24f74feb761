"""`python -m services.identity`: migrate identity's database, then serve it (port 8005 unless
SHIAN_IDENTITY_PORT says otherwise), as `shian run identity` does."""

from shared.runner import run_service

run_service("identity")
