import services.inspection.directory.models  # noqa: F401  (register the tables)
from services.inspection.database import Base
from shared.migrations import run_env

run_env(Base.metadata)
