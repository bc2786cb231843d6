"""Probe: the step-by-step set-up test behind `tkalert test`, one `Step` per stage of a connection.

A transport's `probe()` walks the same stages its `deliver()` does (token, connect, TLS with the certificate's
SHA-256 fingerprint, authenticate) and stops at the first that fails, saying what went wrong and what to do.
It never sends a message. Like KBR's test protocol, each line names one stage so an admin knows where to look.
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from tkalert.sender.deliver.failure import TransportFailure, classify

EXPECTED = (OSError, smtplib.SMTPException, TransportFailure)


@dataclass(frozen=True)
class Step:
    name: str
    ok: bool
    detail: str
    fix: str | None = None


def run_steps(stages: Iterable[tuple[str, Callable[[], str]]]) -> list[Step]:
    """Run each stage; a stage returns its detail line or raises an expected failure, which ends the walk."""
    steps = []
    for name, stage in stages:
        try:
            steps.append(Step(name, True, stage()))
        except EXPECTED as exc:
            failure = classify(exc)
            steps.append(Step(name, False, failure.reason, failure.fix))
            break
    return steps
