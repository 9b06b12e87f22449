"""Small JSON files only the operator may read (secrets, sandbox credentials)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Final

PRIVATE_FILE_MODE: Final = 0o600


def write_private_json(path: Path, document: Mapping[str, object]) -> None:
    """Writes atomically with mode 0600: a reader sees the old file or the new one, and the
    secret is never readable by others, not even for the moment between create and chmod."""
    scratch = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    # O_CREAT's mode does not apply to a leftover scratch file from a killed run.
    os.chmod(scratch, PRIVATE_FILE_MODE)
    os.replace(scratch, path)


def read_json_object(path: Path) -> dict[str, object] | None:
    """The JSON object in `path`, or None when there is no file yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    document = json.loads(text)
    if not isinstance(document, dict):
        raise ValueError(f"{path} does not hold a JSON object")
    return document
