"""The indexed `RouteTable.resolve` answers exactly as trying every template in turn
(`resolve_by_scan`): same route, same path values, same 405 and 404, for every route of
the real table and of tables built to be awkward (`**`, verbs, literals against
variables, ties), over paths made to sit on the edges."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from gateway import route_index
from gateway.http_rules import SegmentKind, parse_template
from gateway.routes import MethodNotAllowed, Route, RouteMatch, RouteTable

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
# Stand-ins for variable segments: plain, encoded (slash, space, colon, percent, UTF-8,
# a bad escape), empty, and look-alikes of literals and verbs.
VALUES = (
    "x",
    "txn_01JABCDEFGHJKMNPQRSTVWXYZ0",
    "a%2Fb",
    "a%2fb",
    "a%20b",
    "a%3Arotate",
    "%",
    "%zz",
    "%C3%A9",
    "",
    "k:rotate",
    "k:",
    ":",
    "a:b:c",
    "%61pi",
    "api",
    "v1",
)
FIXED_PATHS = (
    "",
    "/",
    "//",
    "no-leading-slash",
    "api/v1/transactions",
    "/api/v1/transactions/",
    "/api/v1//transactions",
    "/api/v1/transactions:",
    "/api/v1/transactions:batch:batch",
    "/api/v1/transactions%3Abatch",
    "/api/v1/transactions:Batch",
    "/%61pi/v1/transactions",
    "/api/v1/%74ransactions:batch",
    "/API/v1/transactions",
    "/api/v1/api-keys/:rotate",
    "/api/v1/api-keys/k:rotate:rotate",
    "/api/v1/api-keys/k:rotate/extra",
    "/api/v1/accounts/a/balance/",
    "/api/v1/accounts//balance",
    "/.well-known/jwks.json",
    "/.well-known/jwks.json:get",
    "/v1/files",
    "/v1/files/",
    "/v1/files/a/b/c.txt",
    "/v1/files/a%2Fb/c%20d",
    "/v1/files/a:copy",
    "/v1/things/special",
    "/v1/things/%73pecial",
    "/v1/things/",
    "/v1/accounts/a:update",
    "/v1/accounts/:update",
    "/v1/accounts/a%2Fb/search",
    "/v1/a/b/c/d/e/f/g/h/i/j/k/l",
    "/v1/objects/a/b:copy",
    "/v1/objects:copy",
    "/v1/objects/:copy",
    "/v1/x/y:copy",
    "/v1/a/b:do",
    "/v1/a/b/c:do",
    "/v1/a:do",
)


def paths_for(table: RouteTable, rng: random.Random, per_route: int) -> list[str]:
    """Every template filled in several ways, then bent: segments dropped, added,
    swapped for other templates' literals, and verbs added, removed or swapped."""
    literals = sorted(
        {seg.literal for r in table.routes for seg in r.template.segments if seg.kind is SegmentKind.LITERAL}
    )
    verbs = [*sorted({r.template.verb for r in table.routes if r.template.verb}), "other"]
    anything = (*VALUES, *literals)
    paths = list(FIXED_PATHS)
    for route in table.routes:
        for _ in range(per_route):
            parts: list[str] = []
            for segment in route.template.segments:
                if segment.kind is SegmentKind.LITERAL:
                    parts.append(segment.literal if rng.random() < 0.85 else rng.choice(anything))
                elif segment.kind is SegmentKind.SINGLE:
                    parts.append(rng.choice(anything))
                else:
                    parts.extend(rng.choice(VALUES) for _ in range(rng.randrange(4)))
            shape = rng.random()
            if shape < 0.1 and parts:
                parts.pop()
            elif shape < 0.2:
                parts.append(rng.choice(VALUES))
            path = "/" + "/".join(parts)
            verb_choice = rng.random()
            if route.template.verb and verb_choice < 0.8:
                path += f":{route.template.verb}"
            elif verb_choice < 0.9:
                path += f":{rng.choice(verbs)}"
            paths.append(path)
    return paths


