"""What the edge tests need to read the generated Envoy config the way Envoy would.

- `parse_bootstrap` loads a config into `envoy.config.bootstrap.v3.Bootstrap` from the
  xds-protos wheel with every `typed_config` resolved to its message: an unknown field,
  an unknown filter type or a misspelt enum fails, as it would at Envoy's start.
- `constraint_violations` checks the protoc-gen-validate rules that Envoy's protos carry
  (required fields, minimum lengths, ranges, defined enums, required oneofs): Envoy
  refuses a config that breaks one, so these fail here too.
- `match_route` picks the route Envoy's router would for a method and path.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import re
from pathlib import Path
from typing import Any, Final, cast

import envoy
import yaml
from envoy.config.bootstrap.v3 import bootstrap_pb2
from google.protobuf import any_pb2, descriptor_pool, json_format, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from validate import validate_pb2

ROOT: Final = Path(__file__).resolve().parent.parent.parent
ENVOY_CONFIG: Final = ROOT / "gateway" / "envoy" / "envoy.yaml"
GENERATED_CONFIGS: Final = (
    ENVOY_CONFIG,
    ROOT / "k8s" / "base" / "gateway" / "envoy.yaml",
    *(
        ROOT / "k8s" / "overlays" / name / "gateway" / "envoy.yaml"
        for name in ("sandbox", "staging", "production")
    ),
)
WRAPPER_TYPES: Final = frozenset(
    f"google.protobuf.{name}"
    for name in (
        "DoubleValue",
        "FloatValue",
        "Int64Value",
        "UInt64Value",
        "Int32Value",
        "UInt32Value",
        "BoolValue",
    )
)
NESTING_DEPTH_MAX: Final = 64


@functools.cache
def load_envoy_modules() -> int:
    """Imports every generated module of Envoy's API, so any type URL can resolve."""
    count = 0
    for module in pkgutil.walk_packages(envoy.__path__, prefix="envoy."):
        if module.name.endswith("_pb2"):
            importlib.import_module(module.name)
            count += 1
    return count


def load_yaml(path: Path = ENVOY_CONFIG) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(path.read_text())
    return document


def parse_bootstrap(document: dict[str, Any]) -> Message:
    load_envoy_modules()
    message: Message = bootstrap_pb2.Bootstrap()
    json_format.ParseDict(document, message, ignore_unknown_fields=False)
    return message


def _unpack(packed: any_pb2.Any) -> Message:
    name = packed.type_url.rpartition("/")[2]
    descriptor = descriptor_pool.Default().FindMessageTypeByName(name)
    inner = message_factory.GetMessageClass(descriptor)()
    packed.Unpack(inner)
    return inner


def _rules(field: FieldDescriptor) -> Any:
    options = field.GetOptions()
    return options.Extensions[validate_pb2.rules] if options.HasExtension(validate_pb2.rules) else None


def _number_problems(rules: Any, value: float) -> list[str]:
    problems = []
    if rules.HasField("gt") and not value > rules.gt:
        problems.append(f"must be > {rules.gt}")
    if rules.HasField("gte") and not value >= rules.gte:
        problems.append(f"must be >= {rules.gte}")
    if rules.HasField("lt") and not value < rules.lt:
        problems.append(f"must be < {rules.lt}")
    if rules.HasField("lte") and not value <= rules.lte:
        problems.append(f"must be <= {rules.lte}")
    if rules.HasField("const") and value != rules.const:
        problems.append(f"must be {rules.const}")
    return problems


def _duration_seconds(value: Any) -> float:
    return float(value.seconds) + float(value.nanos) / 1e9


def _scalar_problems(field: FieldDescriptor, rules: Any, value: Any) -> list[str]:
    kind = rules.WhichOneof("type")
    if kind is None:
        return []
    typed = getattr(rules, kind)
    if kind == "string":
        problems = []
        if typed.HasField("min_len") and len(value) < typed.min_len:
            problems.append(f"shorter than {typed.min_len}")
        if typed.HasField("max_len") and len(value) > typed.max_len:
            problems.append(f"longer than {typed.max_len}")
        if typed.HasField("min_bytes") and len(value.encode()) < typed.min_bytes:
            problems.append(f"shorter than {typed.min_bytes} bytes")
        if typed.HasField("prefix") and not value.startswith(typed.prefix):
            problems.append(f"must start with {typed.prefix!r}")
        allowed = list(getattr(typed, "in"))
        if allowed and value not in allowed:
            problems.append(f"must be one of {allowed}")
        return problems
    if kind in (
        "uint32",
        "uint64",
        "int32",
        "int64",
        "double",
        "float",
        "sint32",
        "sint64",
        "fixed32",
        "fixed64",
    ):
        return _number_problems(typed, value)
    if kind == "enum":
        problems = []
        enum_type = field.enum_type
        assert enum_type is not None
        if typed.defined_only and enum_type.values_by_number.get(value) is None:
            problems.append(f"undefined enum value {value}")
        if value in typed.not_in:
            problems.append(f"enum value {value} is not allowed")
        return problems
    return []


def _message_problems(field: FieldDescriptor, rules: Any, value: Message) -> list[str]:
    kind = rules.WhichOneof("type")
    if kind == "duration":
        seconds = _duration_seconds(value)
        problems = []
        for bound, check in (
            ("gt", seconds.__gt__),
            ("gte", seconds.__ge__),
            ("lt", seconds.__lt__),
            ("lte", seconds.__le__),
        ):
            if rules.duration.HasField(bound) and not check(
                _duration_seconds(getattr(rules.duration, bound))
            ):
                problems.append(f"duration must be {bound} {getattr(rules.duration, bound)}")
        return problems
    message_type = field.message_type
    assert message_type is not None
    if message_type.full_name in WRAPPER_TYPES and kind is not None:
        wrapper: Any = value
        return _scalar_problems(message_type.fields_by_name["value"], rules, wrapper.value)
    return []


