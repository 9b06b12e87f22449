from corelib.migrations import run_migrations_online
from services.accounts.schema import metadata

run_migrations_online("accounts", metadata)
