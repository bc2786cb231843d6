"""A monitoring server's /etc in a test directory: real-looking config files of Icinga 2, Nagios 4, Zabbix 6 and
snmpd with secrets planted in them, decoys the report must never open, and the config that reports them."""

from __future__ import annotations

import os
from pathlib import Path

from cast.config import write_config

# every secret planted below: none of them may ever appear in a sealed report or in the local state
SECRETS = {
    "icinga2 ApiUser": "Api-Root-Pa55-4f1e",
    "icinga2 IdoPgsqlConnection": "Ido-Pg-Pa55-9c2d",
    "icinga2 TicketSalt": "5a1t-0f-7he-t1cket-88e1",
    "icinga2 tkmon auth key": "tkmon-AUTH-6b2f",
    "nagios $USER3$": "Nagios-Db-Pa55-1b7a",
    "zabbix DBPassword": "Zbx-Db-Pa55-c0c0",
    "zabbix PSK": "8f1c2a7e9b3d4c6f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071",
    "zabbix TLSPSKIdentity": "PSK-Ident-77aa",
    "snmpd rocommunity": "S3cr3tC0mmun1ty",
    "snmpd com2sec": "C0m2secC0mm",
    "snmpd createUser auth": "Usm-Auth-Pa55-e4",
    "snmpd createUser priv": "Usm-Priv-Pa55-f5",
    "tkalert auth key": "0123456789a",
    "a configured pattern": "INTERNAL-9911",
}
S = SECRETS

FILES = {
    "icinga2/icinga2.conf": 'include "constants.conf"\ninclude_recursive "conf.d"\ninclude "features-enabled/*.conf"\n',
    "icinga2/constants.conf": f'const PluginDir = "/usr/lib/nagios/plugins"\nconst NodeName = "mon01.acme-gmbh.de"\n'
                              f'const TicketSalt = "{S["icinga2 TicketSalt"]}"\n',
    "icinga2/conf.d/api-users.conf": f'/**\n * The API user for Icinga Web 2.\n */\nobject ApiUser "root" {{\n'
                                     f'  password = "{S["icinga2 ApiUser"]}"\n  permissions = [ "*" ]\n}}\n',
    "icinga2/conf.d/hosts.conf": 'object Host NodeName {\n  import "generic-host"\n  address = "127.0.0.1"\n'
                                 f'  vars.os = "Linux"\n  vars.tkmon_authkey = "{S["icinga2 tkmon auth key"]}"\n'
                                 f'  vars.contract = "{S["tkalert auth key"]}"\n'
                                 f'  vars.ticket = "see {S["a configured pattern"]}"\n}}\n',
    "icinga2/features-available/ido-pgsql.conf": (
        'library "db_ido_pgsql"\n\nobject IdoPgsqlConnection "ido-pgsql" {\n  user = "icinga2"\n'
        f'  password = "{S["icinga2 IdoPgsqlConnection"]}"\n  host = "localhost"\n  database = "icinga2"\n}}\n'),
    "nagios4/nagios.cfg": "log_file=/var/log/nagios4/nagios.log\ncfg_dir=/etc/nagios4/conf.d\n"
                          "resource_file=/etc/nagios4/resource.cfg\n",
    "nagios4/resource.cfg": "# Sets $USER1$ to be the path to the plugins\n$USER1$=/usr/lib/nagios/plugins\n\n"
                            f"# Store sensitive information here\n$USER3$={S['nagios $USER3$']}\n",
    "zabbix/zabbix_server.conf": "LogFile=/var/log/zabbix/zabbix_server.log\nDBHost=localhost\nDBName=zabbix\n"
                                 f"DBUser=zabbix\nDBPassword={S['zabbix DBPassword']}\nTimeout=4\n",
    "zabbix/zabbix_agentd.conf": f"Server=127.0.0.1\nTLSConnect=psk\nTLSPSKIdentity={S['zabbix TLSPSKIdentity']}\n"
                                 "TLSPSKFile=/etc/zabbix/agent.psk\n",
    "zabbix/agent.psk": S["zabbix PSK"] + "\n",
    "snmp/snmpd.conf": "sysLocation    Server room 2\nsysContact     Jane Admin <jane@acme-gmbh.de>\n"
                       f"rocommunity {S['snmpd rocommunity']} default -V systemonly\n"
                       f"com2sec readonly 10.0.0.0/8 {S['snmpd com2sec']}\n"
                       f"createUser bob SHA {S['snmpd createUser auth']} AES {S['snmpd createUser priv']}\n",
}
# outside the allow-list: the report must never open them
DECOYS = {
    "icinga2/pki/mon01.key": "-----BEGIN PRIVATE KEY-----\nDECOY-PKI\n-----END PRIVATE KEY-----\n",
    "nagios4/htpasswd.users": "nagiosadmin:$apr1$DECOY$HASH\n",
    "shadow": "root:DECOY-SHADOW:19000:0:99999:7:::\n",
}


def build_site(base: Path) -> Path:
    """Write the files under base/etc; return that directory."""
    etc = base / "etc"
    for name, text in {**FILES, **DECOYS}.items():
        path = etc / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    enabled = etc / "icinga2" / "features-enabled"
    enabled.mkdir()
    os.symlink("../features-available/ido-pgsql.conf", enabled / "ido-pgsql.conf")
    os.symlink(etc / "shadow", etc / "icinga2" / "conf.d" / "evil.conf")  # allowed name, forbidden target
    return etc


def report_sections(etc: Path, **report) -> dict[str, dict[str, str]]:
    return {"report": {"files.icinga2": f"{etc}/icinga2/**/*.conf", "files.nagios4": f"{etc}/nagios4/**/*.cfg",
                       "files.zabbix6": f"{etc}/zabbix/**/*.conf {etc}/zabbix/**/*.psk",
                       "files.snmpd": f"{etc}/snmp/snmpd.conf", **report},
            "redact": {"pattern.ticket": r"INTERNAL-\d+"}}


def site_config(path: Path, keys, port: int, state: Path, etc: Path, **report) -> Path:
    return write_config(path, keys, port, state, sections=report_sections(etc, **report))


def allowed_files(etc: Path) -> set[str]:
    """The regular files the report may open."""
    return {str(etc / name) for name in FILES}
