from __future__ import annotations

import json
import stat
from pathlib import Path

from launcher.credentials import SandboxCredentials, credentials_path, write_credentials_file
from launcher.secrets_store import load_or_create_service_secret, secrets_path


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_service_secret_is_created_once_private_and_kept(tmp_path: Path) -> None:
    first = load_or_create_service_secret(tmp_path)
    second = load_or_create_service_secret(tmp_path)

    assert first == second
    assert len(first) >= 40
    assert mode_of(secrets_path(tmp_path)) == 0o600
    assert json.loads(secrets_path(tmp_path).read_text()) == {"serviceSecret": first}


def test_each_data_dir_gets_its_own_secret(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert load_or_create_service_secret(tmp_path / "a") != load_or_create_service_secret(tmp_path / "b")


def test_a_widened_secrets_file_is_made_private_again(tmp_path: Path) -> None:
    secret = load_or_create_service_secret(tmp_path)
    secrets_path(tmp_path).chmod(0o644)

    assert load_or_create_service_secret(tmp_path) == secret
    assert mode_of(secrets_path(tmp_path)) == 0o600


def test_sandbox_credentials_file_has_the_documented_shape(tmp_path: Path) -> None:
    credentials = SandboxCredentials(
        username="sandbox", password="pw", api_key="pe_sandbox_x", tenant_id="org_1"
    )
    path = write_credentials_file(tmp_path, "http://127.0.0.1:8080", credentials)

    assert path == credentials_path(tmp_path) == tmp_path / "sandbox-credentials.json"
    assert mode_of(path) == 0o600
    assert json.loads(path.read_text()) == {
        "baseUrl": "http://127.0.0.1:8080",
        "username": "sandbox",
        "password": "pw",
        "apiKey": "pe_sandbox_x",
        "tenantId": "org_1",
    }
    assert list(tmp_path.iterdir()) == [path]  # no scratch file left behind