def constraint_violations(message: Message, path: str = "", depth: int = 0) -> list[str]:
    """The protoc-gen-validate rules `message` breaks, recursively, through Any too."""
    if depth > NESTING_DEPTH_MAX:
        return [f"{path}: nested deeper than {NESTING_DEPTH_MAX}"]
    problems: list[str] = []
    descriptor = cast(Descriptor, message.DESCRIPTOR)
    if descriptor.full_name == "google.protobuf.Any":
        assert isinstance(message, any_pb2.Any)
        return constraint_violations(_unpack(message), f"{path}<{message.type_url}>", depth + 1)
    for oneof in descriptor.oneofs:
        options = oneof.GetOptions()
        required = options.HasExtension(validate_pb2.required) and options.Extensions[validate_pb2.required]
        if required and message.WhichOneof(oneof.name) is None:
            problems.append(f"{path}.{oneof.name}: one of its fields is required")
    for field in descriptor.fields:
        field_path = f"{path}.{field.name}"
        rules = _rules(field)
        is_message = field.cpp_type == FieldDescriptor.CPPTYPE_MESSAGE
        if field.is_repeated:
            values = list(getattr(message, field.name))
            if field.message_type is not None and field.message_type.GetOptions().map_entry:
                values = []
            if rules is not None and rules.WhichOneof("type") == "repeated":
                repeated = rules.repeated
                if repeated.HasField("min_items") and len(values) < repeated.min_items:
                    problems.append(f"{field_path}: needs at least {repeated.min_items} items")
                if repeated.HasField("max_items") and len(values) > repeated.max_items:
                    problems.append(f"{field_path}: at most {repeated.max_items} items")
                item_rules = repeated.items if repeated.HasField("items") else None
            else:
                item_rules = None
            for index, item in enumerate(values):
                item_path = f"{field_path}[{index}]"
                if is_message:
                    problems.extend(constraint_violations(item, item_path, depth + 1))
                elif item_rules is not None:
                    problems.extend(f"{item_path}: {p}" for p in _scalar_problems(field, item_rules, item))
            continue
        # protoc-gen-validate checks a oneof member only when it is the one set.
        member_of = field.containing_oneof
        if member_of is not None and message.WhichOneof(member_of.name) != field.name:
            continue
        if is_message:
            present = message.HasField(field.name)
            if rules is not None and rules.HasField("message") and rules.message.required and not present:
                problems.append(f"{field_path}: required")
            if rules is not None and rules.WhichOneof("type") in ("duration", "any") and not present:
                typed = getattr(rules, rules.WhichOneof("type"))
                if typed.required:
                    problems.append(f"{field_path}: required")
            if present:
                value = getattr(message, field.name)
                if rules is not None:
                    problems.extend(f"{field_path}: {p}" for p in _message_problems(field, rules, value))
                problems.extend(constraint_violations(value, field_path, depth + 1))
            continue
        if rules is None:
            continue
        problems.extend(
            f"{field_path}: {p}" for p in _scalar_problems(field, rules, getattr(message, field.name))
        )
    return problems


# --- Reading the YAML as Envoy's router would ----------------------------------------


def http_connection_manager(document: dict[str, Any]) -> dict[str, Any]:
    (listener,) = document["static_resources"]["listeners"]
    (chain,) = listener["filter_chains"]
    (manager,) = chain["filters"]
    typed: dict[str, Any] = manager["typed_config"]
    return typed


def routes(document: dict[str, Any]) -> list[dict[str, Any]]:
    (virtual_host,) = http_connection_manager(document)["route_config"]["virtual_hosts"]
    found: list[dict[str, Any]] = virtual_host["routes"]
    return found


def http_filter(document: dict[str, Any], name: str) -> dict[str, Any]:
    for entry in http_connection_manager(document)["http_filters"]:
        if entry["name"] == name:
            typed: dict[str, Any] = entry["typed_config"]
            return typed
    raise KeyError(name)


def lua_source(document: dict[str, Any], filter_name: str) -> str:
    source: str = http_filter(document, filter_name)["default_source_code"]["inline_string"]
    return source


def match_route(route_list: list[dict[str, Any]], method: str, raw_path: str) -> dict[str, Any] | None:
    """First route whose match accepts the request; refuses matchers it does not know,
    so a config using one cannot pass by being misread."""
    path = raw_path.split("?", 1)[0]
    for route in route_list:
        match = route["match"]
        known = {"prefix", "safe_regex", "headers"}
        assert set(match) <= known, f"unknown matcher in {route['name']}: {set(match) - known}"
        if "prefix" in match:
            accepted = path.startswith(match["prefix"])
        else:
            accepted = re.fullmatch(match["safe_regex"]["regex"], path) is not None
        for header in match.get("headers", []):
            assert header["name"] == ":method" and set(header["string_match"]) == {"exact"}, header
            accepted = accepted and header["string_match"]["exact"] == method
        if accepted:
            return route
    return None


def auth_disabled(route: dict[str, Any]) -> bool:
    per_filter = route.get("typed_per_filter_config", {}).get("envoy.filters.http.ext_authz")
    return bool(per_filter and per_filter.get("disabled"))
