"""Owner: every spool and state file belongs to the one service user the monitoring daemon runs tkalert as.

The daemons run the hook as `nagios` or `zabbix`; an admin runs `tkalert flush`, `test` or `log` as root, and so do
cron and systemd unless told otherwise. A root process that creates `flush.lock`, an area or a rewritten entry
leaves files the service user cannot write, and from then on every hook fails. So a command that runs as root on a
spool owned by another user becomes that user before it touches anything (real, effective and saved ids, groups,
HOME): every file it creates belongs to the spool's owner. A spool that does not exist yet belongs to whoever owns
the directory it will be made in (a state directory the admin gave to `nagios`). Nothing changes for a non-root
caller, nor when that directory is root's.
"""

from __future__ import annotations

import os


def act_as_spool_owner(settings) -> str | None:
    """Switch this process to the spool directory's owner when running as root; return that user's name."""
    if os.geteuid() != 0:
        return None
    found = _nearest_existing(os.fspath(settings.spool_dir))
    if found is None or found.st_uid == 0:
        return None
    owner = found.st_uid
    import pwd

    try:
        user = pwd.getpwuid(owner)
    except KeyError:  # a uid without a name: still drop root, to that uid and its group
        user = None
    group = user.pw_gid if user else found.st_gid
    if user:
        os.initgroups(user.pw_name, group)
    else:
        os.setgroups([group])
    os.setgid(group)
    os.setuid(owner)
    name = user.pw_name if user else str(owner)
    if user:
        os.environ.update(HOME=user.pw_dir, USER=name, LOGNAME=name)
    return name


def _nearest_existing(path: str) -> os.stat_result | None:
    candidate = os.path.abspath(path)
    while True:
        try:
            return os.stat(candidate)
        except FileNotFoundError:
            parent = os.path.dirname(candidate)
            if parent == candidate:
                return None
            candidate = parent
        except OSError:
            return None
