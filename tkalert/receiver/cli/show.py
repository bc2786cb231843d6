"""How the admin commands print: aligned columns for lists, `key: value` lines for one thing, UTC times."""

from __future__ import annotations

from datetime import datetime

from tkalert.cli.boundary import emit
from tkalert.errors import UsageError, one_line


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%SZ") if value else "-"


def table(header: list[str], rows: list[list[str]]) -> None:
    rows = [[one_line(cell if cell not in (None, "") else "-") for cell in row] for row in rows]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        emit("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def pairs(items: list[tuple[str, object]]) -> None:
    for key, value in items:
        emit(f"{key}: {one_line(value) if value not in (None, '') else '-'}")


def one(queryset, what: str, **lookup):
    """The one row matching `lookup`, or a usage error naming what was not found."""
    found = queryset.filter(**lookup).first()
    if found is None:
        value = next(iter(lookup.values()))
        raise UsageError(f"no {what} {value!r} (list them with tkalert-receiver {what.split()[0]}s list)")
    return found
