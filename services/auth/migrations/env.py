from corelib.migrations import run_migrations_online
from services.auth.schema import metadata

run_migrations_online("auth", metadata)
