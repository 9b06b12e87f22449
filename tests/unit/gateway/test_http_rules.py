"""Path templates of google.api.http rules: the grammar of http.proto and its matching."""

from __future__ import annotations

import pytest

from gateway.http_rules import SegmentKind, TemplateError, parse_template, split_path


def match(template: str, path: str) -> dict[str, str] | None:
    segments = split_path(path)
    assert segments is not None
    return parse_template(template).match(segments)


def test_literal_template_matches_only_itself() -> None:
    assert match("/api/v1/auth/login", "/api/v1/auth/login") == {}
    assert match("/api/v1/auth/login", "/api/v1/auth/logout") is None
    assert match("/api/v1/auth/login", "/api/v1/auth/login/") is None
    assert match("/.well-known/jwks.json", "/.well-known/jwks.json") == {}


def test_single_variable_binds_one_segment() -> None:
    assert match("/api/v1/api-keys/{id}", "/api/v1/api-keys/key_123") == {"id": "key_123"}
    assert match("/api/v1/api-keys/{id}", "/api/v1/api-keys/key_123/extra") is None
    assert match("/api/v1/api-keys/{id}", "/api/v1/api-keys/") is None


def test_single_variable_is_percent_decoded_fully() -> None:
    assert match("/v1/things/{id}", "/v1/things/a%2Fb%20c") == {"id": "a/b c"}


def test_custom_verb_matches_only_with_the_verb() -> None:
    template = "/api/v1/api-keys/{id}:rotate"
    assert match(template, "/api/v1/api-keys/key_1:rotate") == {"id": "key_1"}
    assert match(template, "/api/v1/api-keys/key_1") is None
    assert match(template, "/api/v1/api-keys/key_1:revoke") is None
    assert match(template, "/api/v1/api-keys/:rotate") is None
    assert parse_template(template).verb == "rotate"


def test_template_without_verb_takes_the_whole_last_segment() -> None:
    assert match("/x/{id}", "/x/abc") == {"id": "abc"}
    assert match("/x/{id}:freeze", "/x/abc:freeze") == {"id": "abc"}


def test_verb_after_a_literal() -> None:
    parsed = parse_template("/v1/accounts:batchGet")
    assert parsed.verb == "batchGet"
    assert [s.literal for s in parsed.segments] == ["v1", "accounts"]
    assert match("/v1/accounts:batchGet", "/v1/accounts:batchGet") == {}
    assert match("/v1/accounts:batchGet", "/v1/accounts") is None


def test_variable_with_pattern_binds_several_segments() -> None:
    template = "/v1/{name=projects/*/keys/*}"
    assert match(template, "/v1/projects/p1/keys/k1") == {"name": "projects/p1/keys/k1"}
    assert match(template, "/v1/projects/p1/other/k1") is None
    assert match(template, "/v1/projects/p1/keys") is None


def test_double_wildcard_binds_zero_or_more_segments() -> None:
    template = "/v1/files/{name=**}"
    assert match(template, "/v1/files/a/b/c.txt") == {"name": "a/b/c.txt"}
    assert match(template, "/v1/files/a") == {"name": "a"}
    assert match(template, "/v1/files") == {"name": ""}
    assert match(template, "/v2/files/a") is None


def test_double_wildcard_keeps_encoded_slash_encoded() -> None:
    assert match("/v1/files/{name=**}", "/v1/files/a%2Fb/c%20d") == {"name": "a%2Fb/c d"}


def test_double_wildcard_with_verb() -> None:
    assert match("/v1/{name=objects/**}:copy", "/v1/objects/a/b:copy") == {"name": "objects/a/b"}


def test_anonymous_wildcards_bind_nothing() -> None:
    assert match("/v1/*/items/**", "/v1/anything/items/x/y") == {}


def test_nested_field_path() -> None:
    parsed = parse_template("/v1/accounts/{account.id}/holds/{hold_id}")
    assert [v.field_path for v in parsed.variables] == [("account", "id"), ("hold_id",)]
    assert match("/v1/accounts/{account.id}/holds/{hold_id}", "/v1/accounts/acc_1/holds/hold_2") == {
        "account.id": "acc_1",
        "hold_id": "hold_2",
    }


def test_segment_kinds_and_specificity() -> None:
    literal = parse_template("/v1/accounts/me")
    variable = parse_template("/v1/accounts/{id}")
    assert [s.kind for s in variable.segments] == [
        SegmentKind.LITERAL,
        SegmentKind.LITERAL,
        SegmentKind.SINGLE,
    ]
    assert literal.specificity < variable.specificity


@pytest.mark.parametrize(
    "template",
    [
        "",
        "api/v1",
        "/v1//x",
        "/v1/{id",
        "/v1/{}",
        "/v1/{a-b}",
        "/v1/{a.}",
        "/v1/{a={b}}",
        "/v1/**/x",
        "/v1/{id}/{id}",
        "/v1/x:",
        "/v1/{id}:a/b",
    ],
)
def test_malformed_templates_are_refused(template: str) -> None:
    with pytest.raises(TemplateError):
        parse_template(template)


def test_split_path_needs_an_absolute_path() -> None:
    assert split_path("relative") is None
    assert split_path("/a/b") == ["a", "b"]
