"""Running PostgreSQL when we are root, which it refuses: as an unprivileged system user.

CI containers and many developer VMs run as root. The cluster then belongs to a dedicated
system user, which must be able to reach the data directory and read the wheel's binaries.
"""

from __future__ import annotations

import os
import pwd
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from launcher.errors import LaunchError

SYSTEM_USER: Final = "embedded_postgres"
USERADD_TIMEOUT_S: Final = 30


@dataclass(frozen=True)
class SystemUser:
    name: str
    uid: int
    gid: int


def postgres_system_user() -> SystemUser | None:
    """The user PostgreSQL runs as, or None to run it as ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        entry = _create_system_user()
    return SystemUser(SYSTEM_USER, entry.pw_uid, entry.pw_gid)


def _create_system_user() -> pwd.struct_passwd:
    try:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SYSTEM_USER],
            check=True,
            capture_output=True,
            text=True,
            timeout=USERADD_TIMEOUT_S,
        )
    except (OSError, subprocess.SubprocessError) as error:
        raise LaunchError(
            f"PostgreSQL cannot run as root and the system user {SYSTEM_USER!r} could not be created "
            f"({error}); create it, or run payment-engine as an ordinary user"
        ) from error
    return pwd.getpwnam(SYSTEM_USER)


def grant_traverse(path: Path) -> None:
    """Lets other users pass through every parent of `path` (o+x), without listing them (no
    o+r): the least that lets the postgres user reach its data directory."""
    for parent in path.resolve().parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)


def grant_read_tree(root: Path) -> None:
    """Makes the wheel's PostgreSQL installation readable (and its programs runnable) by the
    postgres user; pip normally installs it so already, and then nothing is changed."""
    grant_traverse(root)
    for directory, _subdirs, files in os.walk(root):
        _add_mode(Path(directory), stat.S_IROTH | stat.S_IXOTH)
        for name in files:
            path = Path(directory) / name
            executable = path.stat().st_mode & stat.S_IXUSR
            _add_mode(path, stat.S_IROTH | (stat.S_IXOTH if executable else 0))


def give_to(path: Path, user: SystemUser) -> None:
    os.chown(path, user.uid, user.gid)


def _add_mode(path: Path, bits: int) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & bits != bits:
        path.chmod(mode | bits)
