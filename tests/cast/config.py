"""One tkalert.conf writer for every test: a machine that sends to a test's SMTP server.

With `keys` (cast.keys.Keys) the config names the sender's GnuPG home (or `home`), the vendor key and the system
key; without, it has no [gnupg] section (the spool's tests seal nothing). `extra` is raw text appended to the
[destination vendor] section; `sections` adds whole sections, {"storm": {"rate": "1"}}.
"""

from __future__ import annotations

from pathlib import Path


def write_config(path: Path, keys, port: int, state_dir: Path, home: Path | None = None, extra: str = "", *,
                 sections: dict[str, dict[str, str]] | None = None, timeout: float = 5,
                 spool_dir: Path | None = None) -> Path:
    gnupg = ""
    if keys is not None:
        gnupg = (f"[gnupg]\nhome = {home or keys.sender_home}\nvendor_keys = {keys.vendor}\n"
                 f"system_key = {keys.system}\n\n")
    text = f"""[tkalert]
auth_key = 0123456789a
contact_person = Testperson
contact_mail = admin@acme-gmbh.de
system_id = test-system
state_dir = {state_dir}
spool_dir = {spool_dir or state_dir / "spool"}
destinations = vendor

{gnupg}[destination vendor]
transport = smtp
host = 127.0.0.1
port = {port}
mail_to = callhome@vendor.test
mail_from = tkalert@customer.test
timeout = {timeout}
{extra}"""
    for name, values in (sections or {}).items():
        text += f"\n[{name}]\n" + "".join(f"{key} = {value}\n" for key, value in values.items())
    path.write_text(text, encoding="utf-8")
    return path
