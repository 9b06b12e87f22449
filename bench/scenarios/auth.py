"""Authentication through the gateway: logging in (argon2id, slow on purpose), and
`GET /api/v1/auth/me` with an API key and with a bearer token."""

from __future__ import annotations

from functools import partial
from typing import Final

import orjson

from bench.clients import expect_status, http_clients, login_token
from bench.context import BenchContext
from bench.keepalive_http import KeepAliveClient
from bench.load import run_closed

LOGIN_PATH: Final = "/api/v1/auth/login"
ME_PATH: Final = "/api/v1/auth/me"
JSON_HEADERS: Final = {"content-type": "application/json"}


async def login(ctx: BenchContext) -> None:
    # Encoded once: the client's CPU is shared with the engine on a small machine.
    body = orjson.dumps({"username": ctx.engine.username, "password": ctx.engine.password})

    async def log_in(client: KeepAliveClient, _number: int, _measured: bool) -> None:
        response = await client.post(LOGIN_PATH, content=body, headers=JSON_HEADERS)
        expect_status(response, 200)

    for clients in ctx.options.clients_of("login"):
        async with http_clients(ctx.engine.base_url, clients) as pool:
            await ctx.measure(
                "login", "", clients, partial(run_closed, pool, log_in, ctx.phases), profile=True
            )


async def auth_me(ctx: BenchContext) -> None:
    token = await login_token(ctx.engine)
    variants = {
        "api key": {"x-api-key": ctx.engine.api_key},
        "bearer": {"authorization": f"Bearer {token}"},
    }

    async def who_am_i(client: KeepAliveClient, _number: int, _measured: bool) -> None:
        response = await client.get(ME_PATH)
        expect_status(response, 200)

    for variant, headers in variants.items():
        for clients in ctx.options.clients_of("auth_me"):
            async with http_clients(ctx.engine.base_url, clients) as pool:
                for client in pool:
                    client.headers.update(headers)
                load = partial(run_closed, pool, who_am_i, ctx.phases)
                await ctx.measure("auth_me", variant, clients, load, profile=True)
