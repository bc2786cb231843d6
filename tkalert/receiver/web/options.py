"""The dashboard's keys in receiver.conf's [receiver] section, read strictly with the rest of the file.

  web_listen     HOST:PORT the dashboard listens on (`serve` starts it) [none: no dashboard]
  web_tls        on: served over TLS with `certificate`/`certificate_key`; proxy: plain HTTP behind a TLS proxy
                 that sets X-Forwarded-Proto; off: plain HTTP (cookies not marked secure) [on with a certificate,
                 else off]
  web_session    how long a login lasts without activity [8h]
  metrics_allow  addresses or networks that may read /metrics without logging in [127.0.0.1, ::1]; empty: none

Only cheap standard modules: the MTA pipe reads receiver.conf too.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

WEB_KEYS = {"web_listen": None, "web_tls": None, "web_session": "8h", "metrics_allow": "127.0.0.1, ::1"}
TLS_MODES = ("on", "proxy", "off")


@dataclass(frozen=True)
class WebConfig:
    listen: tuple[str, int] | None = None
    tls: str = "off"
    session: float = 8 * 3600.0
    metrics_allow: tuple = ()

    @property
    def secure(self) -> bool:
        """Cookies only over HTTPS: the browser talks TLS to us or to the proxy in front."""
        return self.tls != "off"


def web_config(section, listen: tuple[tuple[str, int], ...], has_certificate: bool) -> WebConfig:
    if len(listen) > 1:
        raise section.error("web_listen takes one HOST:PORT")
    tls = section.choice("web_tls", TLS_MODES, "on" if has_certificate else "off")
    if tls == "on" and not has_certificate:
        raise section.error("web_tls = on needs certificate and certificate_key (or web_tls = proxy or off)")
    return WebConfig(listen=listen[0] if listen else None, tls=tls, session=section.duration("web_session"),
                     metrics_allow=networks(section))


def networks(section) -> tuple:
    found = []
    for item in (section.text("metrics_allow") or "").split(","):
        if item.strip():
            try:
                found.append(ipaddress.ip_network(item.strip(), strict=False))
            except ValueError:
                raise section.error(f"metrics_allow must be addresses or networks (127.0.0.1, 10.0.0.0/8, ::1), "
                                    f"not {item.strip()!r}") from None
    return tuple(found)


def may_read_metrics(config: WebConfig, address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip in network for network in config.metrics_allow)
