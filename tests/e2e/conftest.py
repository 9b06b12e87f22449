"""What the end-to-end tests share."""

from tests.harness.rest_client import http

__all__ = ["http"]
