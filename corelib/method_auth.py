"""Reads each RPC's `(payment_engine.common.v1.method_auth)` option from its descriptor."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from google.protobuf import descriptor_pool
from payment_engine_protos.common.v1 import auth_options_pb2


@dataclass(frozen=True)
class MethodRule:
    public: bool
    scope: str
    internal: bool
    sandbox_only: bool = False


@functools.lru_cache(maxsize=512)
def rule_for(full_method: str) -> MethodRule | None:
    """`/pkg.Service/Method` → its rule, or None when the RPC declares none (deny)."""
    try:
        _, service_name, method_name = full_method.split("/")
        service = descriptor_pool.Default().FindServiceByName(service_name)
    except (ValueError, KeyError):
        return None
    method = service.methods_by_name.get(method_name)
    if method is None:
        return None
    options = method.GetOptions()
    if not options.HasExtension(auth_options_pb2.method_auth):
        return None
    declared = options.Extensions[auth_options_pb2.method_auth]
    return MethodRule(
        public=declared.public,
        scope=declared.scope,
        internal=declared.internal,
        sandbox_only=declared.sandbox_only,
    )
