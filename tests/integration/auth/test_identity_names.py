"""GetMe's names are read once and kept (bounded); a name not found is looked up again."""

from __future__ import annotations

from sqlalchemy import text

from corelib.db import create_engine, unit_of_work
from corelib.ids import new_id
from services.auth import provisioning
from services.auth.identity_names import IdentityNames


async def test_names_are_kept_bounded_and_a_missing_one_is_looked_up_again(database_url: str) -> None:
    engine = create_engine(database_url, application_name="test-identity-names", pool_size=1)

    async def rename(tenant_id: str, name: str) -> None:
        # Nothing in the engine renames a tenant; the test does, to see what is read.
        async with unit_of_work(engine) as conn:
            await conn.execute(
                text("UPDATE auth.tenants SET name = :name WHERE id = :id"), {"name": name, "id": tenant_id}
            )

    try:
        names = IdentityNames(engine, capacity=1)
        assert await names.tenant(new_id("org")) is None
        first = await provisioning.create_tenant(database_url, f"Names {new_id('org')}")
        second = await provisioning.create_tenant(database_url, f"Names {new_id('org')}")
        kept = await names.tenant(first)
        assert kept is not None
        await rename(first, "renamed once")
        assert await names.tenant(first) == kept
        # At capacity one, the second tenant pushes the first out: it is read again.
        assert await names.tenant(second) is not None
        again = await names.tenant(first)
        assert again is not None and again.name == "renamed once"
    finally:
        await engine.dispose()
