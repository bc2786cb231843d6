"""The Zabbix API, through pyzabbix: log in from the config's [zabbix] section, read a host's inventory, import
the media type, give a user the media and create the action that uses it.

The alert script imports this module only when a message lacks serial or OS and the config names an API; the
`tkalert zabbix setup` command uses the rest. Every failure (unreachable server, refused login, an API error)
becomes an `ApiError` with one line that says what to fix.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Mapping

from tkalert.config.fields import Section
from tkalert.errors import TkalertError, one_line

MEDIA_TYPE_NAME = "tkalert"  # the name in media_type.yaml
ZABBIX_KEYS = {"url", "user", "password", "password_file", "token", "token_file", "timeout", "ca_file"}
EVENT_SOURCE_TRIGGERS = 0
CONDITION_EVENT_TAG = 25  # action condition type "Tag name"; host, template and trigger tags all reach events
OPERATION_SEND_MESSAGE = 0
# The alert script's whole inventory lookup (login, query, logout) gets at most this long: with the spool's
# hook_budget (20 s) it stays well inside the 40 s after which Zabbix kills an alert script.
INVENTORY_BUDGET = 10.0


class ApiError(TkalertError):
    """The Zabbix API could not be reached or refused a request."""

    exit_code = 1


@dataclass(frozen=True)
class ApiAccess:
    """Where the Zabbix API is and how to log in: a user and password, or an API token."""

    url: str
    user: str | None = None
    password: str | None = None
    token: str | None = None
    timeout: float = 5.0
    ca_file: str | None = None


def media_type_yaml() -> str:
    """The media type shipped with this package (contrib/zabbix/ links to the same file)."""
    return resources.files("tkalert.integrations.zabbix").joinpath("media_type.yaml").read_text(encoding="utf-8")


def access_from_section(section: Mapping[str, str], base: Path, file: Path | None = None,
                        where: str | None = None) -> ApiAccess | None:
    """The [zabbix] section (of the config `file`, files in it relative to `base`) as ApiAccess; None when it
    names no url. Unknown keys are errors (typos); `where` overrides the place errors name (the command line)."""
    fields = Section(section, ZABBIX_KEYS, "zabbix", file, base=base, where=where)
    url = fields.text("url")
    if not url:
        return None
    user = fields.text("user")
    password = fields.text("password") or fields.secret("password_file")
    token = fields.text("token") or fields.secret("token_file")
    if not token and not (user and password):
        raise fields.error("give token or token_file, or user and password or password_file")
    timeout = min(max(fields.duration("timeout", 5.0), 0.5), 300.0)
    ca_file = fields.path("ca_file")
    return ApiAccess(url, user, password, token, timeout, str(ca_file) if ca_file else None)


class Session:
    """One logged-in API session; use it as a context manager so a password login is logged out again."""

    def __init__(self, access: ApiAccess):
        self.access = access
        self.api = None

    def __enter__(self) -> "Session":
        from pyzabbix import ZabbixAPI

        self.api = ZabbixAPI(self.access.url, timeout=self.access.timeout)
        if self.access.ca_file:
            self.api.session.verify = self.access.ca_file
        self.call(self._log_in, "log in")
        return self

    def _log_in(self, api) -> None:
        """An API token is sent as the session's auth, which both pyzabbix 0.8 (Debian 12's, whose login() has no
        api_token) and pyzabbix >= 1.0 send to Zabbix 6.0; a user logs in with user.login."""
        if self.access.token:
            if "api_token" in inspect.signature(api.login).parameters:
                api.login(api_token=self.access.token)
            else:
                api.auth = self.access.token
            return
        api.login(user=self.access.user or "", password=self.access.password or "")

    def __exit__(self, *exc_info) -> None:
        if self.api is not None and self.api.auth and not self.access.token:
            try:
                self.api.user.logout()
            except Exception:  # the session expires on its own; a failed logout must not hide the real outcome
                pass

    def call(self, request, what: str):
        """Run request(api); turn every transport or API failure into ApiError naming `what`."""
        from pyzabbix import ZabbixAPIException
        from requests import RequestException

        try:
            return request(self.api)
        except ZabbixAPIException as exc:
            error = exc.error or {}
            detail = f"{error.get('message', '')} {error.get('data', '')}".strip() or str(exc)
            raise ApiError(f"Zabbix API at {self.access.url} refused to {what}: {one_line(detail)}") from None
        except (RequestException, ValueError) as exc:
            raise ApiError(f"cannot reach the Zabbix API at {self.access.url} to {what}: {one_line(exc)}") from None

    def host_inventory(self, host: str) -> dict[str, str]:
        """{"serial": ..., "os": ...} from the host's inventory (technical name); empty values left out."""
        hosts = self.call(lambda api: api.host.get(filter={"host": [host]}, output=["hostid"],
                                                   selectInventory=["serialno_a", "os"]), f"read host {host!r}")
        inventory = hosts[0].get("inventory") if hosts else None
        if not isinstance(inventory, dict):  # no such host, or its inventory is disabled ([] in the API)
            return {}
        found = {"serial": inventory.get("serialno_a", ""), "os": inventory.get("os", "")}
        return {key: value.strip() for key, value in found.items() if value and value.strip()}

    def media_type_id(self) -> str | None:
        found = self.call(lambda api: api.mediatype.get(filter={"name": MEDIA_TYPE_NAME}, output=["mediatypeid"]),
                          "read media types")
        return found[0]["mediatypeid"] if found else None

    def import_media_type(self, source: str) -> tuple[str, str]:
        """configuration.import of the media type; returns (created|updated, mediatypeid)."""
        before = self.media_type_id()
        rules = {"mediaTypes": {"createMissing": True, "updateExisting": True}}
        self.call(lambda api: api.configuration["import"](format="yaml", source=source, rules=rules),
                  "import the media type")
        after = self.media_type_id()
        if after is None:
            raise ApiError(f"the import succeeded but Zabbix has no media type {MEDIA_TYPE_NAME!r}")
        return ("updated" if before else "created"), after

    def user_id(self, username: str) -> tuple[str, list[dict]]:
        users = self.call(lambda api: api.user.get(filter={"username": username}, output=["userid"],
                                                   selectMedias="extend"), f"read user {username!r}")
        if not users:
            raise ApiError(f"Zabbix has no user {username!r} (give an existing user to --user-media)")
        return users[0]["userid"], users[0].get("medias", [])

    def add_user_media(self, username: str, mediatypeid: str, sendto: str) -> str:
        """Give the user a tkalert media sending to `sendto` (all severities, always); unchanged if it has one."""
        userid, medias = self.user_id(username)
        if any(m["mediatypeid"] == mediatypeid and _sendto(m) == sendto for m in medias):
            return "unchanged"
        kept = [{key: m[key] for key in ("mediatypeid", "sendto", "active", "severity", "period")} for m in medias]
        new = {"mediatypeid": mediatypeid, "sendto": sendto, "active": 0, "severity": 63, "period": "1-7,00:00-24:00"}
        self.call(lambda api: api.user.update(userid=userid, medias=[*kept, new]), f"add the media to {username!r}")
        return "added"

    def ensure_action(self, name: str, tag: str, username: str, mediatypeid: str) -> str:
        """An action sending problems, recoveries and updates of events tagged `tag` to the user's tkalert media."""
        found = self.call(lambda api: api.action.get(filter={"name": name}, output=["actionid"]), "read actions")
        if found:
            return "exists"
        userid, _ = self.user_id(username)
        message = {"operationtype": OPERATION_SEND_MESSAGE,
                   "opmessage": {"default_msg": 1, "mediatypeid": mediatypeid},
                   "opmessage_usr": [{"userid": userid}]}
        action = {
            "name": name, "eventsource": EVENT_SOURCE_TRIGGERS, "status": 0, "esc_period": "1h",
            "filter": {"evaltype": 0, "conditions": [{"conditiontype": CONDITION_EVENT_TAG, "operator": 0,
                                                      "value": tag}]},
            "operations": [{**message, "esc_step_from": 1, "esc_step_to": 1}],
            "recovery_operations": [message],
            "update_operations": [message],
        }
        self.call(lambda api: api.action.create(**action), f"create the action {name!r}")
        return "created"


def inventory_within(access: ApiAccess, host: str) -> dict[str, str]:
    """host_inventory in a fresh session, given up after access.timeout (at most INVENTORY_BUDGET) seconds in all:
    requests' own timeout counts per request, and login, query and logout are three or four of them."""
    from dataclasses import replace

    from tkalert.deadline import StillRunning, call_within

    access = replace(access, timeout=min(access.timeout, INVENTORY_BUDGET))

    def look_up() -> dict[str, str]:
        with Session(access) as session:
            return session.host_inventory(host)

    try:
        return call_within(access.timeout, look_up, "zabbix-inventory")
    except StillRunning:
        raise ApiError(f"no answer from the Zabbix API at {access.url} within {access.timeout:g}s") from None
    except TkalertError:
        raise
    except Exception as exc:
        raise ApiError(f"inventory lookup failed: {one_line(exc)}") from None


def _sendto(media: dict) -> str:
    sendto = media.get("sendto")
    return sendto[0] if isinstance(sendto, list) and sendto else str(sendto or "")

