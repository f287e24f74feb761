import services.identity.accounts.models
import services.identity.keys.models
import services.identity.sessions.models  # noqa: F401
from services.identity.database import Base
from shared.migrations import run_env

run_env(Base.metadata)
