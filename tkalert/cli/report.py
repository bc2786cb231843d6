"""`tkalert report` and `tkalert --type report`: send the daily system report, or print it (`--preview`).

Runs tkalert.sender.pipeline.send_report (or preview_report) and shows the outcome as the send command does: one
line and its exit code, or as a plugin (`--type report --check`) one status line. Errors go to the boundary.
"""

from __future__ import annotations

import sys

import click


@click.command(name="report")
@click.option("--config", envvar="TKALERT_CONFIG", metavar="FILE", default=None,
              help="Config file (default /etc/tkalert/tkalert.conf).")
@click.option("--gnupg-config", metavar="FILE", default=None,
              help="TKalert 1.5 gnupg.conf (its directory is the GnuPG home).")
@click.option("--full", is_flag=True, help="Send every file's content, not only what changed since the last report.")
@click.option("--preview", is_flag=True, help="Print the exact document that would be sealed; send nothing.")
def report(config, gnupg_config, full, preview):
    """Send the system report: manifest of the configured files, content of what changed (redacted)."""
    from tkalert.config.settings import load_settings

    settings = load_settings(config)
    if preview:
        from tkalert.sender.pipeline import preview_report

        sys.stdout.buffer.write(preview_report(settings, full))
        sys.stdout.flush()
        return 0
    result = send(settings, gnupg_config, full)
    return exit_code(result)


def send(settings, gnupg_config: str | None, full: bool = False, encrypt: bool = True,
         override_to: str | None = None):
    from tkalert.openpgp.home import resolve_home
    from tkalert.sender.pipeline import SendOptions, send_report

    options = SendOptions(gnupg_home=resolve_home(settings.gnupg_home, gnupg_config), encrypt=encrypt,
                          override_to=override_to)
    return send_report(settings, options, full)


def exit_code(result) -> int:
    from tkalert.cli.boundary import fail
    from tkalert.errors import one_line

    if result.state == "failed":
        return fail(f"could not send report: {result.reason}", 1)
    detail = f" ({one_line(result.reason)})" if result.reason else ""
    click.echo(f"report {result.message_id or ''}: {result.state}{detail}".replace("report : ", "report: "))
    return 0


def report_from_hook(params: dict, settings, started: float, write_dump) -> int:
    """`tkalert --type report` on TKalert 1.5's command line: its auth key and contact options, --dump-xml
    (the preview, written by the send command's `write_dump` as any document), --check, --gnupg-config,
    --override-target-mail."""
    from tkalert.cli.boundary import plugin_line
    from tkalert.document.event import absent_to_none

    settings = settings.replace(**{key: absent_to_none(params[key]) or getattr(settings, key)
                                 for key in ("auth_key", "contact_person", "contact_mail")})
    if params["dump"] is not None:
        from tkalert.sender.pipeline import preview_report

        document = preview_report(settings)
        if params["dump"] == "-":
            sys.stdout.buffer.write(document)
            sys.stdout.flush()
        else:
            write_dump(params["dump"], document)
        return plugin_line("OK", f"wrote report to {params['dump']}, sent nothing", started) if params["check"] \
            else 0
    result = send(settings, params["gnupg_config"], encrypt=not params["disable_gpg_encryption"],
                  override_to=params["override_target_mail"] or None)
    if params["check"]:
        state = {"sent": "OK", "queued": "WARNING", "skipped": "WARNING"}.get(result.state, "CRITICAL")
        return plugin_line(state, f"report {result.state}" + (f": {result.reason}" if result.reason else ""),
                           started)
    return exit_code(result)
