"""The hostile corpus (tests/cast/hostile.py) through the whole receiver: ingested by the MTA pipe, imported,
opened and judged by `work`, on SQLite and PostgreSQL. Every case is kept (raw bytes and all), none is accepted,
each has its own reason, and the receiver keeps running: a good mail ingested after the corpus is accepted.

Two cases read differently once the judge has the database: the corpus' "replay" (the same signed mail again) is
the same message id, so it is a "duplicate" no-op, as a spool's resend is; and "sequence-backwards" (5 after 10)
needs `replay_window = 0`, the strict setting, since the default tolerates the reordering of concurrent hooks.
"""

from __future__ import annotations

from cast import mails
from cast.hostile import JUDGE_REPLAY_SYSTEM, JUDGE_SEQUENCE_SYSTEM, hostile_cases, setup
from cast.keys import LEGACY_PASSPHRASE
from cast.mails import LEGACY_AUTH_KEY, SYSTEM_ID

from tkalert.openpgp.keys import export_public

SAME_ID = {"replay": ("duplicate", "duplicate")}


def test_the_hostile_corpus_is_quarantined_case_by_case_and_the_receiver_keeps_going(tmp_path, make_site, keys,
                                                                                    database_url):
    corpus = hostile_cases(keys)
    wanted = setup(keys)
    passphrase = tmp_path / "passphrase"
    passphrase.write_text(LEGACY_PASSPHRASE)
    site = make_site(database_url,
                    extra=f"replay_window = 0\npassphrase_file = {passphrase}\n")
    key_file = tmp_path / "system.asc"
    key_file.write_bytes(export_public(keys.sender_home, keys.system))
    for system in (JUDGE_REPLAY_SYSTEM, JUDGE_SEQUENCE_SYSTEM):
        site.ok("systems", "trust", system, str(key_file))
    site.ok("contracts", "add", LEGACY_AUTH_KEY, "--legacy")
    assert set(wanted.pins) == {SYSTEM_ID, JUDGE_REPLAY_SYSTEM, JUDGE_SEQUENCE_SYSTEM}

    for case in corpus:
        for earlier in case.before:
            assert site.run("ingest", input=earlier).returncode == 0
    site.ok("work", "--once")
    accepted_before = len(site.rows())
    assert {verdict for verdict, _, _ in site.rows()} == {"accepted"}

    for case in corpus:
        done = site.run("ingest", input=case.raw)
        assert done.returncode == 0, (case.name, done.stderr)
    good = mails.sealed_mail(keys, mails.document("service", sequence=99))
    site.run("ingest", input=good)
    site.ok("work", "--once")

    rows = site.rows("SELECT verdict, reason, length(raw) FROM receiver_message WHERE parent_id IS NULL "
                     "ORDER BY id")[accepted_before:]
    assert len(rows) == len(corpus) + 1
    got = {case.name: (verdict, reason) for case, (verdict, reason, _) in zip(corpus, rows, strict=False)}
    expected = {case.name: SAME_ID.get(case.name, ("replay" if case.reason == "sequence-backwards"
                                                   else "quarantined", case.reason)) for case in corpus}
    assert got == expected
    assert [length for _, _, length in rows[:-1]] == [len(case.raw) for case in corpus]  # raw kept
    assert rows[-1][:2] == ("accepted", "")
    assert len(corpus) >= 30
