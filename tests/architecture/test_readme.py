"""The README stands on its own: every relative link points at a file of this
repository (nothing outside it, nothing missing), and the API reference is reachable."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parents[2]
LINK: Final = re.compile(r"\]\(([^)\s]+)\)")


def test_every_relative_link_of_the_readme_stays_in_the_repository_and_exists() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = [target for target in LINK.findall(text) if not re.match(r"[a-z]+://|#|mailto:", target)]
    assert targets
    for target in targets:
        path = (ROOT / target.split("#", 1)[0]).resolve()
        assert path.is_relative_to(ROOT), f"{target} leaves the repository"
        assert path.exists(), f"{target} does not exist"


def test_the_readme_links_the_openapi_reference() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(gateway/openapi/openapi.json)" in text
    assert "/api/v1/openapi.json" in text
