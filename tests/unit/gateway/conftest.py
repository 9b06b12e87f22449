"""A small contract built in the test, for what the real protos do not (yet) use:
nested path fields, `body: "field"`, `response_body`, `additional_bindings`, `**`, maps,
enums, wrappers and timestamps in the query string."""

from __future__ import annotations

import pytest
from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor_pb2, descriptor_pool, struct_pb2, timestamp_pb2, wrappers_pb2
from payment_engine_protos.common.v1 import auth_options_pb2

from gateway.routes import RouteTable, build_route_table, load_generated_modules

PACKAGE = "payment_engine.gatewaytest.v1"
FILE_NAME = "payment_engine/gatewaytest/v1/gatewaytest.proto"

_F = descriptor_pb2.FieldDescriptorProto


def _field(
    name: str, number: int, kind: int, *, type_name: str = "", repeated: bool = False
) -> descriptor_pb2.FieldDescriptorProto:
    field = _F(
        name=name,
        number=number,
        type=kind,  # type: ignore[arg-type]
        label=_F.LABEL_REPEATED if repeated else _F.LABEL_OPTIONAL,
        json_name=json_name_of(name),
    )
    if type_name:
        field.type_name = type_name
    return field


def json_name_of(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _method(
    service: descriptor_pb2.ServiceDescriptorProto,
    name: str,
    request: str,
    response: str,
    rule: http_pb2.HttpRule,
    *,
    public: bool = True,
) -> None:
    method = service.method.add(
        name=name, input_type=f".{PACKAGE}.{request}", output_type=f".{PACKAGE}.{response}"
    )
    method.options.Extensions[annotations_pb2.http].CopyFrom(rule)
    method.options.Extensions[auth_options_pb2.method_auth].public = public


def synthetic_file() -> descriptor_pb2.FileDescriptorProto:
    file = descriptor_pb2.FileDescriptorProto(
        name=FILE_NAME,
        package=PACKAGE,
        syntax="proto3",
        dependency=[
            "google/api/annotations.proto",
            "google/protobuf/timestamp.proto",
            "google/protobuf/wrappers.proto",
            "google/protobuf/struct.proto",
            "payment_engine/common/v1/auth_options.proto",
        ],
    )
    color = file.enum_type.add(name="Color")
    for number, name in enumerate(("COLOR_UNSPECIFIED", "COLOR_RED", "COLOR_BLUE")):
        color.value.add(name=name, number=number)
    money = file.message_type.add(name="Money")
    money.field.extend([_field("amount_minor", 1, _F.TYPE_INT64), _field("currency_code", 2, _F.TYPE_STRING)])
    account = file.message_type.add(name="Account")
    account.field.extend(
        [
            _field("id", 1, _F.TYPE_STRING),
            _field("limit", 2, _F.TYPE_MESSAGE, type_name=f".{PACKAGE}.Money"),
            _field("display_name", 3, _F.TYPE_STRING),
        ]
    )
    request = file.message_type.add(name="UpdateAccountRequest")
    entry = request.nested_type.add(name="LabelsEntry")
    entry.field.extend([_field("key", 1, _F.TYPE_STRING), _field("value", 2, _F.TYPE_STRING)])
    entry.options.map_entry = True
    request.field.extend(
        [
            _field("account", 1, _F.TYPE_MESSAGE, type_name=f".{PACKAGE}.Account"),
            _field("tags", 2, _F.TYPE_STRING, repeated=True),
            _field("active", 3, _F.TYPE_BOOL),
            _field("color", 4, _F.TYPE_ENUM, type_name=f".{PACKAGE}.Color"),
            _field("since", 5, _F.TYPE_MESSAGE, type_name=".google.protobuf.Timestamp"),
            _field("page_size", 6, _F.TYPE_INT32),
            _field(
                "labels",
                7,
                _F.TYPE_MESSAGE,
                type_name=f".{PACKAGE}.UpdateAccountRequest.LabelsEntry",
                repeated=True,
            ),
            _field("threshold", 8, _F.TYPE_MESSAGE, type_name=".google.protobuf.Int64Value"),
            _field("numbers", 9, _F.TYPE_INT64, repeated=True),
            _field("metadata", 10, _F.TYPE_MESSAGE, type_name=".google.protobuf.Struct"),
        ]
    )
    response = file.message_type.add(name="UpdateAccountResponse")
    response.field.extend(
        [
            _field("account", 1, _F.TYPE_MESSAGE, type_name=f".{PACKAGE}.Account"),
            _field("next_page_token", 2, _F.TYPE_STRING),
            _field("big", 3, _F.TYPE_INT64),
        ]
    )
    get_file = file.message_type.add(name="GetFileRequest")
    get_file.field.extend([_field("name", 1, _F.TYPE_STRING), _field("page_size", 2, _F.TYPE_INT32)])
    create = file.message_type.add(name="CreateThingRequest")
    create.field.extend([_field("name", 1, _F.TYPE_STRING)])

    service = file.service.add(name="GatewayTestService")
    update_rule = http_pb2.HttpRule(
        patch="/v1/accounts/{account.id}",
        body="account",
        response_body="account",
        additional_bindings=[http_pb2.HttpRule(post="/v1/accounts/{account.id}:update", body="*")],
    )
    _method(service, "UpdateAccount", "UpdateAccountRequest", "UpdateAccountResponse", update_rule)
    _method(
        service,
        "SearchAccounts",
        "UpdateAccountRequest",
        "UpdateAccountResponse",
        http_pb2.HttpRule(get="/v1/accounts/{account.id}/search"),
    )
    _method(
        service,
        "GetFile",
        "GetFileRequest",
        "UpdateAccountResponse",
        http_pb2.HttpRule(get="/v1/files/{name=**}"),
    )
    _method(
        service,
        "CreateThing",
        "CreateThingRequest",
        "UpdateAccountResponse",
        http_pb2.HttpRule(post="/v1/things", body="*"),
    )
    _method(
        service,
        "GetSpecialThing",
        "GetFileRequest",
        "UpdateAccountResponse",
        http_pb2.HttpRule(get="/v1/things/special"),
    )
    _method(
        service,
        "GetThing",
        "GetFileRequest",
        "UpdateAccountResponse",
        http_pb2.HttpRule(get="/v1/things/{name}"),
    )
    return file


def register_synthetic_file() -> bytes:
    """Adds the file to the default pool once; returns a descriptor set holding it."""
    load_generated_modules()
    # The dependencies must be in the pool before the file that imports them.
    for module in (struct_pb2, timestamp_pb2, wrappers_pb2):
        assert module.DESCRIPTOR.name
    pool = descriptor_pool.Default()
    file = synthetic_file()
    try:
        pool.FindFileByName(FILE_NAME)
    except KeyError:
        pool.AddSerializedFile(file.SerializeToString())
    return descriptor_pb2.FileDescriptorSet(file=[file]).SerializeToString()


@pytest.fixture(scope="session")
def synthetic_table() -> RouteTable:
    return build_route_table(register_synthetic_file())


@pytest.fixture(scope="session")
def auth_table() -> RouteTable:
    return build_route_table()
