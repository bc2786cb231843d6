"""One racing receiver process for test_act_race.py: `act_race.py CONFIG ROLE SEED`.

ROLE migrate: create the tables and the cast (1,000 systems of 10 contracts, each with a heartbeat at T0);
ROLE alerts: judge and act on all 1,000 alerts (the same message ids in every process, in its own order), each in
one transaction retried once on a unique-index conflict, as the worker does; ROLE sweep: sweep at 50 h and 75 h
and deliver the outbox, several times.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from receiver.act_cast import T0, alert, at, contract, heartbeat, settings, system  # noqa: E402

SYSTEMS, CONTRACTS, ALERTS = 1000, 10, 1000
STATES = ("WARNING", "CRITICAL", "WARNING", "OK")


def alerts() -> list[tuple[str, int, str, str, float]]:
    """(message id, system number, service, state, hours): 250 episodes of four reports each."""
    found = []
    for n in range(ALERTS):
        episode, step = divmod(n, 4)
        found.append((f"race-{n}", episode % SYSTEMS, f"svc-{episode // SYSTEMS}", STATES[step], 1 + step))
    return found


def main(config_file: str, role: str, seed: int) -> None:
    from django.db import IntegrityError, OperationalError

    from tkalert.receiver.config import load_config
    from tkalert.receiver.django_setup import migrate, start_django

    config = load_config(config_file)
    start_django(config)
    from tkalert.receiver.models import Contract

    relay = int(sys.argv[4]) if len(sys.argv) > 4 else None
    config = settings(config, relay)
    if role == "migrate":
        migrate()
        owners = [contract(f"contract-{c}", f"Customer {c}") for c in range(CONTRACTS)]
        for n in range(SYSTEMS):
            system(f"sys-{n:04}", owners[n % CONTRACTS])
            heartbeat(config, owners[n % CONTRACTS], f"sys-{n:04}", T0 + (n % 7) * (at(1) - at(0)) * 3)
        return
    owners = {c.auth_key: c for c in Contract.objects.all()}
    if role == "alerts":
        todo = alerts()
        random.Random(seed).shuffle(todo)
        for message_id, number, service, state, hours in sorted(todo, key=lambda a: a[4]):
            owner = owners[f"contract-{number % CONTRACTS}"]
            for _ in range(5):
                try:
                    alert(config, owner, f"sys-{number:04}", at(hours), state, service=service,
                          message_id=message_id)
                    break
                except (IntegrityError, OperationalError):
                    continue
        return
    from tkalert.receiver.escalate import sweep
    from tkalert.receiver.relay import deliver_due

    for hours in (49, 50, 50, 51, 60, 75, 75, 76, 80):
        sweep(config.act, at(hours))
        deliver_due(config, at(hours))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
