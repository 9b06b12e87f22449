"""The shared webhook signature vectors (sdks/test-vectors/webhook-signatures.json), which
the Node and Java SDK tests run too: every SDK reaches the same verdict on every vector."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from payment_engine import signature_match_index, standard_match_index, verify_signature, verify_standard

VECTORS_DIR = Path(__file__).resolve().parents[2] / "test-vectors"
VECTORS = json.loads((VECTORS_DIR / "webhook-signatures.json").read_text(encoding="utf-8"))


def test_the_file_has_the_agreed_format_and_covers_both_schemes() -> None:
    assert VECTORS["version"] == 1
    schemes = {vector["scheme"] for vector in VECTORS["vectors"]}
    assert schemes == {"x-webhook-signature", "standard-webhooks"}
    names = [vector["name"] for vector in VECTORS["vectors"]]
    assert len(names) == len(set(names))
    assert any(vector["valid"] for vector in VECTORS["vectors"])
    assert any(not vector["valid"] for vector in VECTORS["vectors"])


def test_the_file_is_what_the_engine_signs_today() -> None:
    spec = importlib.util.spec_from_file_location(
        "vectors_generate", VECTORS_DIR / "generate_webhook_vectors.py"
    )
    assert spec is not None and spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    assert generator.render() == (VECTORS_DIR / "webhook-signatures.json").read_text(encoding="utf-8"), (
        "regenerate with: .venv/bin/python sdks/test-vectors/generate_webhook_vectors.py"
    )


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda vector: vector["name"])
def test_vector(vector: dict[str, Any]) -> None:
    body: str = vector["body"]
    headers: dict[str, str] = vector["headers"]
    secrets: list[str] = vector["secrets"]
    if vector["scheme"] == "x-webhook-signature":
        # Header names are case-insensitive: look the signature up as a server framework would.
        signature = next(
            (value for name, value in headers.items() if name.lower() == "x-webhook-signature"), None
        )
        matched = signature_match_index(body.encode("utf-8"), signature, secrets)
        assert verify_signature(body, signature, secrets) is vector["valid"]
    else:
        shouted = {name.upper(): value for name, value in headers.items()}
        options = {"tolerance_seconds": vector["toleranceSeconds"], "now": vector["now"]}
        matched = standard_match_index(body.encode("utf-8"), shouted, secrets, **options)
        assert verify_standard(body, headers, secrets, **options) is vector["valid"]
    assert (matched is not None) is vector["valid"]
    if vector["valid"]:
        assert matched == vector["matchedSecretIndex"]
