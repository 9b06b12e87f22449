"""The sandbox tenant's credentials as `up` prints them and saves them for scripts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from launcher.private_files import write_private_json

CREDENTIALS_FILE_NAME: Final = "sandbox-credentials.json"


@dataclass(frozen=True)
class SandboxCredentials:
    username: str
    password: str
    api_key: str
    tenant_id: str


def credentials_path(data_dir: Path) -> Path:
    return data_dir / CREDENTIALS_FILE_NAME


def credentials_document(base_url: str, credentials: SandboxCredentials) -> dict[str, str]:
    return {
        "baseUrl": base_url,
        "username": credentials.username,
        "password": credentials.password,
        "apiKey": credentials.api_key,
        "tenantId": credentials.tenant_id,
    }


def write_credentials_file(data_dir: Path, base_url: str, credentials: SandboxCredentials) -> Path:
    path = credentials_path(data_dir)
    write_private_json(path, credentials_document(base_url, credentials))
    return path
