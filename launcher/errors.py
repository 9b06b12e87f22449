"""The one failure the launcher reports to a person: a sentence saying what to change."""

from __future__ import annotations


class LaunchError(Exception):
    """Something the operator can fix (a taken port, an unreachable database).

    The message is shown as is, without a traceback, so it must name the cause and,
    where there is one, the flag that changes it.
    """
