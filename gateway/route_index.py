"""Which path templates of a route table match a request path, without trying each one.

`PathTemplate.match` decides a path by a few facts only: the custom verb at the end of
the last segment, the number of segments, and, at each position a template constrains,
whether the segment is empty and whether it equals (percent-decoded) the literal the
template expects there. So templates are grouped by verb and segment count, and within
a group a path reduces to a short "signature": per constrained position, the literal it
equals, `EMPTY` or `OTHER`. What a signature resolves to is worked out once, by the same
rules, and kept; every later path with that signature costs a few dict look-ups.

The order of precedence is `RouteTable.resolve_by_scan`'s, which tests hold this to:
templates with the path's verb first, and only when none of them matches, the templates
without a verb (so `/api-keys/k:rotate` is RotateApiKey, not GetApiKey of "k:rotate").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Generic, TypeVar
from urllib.parse import unquote

from gateway.http_rules import PathTemplate, SegmentKind

# A raw segment that is empty: no literal is (literals are never empty) and `*` refuses it.
EMPTY: Final = ""
# A non-empty segment equal to none of the literals expected at its position; None can
# never be a literal.
OTHER: Final = None
# Signatures are few (bounded by the literals of the templates), so this only caps what
# a table far larger than ours could keep; past it, answers are worked out every time.
SIGNATURES_KEPT_MAX: Final = 4096

Outcome = TypeVar("Outcome")
Signature = tuple[str | None, ...]


@dataclass(frozen=True)
class _Candidate:
    # Position of the template in the table: ties between equally specific templates
    # go to the earlier one, so the order of matches must be the table's.
    index: int
    # (slot in the group's signature, literal to equal there, or None for "non-empty").
    checks: tuple[tuple[int, str | None], ...]


class _Group(Generic[Outcome]):
    """The templates that can match paths with one verb and one segment count."""

    def __init__(
        self,
        templates: Sequence[tuple[int, PathTemplate]],
        summarize: Callable[[tuple[int, ...]], Outcome],
    ) -> None:
        constraints = [(index, _constraints(template)) for index, template in templates]
        positions = sorted({position for _, checks in constraints for position, _ in checks})
        slot_of = {position: slot for slot, position in enumerate(positions)}
        literals: dict[int, set[str]] = {position: set() for position in positions}
        for _, checks in constraints:
            for position, literal in checks:
                if literal is not None:
                    literals[position].add(literal)
        self._positions = tuple((position, frozenset(literals[position])) for position in positions)
        self._candidates = tuple(
            _Candidate(index, tuple((slot_of[position], literal) for position, literal in checks))
            for index, checks in constraints
        )
        self._summarize = summarize
        self._kept: dict[Signature, Outcome | None] = {}

    def outcome(self, segments: Sequence[str]) -> Outcome | None:
        """What the matching templates summarize to, or None when none matches."""
        signature = self._signature(segments)
        try:
            return self._kept[signature]
        except KeyError:
            pass
        matching = tuple(
            candidate.index
            for candidate in self._candidates
            if all(
                signature[slot] == literal if literal is not None else signature[slot] != EMPTY
                for slot, literal in candidate.checks
            )
        )
        outcome = self._summarize(matching) if matching else None
        if len(self._kept) < SIGNATURES_KEPT_MAX:
            self._kept[signature] = outcome
        return outcome

    def _signature(self, segments: Sequence[str]) -> Signature:
        signature: list[str | None] = []
        for position, literals in self._positions:
            raw = segments[position]
            if not raw:
                signature.append(EMPTY)
                continue
            # unquote() returns a string without "%" unchanged; skipping the call is
            # only quicker.
            text = unquote(raw) if "%" in raw else raw
            signature.append(text if text in literals else OTHER)
        return tuple(signature)


def _constraints(template: PathTemplate) -> tuple[tuple[int, str | None], ...]:
    """(position, literal or None for `*`) for every segment before a trailing `**`."""
    checks: list[tuple[int, str | None]] = []
    for position, segment in enumerate(template.segments):
        if segment.kind is SegmentKind.MULTI:
            break
        checks.append((position, segment.literal if segment.kind is SegmentKind.LITERAL else None))
    return tuple(checks)


def _groups_by_count(
    templates: Sequence[tuple[int, PathTemplate]], summarize: Callable[[tuple[int, ...]], Outcome]
) -> tuple[_Group[Outcome] | None, ...]:
    """Entry n-1 serves paths of n segments; the last entry also serves every longer
    path, which only templates ending in `**` can match, and all of those do."""
    longest = max(len(template.segments) for _, template in templates)
    groups: list[_Group[Outcome] | None] = []
    for count in range(1, longest + 2):
        members = [(index, template) for index, template in templates if _serves(template, count)]
        groups.append(_Group(members, summarize) if members else None)
    return tuple(groups)


def _serves(template: PathTemplate, count: int) -> bool:
    """Whether the template can match a path of `count` segments: `**` takes zero or more."""
    length = len(template.segments)
    return length - 1 <= count if template.has_multi else length == count


class TemplateIndex(Generic[Outcome]):
    """Resolves raw path segments (see `split_path`) to `summarize(indices)`, where
    indices are the positions, in table order, of the templates that match."""

    def __init__(
        self, templates: Sequence[PathTemplate], summarize: Callable[[tuple[int, ...]], Outcome]
    ) -> None:
        by_verb: dict[str, list[tuple[int, PathTemplate]]] = {}
        for index, template in enumerate(templates):
            by_verb.setdefault(template.verb, []).append((index, template))
        plain = by_verb.pop("", [])
        self._plain = _groups_by_count(plain, summarize) if plain else ()
        self._with_verb = {verb: _groups_by_count(members, summarize) for verb, members in by_verb.items()}

    def lookup(self, segments: list[str]) -> tuple[Outcome, list[str]] | None:
        """The outcome, and the segments the matching templates saw (the last one without
        its ":verb" when templates with a verb matched); None when nothing matches."""
        last = segments[-1]
        if ":" in last and self._with_verb:
            # A verb never holds ":", so only the text after the last one can be it.
            stem, _, verb = last.rpartition(":")
            groups = self._with_verb.get(verb)
            if groups is not None:
                unverbed = [*segments[:-1], stem]
                outcome = _outcome_of(groups, unverbed)
                if outcome is not None:
                    return outcome, unverbed
        outcome = _outcome_of(self._plain, segments)
        return None if outcome is None else (outcome, segments)


def _outcome_of(groups: tuple[_Group[Outcome] | None, ...], segments: list[str]) -> Outcome | None:
    if not groups:
        return None
    group = groups[min(len(segments), len(groups)) - 1]
    return None if group is None else group.outcome(segments)
