from corelib.migrations import run_migrations_online
from services.webhooks.schema import metadata

run_migrations_online("webhooks", metadata)
