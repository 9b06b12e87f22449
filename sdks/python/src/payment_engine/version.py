"""The SDK's version, sent in the User-Agent header."""

from typing import Final

VERSION: Final = "0.1.0"
