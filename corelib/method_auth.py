"""What the descriptors say about each RPC: its `(payment_engine.common.v1.method_auth)`
rule, whether it is an HTTP POST, and its response message."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from google.api import annotations_pb2
from google.protobuf import descriptor_pool, message_factory
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message
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
    method = _method(full_method)
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


@functools.lru_cache(maxsize=512)
def is_http_post(full_method: str) -> bool:
    """Whether the RPC is exposed as an HTTP POST — the requests an Idempotency-Key covers."""
    method = _method(full_method)
    if method is None:
        return False
    options = method.GetOptions()
    return options.HasExtension(annotations_pb2.http) and bool(options.Extensions[annotations_pb2.http].post)


@functools.lru_cache(maxsize=512)
def response_class(full_method: str) -> type[Message]:
    method = _method(full_method)
    if method is None:
        raise KeyError(full_method)
    cls: type[Message] = message_factory.GetMessageClass(method.output_type)
    return cls


def _method(full_method: str) -> MethodDescriptor | None:
    try:
        _, service_name, method_name = full_method.split("/")
        service = descriptor_pool.Default().FindServiceByName(service_name)
    except (ValueError, KeyError):
        return None
    found: MethodDescriptor | None = service.methods_by_name.get(method_name)
    return found
