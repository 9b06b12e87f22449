"""Path templates of `google.api.http` rules: parsing and matching.

The grammar is the one in google/api/http.proto:

    Template  = "/" Segments [ Verb ] ;
    Segments  = Segment { "/" Segment } ;
    Segment   = "*" | "**" | LITERAL | Variable ;
    Variable  = "{" FieldPath [ "=" Segments ] "}" ;
    FieldPath = IDENT { "." IDENT } ;
    Verb      = ":" LITERAL ;

Matching works on the raw (still percent-encoded) path so that an encoded `/` inside an
id never splits a segment; values are decoded the way the spec asks: fully for a
single-segment variable, and everything but `%2F` for a multi-segment one.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import unquote

TEMPLATE_LENGTH_MAX: Final = 1024
_IDENT_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ENCODED_SLASH_RE: Final = re.compile(r"(%2[Ff])")
_LITERAL_FORBIDDEN: Final = frozenset("/{}=*")
_VERB_FORBIDDEN: Final = _LITERAL_FORBIDDEN | {":"}


class TemplateError(ValueError):
    """A path template that does not follow google/api/http.proto."""


class SegmentKind(enum.IntEnum):
    # The order is the match preference: a literal beats `*`, which beats `**`.
    LITERAL = 0
    SINGLE = 1
    MULTI = 2


@dataclass(frozen=True)
class Segment:
    kind: SegmentKind
    literal: str = ""


@dataclass(frozen=True)
class Variable:
    field_path: tuple[str, ...]
    # Indices into PathTemplate.segments, end exclusive.
    start: int
    end: int

    @property
    def name(self) -> str:
        return ".".join(self.field_path)


@dataclass(frozen=True)
class PathTemplate:
    source: str
    segments: tuple[Segment, ...]
    variables: tuple[Variable, ...]
    verb: str

    @property
    def has_multi(self) -> bool:
        return bool(self.segments) and self.segments[-1].kind is SegmentKind.MULTI

    @property
    def specificity(self) -> tuple[int, ...]:
        """Lower sorts first: the template to prefer when several match one path."""
        return tuple(int(segment.kind) for segment in self.segments)

    def match(self, path_segments: Sequence[str]) -> dict[str, str] | None:
        """Raw path segments (see `split_path`) → decoded variable values, or None."""
        segments = list(path_segments)
        if self.verb:
            suffix = f":{self.verb}"
            if not segments or not segments[-1].endswith(suffix):
                return None
            segments[-1] = segments[-1][: -len(suffix)]
        count = len(self.segments)
        if self.has_multi:
            if len(segments) < count - 1:
                return None
        elif len(segments) != count:
            return None
        for index, segment in enumerate(self.segments):
            if segment.kind is SegmentKind.MULTI:
                break
            raw = segments[index]
            if segment.kind is SegmentKind.LITERAL:
                if unquote(raw) != segment.literal:
                    return None
            elif not raw:
                return None
        values: dict[str, str] = {}
        for variable in self.variables:
            end = len(segments) if variable.end == count and self.has_multi else variable.end
            parts = segments[variable.start : end]
            if len(parts) == 1 and self.segments[variable.start].kind is not SegmentKind.MULTI:
                values[variable.name] = unquote(parts[0])
            else:
                values[variable.name] = "/".join(_unquote_keeping_slash(part) for part in parts)
        return values


def split_path(raw_path: str) -> list[str] | None:
    """`/a/b%2Fc/d` → ["a", "b%2Fc", "d"]; None for something that is not an absolute path."""
    if not raw_path.startswith("/"):
        return None
    return raw_path[1:].split("/")


def _unquote_keeping_slash(raw: str) -> str:
    # The spec keeps %2F encoded in multi-segment values, so a decoded "/" always
    # means a segment boundary and never part of one.
    return "".join(
        part if _ENCODED_SLASH_RE.fullmatch(part) else unquote(part) for part in _ENCODED_SLASH_RE.split(raw)
    )


def parse_template(source: str) -> PathTemplate:
    if len(source) > TEMPLATE_LENGTH_MAX:
        raise TemplateError(f"path template longer than {TEMPLATE_LENGTH_MAX} characters")
    return _Parser(source).parse()


class _Parser:
    def __init__(self, source: str) -> None:
        self._source = source
        self._text, self._verb = _split_verb(source)
        self._pos = 0
        self._segments: list[Segment] = []
        self._variables: list[Variable] = []

    def parse(self) -> PathTemplate:
        if not self._text.startswith("/"):
            raise self._error("must start with '/'")
        self._pos = 1
        self._parse_segments(in_variable=False)
        if self._pos != len(self._text):
            raise self._error(f"unexpected {self._text[self._pos]!r}")
        for index, segment in enumerate(self._segments):
            if segment.kind is SegmentKind.MULTI and index != len(self._segments) - 1:
                raise self._error("'**' must be the last segment")
        names = [variable.name for variable in self._variables]
        if len(set(names)) != len(names):
            raise self._error("a field is bound twice")
        return PathTemplate(self._source, tuple(self._segments), tuple(self._variables), self._verb)

    def _parse_segments(self, *, in_variable: bool) -> None:
        self._parse_segment(in_variable=in_variable)
        while self._peek() == "/":
            self._pos += 1
            self._parse_segment(in_variable=in_variable)

    def _parse_segment(self, *, in_variable: bool) -> None:
        rest = self._text[self._pos :]
        if rest.startswith("{"):
            if in_variable:
                raise self._error("variables cannot nest")
            self._parse_variable()
        elif rest.startswith("**"):
            self._pos += 2
            self._segments.append(Segment(SegmentKind.MULTI))
        elif rest.startswith("*"):
            self._pos += 1
            self._segments.append(Segment(SegmentKind.SINGLE))
        else:
            start = self._pos
            while self._pos < len(self._text) and self._text[self._pos] not in _LITERAL_FORBIDDEN:
                self._pos += 1
            if self._pos == start:
                raise self._error("empty segment")
            self._segments.append(Segment(SegmentKind.LITERAL, self._text[start : self._pos]))

    def _parse_variable(self) -> None:
        self._pos += 1  # "{"
        close = self._text.find("}", self._pos)
        if close < 0:
            raise self._error("unclosed '{'")
        equals = self._text.find("=", self._pos, close)
        path_end = close if equals < 0 else equals
        field_path = tuple(self._text[self._pos : path_end].split("."))
        if not all(_IDENT_RE.fullmatch(part) for part in field_path):
            raise self._error(f"bad field path {self._text[self._pos : path_end]!r}")
        start = len(self._segments)
        if equals < 0:
            self._segments.append(Segment(SegmentKind.SINGLE))
            self._pos = close
        else:
            self._pos = equals + 1
            self._parse_segments(in_variable=True)
            if self._peek() != "}":
                raise self._error("expected '}'")
        self._pos += 1  # "}"
        self._variables.append(Variable(field_path, start, len(self._segments)))

    def _peek(self) -> str:
        return self._text[self._pos] if self._pos < len(self._text) else ""

    def _error(self, problem: str) -> TemplateError:
        return TemplateError(f"path template {self._source!r}: {problem}")


def _split_verb(source: str) -> tuple[str, str]:
    # The verb is a ":" after the last segment, so after the last "/" and after the
    # last "}" (a variable's pattern never holds a ":").
    boundary = max(source.rfind("/"), source.rfind("}"))
    colon = source.find(":", boundary + 1)
    if colon < 0:
        return source, ""
    verb = source[colon + 1 :]
    if not verb or any(char in _VERB_FORBIDDEN for char in verb):
        raise TemplateError(f"path template {source!r}: bad verb {verb!r}")
    return source[:colon], verb
