from corelib.migrations import run_migrations_online
from services.transactions.schema import metadata

run_migrations_online("transactions", metadata)