def assert_same_answers(table: RouteTable, paths: list[str]) -> None:
    seen_kinds = set()
    for path in paths:
        for method in METHODS:
            expected = table.resolve_by_scan(method, path)
            # Twice: the first answer may be worked out, the second comes from what was kept.
            for _ in range(2):
                actual = table.resolve(method, path)
                assert actual == expected, (method, path)
                if isinstance(expected, RouteMatch):
                    assert isinstance(actual, RouteMatch)
                    assert actual.route is expected.route, (method, path)
            seen_kinds.add(type(expected))
    # The paths reach all three answers, or the comparison proves little.
    assert seen_kinds == {RouteMatch, MethodNotAllowed, type(None)}


def test_real_table_answers_as_the_scan(auth_table: RouteTable) -> None:
    assert_same_answers(auth_table, paths_for(auth_table, random.Random(7), per_route=40))


def test_every_real_route_resolves_to_itself(auth_table: RouteTable) -> None:
    for route in auth_table.routes:
        parts = [
            seg.literal if seg.kind is SegmentKind.LITERAL else "id_1" for seg in route.template.segments
        ]
        path = "/" + "/".join(parts) + (f":{route.template.verb}" if route.template.verb else "")
        resolved = auth_table.resolve(route.http_method, path)
        assert isinstance(resolved, RouteMatch), path
        assert resolved.route is route
        assert resolved == auth_table.resolve_by_scan(route.http_method, path)


def test_synthetic_table_answers_as_the_scan(synthetic_table: RouteTable) -> None:
    assert_same_answers(synthetic_table, paths_for(synthetic_table, random.Random(11), per_route=60))


AWKWARD_TEMPLATES = (
    ("GET", "/v1/{a}/b"),
    ("GET", "/v1/a/{b}"),
    ("POST", "/v1/a/{b}"),
    ("GET", "/v1/*/c"),
    ("GET", "/v1/{first}/c"),
    ("GET", "/v1/*/**"),
    ("PUT", "/v1/{name=x/*}:do"),
    ("POST", "/v1/**:do"),
    ("DELETE", "/v1/{name=objects/**}:copy"),
    ("GET", "/v1/{a}/{b}/{c}"),
    ("GET", "/v1/a/b/c"),
    ("PATCH", "/{rest=**}"),
    ("GET", "/v1/x:do"),
)


@pytest.fixture(scope="module")
def awkward_table(auth_table: RouteTable) -> RouteTable:
    base = auth_table.routes[0]
    routes: list[Route] = [
        replace(base, http_method=method, template=parse_template(source))
        for method, source in AWKWARD_TEMPLATES
    ]
    return RouteTable(routes)


def test_awkward_table_answers_as_the_scan(awkward_table: RouteTable) -> None:
    assert_same_answers(awkward_table, paths_for(awkward_table, random.Random(13), per_route=200))


def test_equally_specific_templates_go_to_the_earlier_one(awkward_table: RouteTable) -> None:
    resolved = awkward_table.resolve("GET", "/v1/q/c")
    assert isinstance(resolved, RouteMatch)
    assert resolved.route.template.source == "/v1/*/c"


def test_more_specific_template_wins_whatever_the_order(awkward_table: RouteTable) -> None:
    resolved = awkward_table.resolve("GET", "/v1/a/b/c")
    assert isinstance(resolved, RouteMatch)
    assert resolved.route.template.source == "/v1/a/b/c"
    assert resolved.path_params == {}


def test_a_table_past_the_kept_signatures_still_answers(
    awkward_table: RouteTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(route_index, "SIGNATURES_KEPT_MAX", 0)
    fresh = RouteTable(awkward_table.routes)
    assert_same_answers(fresh, paths_for(fresh, random.Random(17), per_route=20))
