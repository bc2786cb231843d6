"""Microsoft 365 transport (`transport = microsoft365`): SMTP with an OAuth2 token instead of a password.

Exchange Online no longer accepts passwords for SMTP AUTH; an app registered in Entra ID gets a token with
the client-credentials flow (msal's `acquire_token_for_client`) and logs in with SASL XOAUTH2 as the mailbox in
`username`. Everything else (stages, TLS trust, mail format, outcomes) is the SMTP transport's: this module only
adds a `token` stage before `connect` and replaces the `authenticate` step. msal is imported only when a token is
fetched, so the notification hook does not pay for it unless this transport is used.
A refused client (bad secret, unknown client, missing consent) is permanent; an unreachable identity platform is
temporary.

Options of a `[destination NAME]` section with `transport = microsoft365` (default in brackets):
  tenant             directory (tenant) id or domain [required]
  client_id          application (client) id of the app registration [required]
  client_secret_file file holding the client secret, relative to the config file [required]
  username           mailbox to send as; the app needs SMTP.SendAsApp for it [required]
  authority          identity platform base URL; the tenant is appended [https://login.microsoftonline.com]
  token_ca_file      CA certificates (PEM) to verify the identity platform with [the system's]
  scope              [https://outlook.office365.com/.default]
  host               [smtp.office365.com]
  port               [587 for starttls, 465 for smtps]
  security           starttls | smtps [starttls]
  verify, ca_file, pin_sha256, mail_to, format, timeout: as for smtp
  mail_from          [username]
"""

from __future__ import annotations

import smtplib
from typing import ClassVar

from tkalert.errors import one_line
from tkalert.sender.deliver.failure import TransportFailure
from tkalert.sender.deliver.destination import REQUIRED, DestinationOptions
from tkalert.sender.deliver.smtp import MAIL_OPTIONS, TLS_OPTIONS, SmtpTransport

# OAuth2 error codes (RFC 6749 section 5.2) that no retry can fix.
REFUSALS = {"invalid_client", "unauthorized_client", "invalid_request", "invalid_scope", "invalid_grant"}


class Microsoft365Transport(SmtpTransport):
    KNOWN: ClassVar[dict[str, object]] = {
        "tenant": REQUIRED, "client_id": REQUIRED, "client_secret_file": REQUIRED, "username": REQUIRED,
        "authority": "https://login.microsoftonline.com", "token_ca_file": None,
        "scope": "https://outlook.office365.com/.default",
        "host": "smtp.office365.com", "port": None, "security": "starttls", **TLS_OPTIONS, **MAIL_OPTIONS,
    }

    def read_credentials(self, options: DestinationOptions) -> None:
        if self.security == "none":
            raise options.error("security must be starttls or smtps (the token would cross in clear)")
        self.username = options.text("username")
        self.tenant = options.text("tenant")
        self.client_id = options.text("client_id")
        self.client_secret = options.secret("client_secret_file")
        self.authority = f"{options.text('authority').rstrip('/')}/{self.tenant}"
        if not self.authority.startswith("https://"):
            raise options.error("authority must be an https:// URL")
        self.token_ca_file = options.path("token_ca_file")
        self.scope = options.text("scope")
        self._token = None

    def default_sender(self, options: DestinationOptions) -> str:
        return options.text("username")

    def stages(self):
        return [("token", self._fetch_token), *super().stages()]

    def _fetch_token(self) -> str:
        result = self._acquire()
        if "access_token" not in result:
            error = result.get("error", "no_token")
            description = " ".join(str(result.get("error_description", "")).split()[:12])
            raise TransportFailure(
                f"{self.authority} refused a token: {error} {description}".strip(), error in REFUSALS,
                "check tenant, client_id and the secret in client_secret_file, and that the app has SMTP.SendAsApp",
            )
        self._token = result["access_token"]
        return f"token for client {self.client_id} from {self.authority}, valid {result.get('expires_in', '?')} s"

    def _acquire(self) -> dict:
        import msal
        import requests

        try:
            app = msal.ConfidentialClientApplication(
                self.client_id, client_credential=self.client_secret, authority=self.authority,
                instance_discovery=False,  # the authority is ours to name; no detour to login.microsoftonline.com
                http_client=_session(requests, self.token_ca_file, self.timeout),
            )
            return app.acquire_token_for_client(scopes=[self.scope])
        except requests.exceptions.SSLError as exc:
            raise TransportFailure(f"{self.authority}: certificate refused: {_short(exc)}", True,
                                   "give the identity platform's CA in token_ca_file") from None
        except requests.RequestException as exc:
            raise TransportFailure(f"{self.authority} unreachable: {_short(exc)}", False) from None
        except ValueError as exc:  # msal's OpenID discovery answered 4xx: unknown tenant or wrong authority
            raise TransportFailure(f"{self.authority}: {_short(exc)}", True, "check tenant and authority") from None

    def authenticate(self, client: smtplib.SMTP) -> str:
        client.ehlo_or_helo_if_needed()
        secret = f"user={self.username}\x01auth=Bearer {self._token}\x01\x01"
        # On failure the server sends a 334 JSON challenge; the empty answer makes it finish with 535.
        client.auth("XOAUTH2", lambda challenge=None: secret if challenge is None else "")
        return f"logged in as {self.username} with AUTH XOAUTH2"


def _session(requests, ca_file, timeout: float):
    """A requests session for msal; an explicit token_ca_file must win over REQUESTS_CA_BUNDLE, which a plain
    session's `verify` does not (psf/requests#3829), so it is passed on every request."""

    class Session(requests.Session):
        def request(self, *args, **kwargs):
            kwargs.setdefault("timeout", timeout)
            if ca_file:
                kwargs["verify"] = str(ca_file)
            return super().request(*args, **kwargs)

    return Session()


def _short(exc: Exception) -> str:
    return one_line(exc, 200)
