"""The REST contract as OpenAPI, generated from the protos (see generate.py)."""

from importlib import resources
from typing import Final

# Served by both edges: the Python gateway and Envoy (a direct response from its ConfigMap).
OPENAPI_PATH: Final = "/api/v1/openapi.json"
OPENAPI_FILE_NAME: Final = "openapi.json"


def openapi_json_bytes() -> bytes:
    """The generated document, as the gateway serves it at /api/v1/openapi.json."""
    return (resources.files(__name__) / OPENAPI_FILE_NAME).read_bytes()
