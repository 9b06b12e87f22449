"""The engine's own secrets, generated once per data directory and kept across restarts.

The service secret is what each service presents to auth for a service token; keeping it
in the data directory means a restarted engine (or one restarted service) still matches.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path
from typing import Final

from launcher.private_files import PRIVATE_FILE_MODE, read_json_object, write_private_json

SECRETS_FILE_NAME: Final = "secrets.json"
SERVICE_SECRET_BYTES: Final = 32


def secrets_path(data_dir: Path) -> Path:
    return data_dir / SECRETS_FILE_NAME


def load_or_create_service_secret(data_dir: Path) -> str:
    path = secrets_path(data_dir)
    document = read_json_object(path) or {}
    secret = document.get("serviceSecret")
    if isinstance(secret, str) and secret:
        _tighten_mode(path)
        return secret
    secret = secrets.token_urlsafe(SERVICE_SECRET_BYTES)
    write_private_json(path, {**document, "serviceSecret": secret})
    return secret


def _tighten_mode(path: Path) -> None:
    # A copy or an archive restore may have widened it; a secret stays private anyway.
    if stat.S_IMODE(path.stat().st_mode) != PRIVATE_FILE_MODE:
        os.chmod(path, PRIVATE_FILE_MODE)
