from services.inspection.database import Base, register_tables
from shared.migrations import run_env

register_tables()
run_env(Base.metadata)
