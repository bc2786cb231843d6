"""The hostile corpus (tests/cast/hostile.py) through the open step: each case refused with its own reason and
nothing else raised; the judge's cases open fine (the judge refuses them). Times are printed, never asserted."""

from __future__ import annotations

import re
import time

import pytest

from cast.hostile import hostile_cases, setup
from cast.mails import MemoryDirectory
from tkalert.receiver.open import Refused, open_message


@pytest.fixture(scope="module")
def corpus(keys):
    return hostile_cases(keys)


@pytest.fixture(scope="module")
def receiver(keys):
    wanted = setup(keys)
    directory = MemoryDirectory(wanted.pins, {key for key, legacy in wanted.contracts.items() if legacy})
    return lambda raw: open_message(raw, home=keys.vendor_home, passphrase=wanted.passphrase, directory=directory)


def test_corpus_has_at_least_30_cases_with_the_named_ones(corpus):
    names = {case.name for case in corpus}
    assert len([c for c in corpus if not c.judge]) >= 30
    assert {"wrong-vendor-key", "unsigned", "unknown-signer", "other-key-than-pinned", "expired-key",
            "message-id-differs-from-header", "malformed-xml", "doctype-file-xxe", "doctype-network-xxe",
            "external-dtd", "billion-laughs", "quadratic-blowup", "deep-nesting", "huge-text-node",
            "20-mib-message", "non-utf8-body", "1000-mime-parts", "legacy-document-for-non-legacy-contract",
            "garbage-armor", "truncated-armor", "empty-body", "wrong-schema-root", "replay", "sequence-backwards",
            "unknown-auth-key"} <= names


def test_every_hostile_case_is_refused_with_its_own_reason(corpus, receiver, capsys):
    outcome, expected, took = {}, {}, {}
    for case in corpus:
        if case.judge:
            continue
        expected[case.name] = case.reason
        start = time.perf_counter()
        try:
            receiver(case.raw)
            outcome[case.name] = "ACCEPTED"
        except Refused as refused:
            outcome[case.name] = refused.reason
            assert refused.detail and "\n" not in refused.detail
        took[case.name] = time.perf_counter() - start
    with capsys.disabled():
        slowest = sorted(took.items(), key=lambda item: -item[1])[:5]
        print("\nslowest hostile cases: " + ", ".join(f"{name} {seconds:.3f}s" for name, seconds in slowest))
    assert outcome == expected


def test_judge_cases_open_fine_for_the_judge_to_refuse(corpus, receiver):
    judged = [case for case in corpus if case.judge]
    assert {case.reason for case in judged} == {"replay", "sequence-backwards", "unknown-auth-key"}
    for case in judged:
        for earlier in case.before:
            receiver(earlier)
        assert receiver(case.raw).signer


def test_damaged_messages_are_refused_never_raised(keys, receiver):
    """Random damage to good mails of every shape (a fixed seed, so a failure repeats): Refused or Opened only."""
    import random

    from cast import mails

    rng = random.Random(12)
    goods = [mails.sealed_mail(keys, mails.document("service"), shape, attach)
             for shape in ("pgpmime", "inline", "https") for attach in (False, True)]
    reasons = set()
    for _ in range(150):
        raw = bytearray(rng.choice(goods))
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(raw))
            cut = rng.choice(("flip", "drop", "insert"))
            if cut == "flip":
                raw[at] = rng.randrange(256)
            elif cut == "drop":
                del raw[at:at + rng.randint(1, 64)]
            else:
                raw[at:at] = rng.choice((b"\r\n", b"--", b"=", b"<", b"\x00", b"-----END PGP MESSAGE-----"))
        try:
            receiver(bytes(raw))
        except Refused as refused:
            reasons.add(refused.reason)
    assert len(reasons) >= 3


def test_damaged_documents_signed_by_the_pinned_key_are_refused_never_raised(keys, receiver):
    """Random damage to the document itself, then signed and sealed properly: the parser and the schema see it."""
    import random

    from cast import mails

    rng = random.Random(7)
    kinds = ("heartbeat", "test", "service", "host")
    for _ in range(60):
        doc = bytearray(mails.document(rng.choice(kinds)) if rng.random() < 0.8 else
                        mails.digest([mails.document("service"), mails.document("host")]))
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(doc))
            doc[at:at + rng.randint(0, 8)] = rng.choice((b"", b"<", b">", b"&", b"&amp;", b"]]>", b"\xff", b"9" * 30,
                                                        b"24:00:00", b"<a/>", b"</", b"\x00", b"&#0;", b"&#x10FFFF;"))
        try:
            claim = mails.signed_id(bytes(doc))  # the damaged document's own id, so the damage is what is judged
        except ValueError:
            claim = None
        if claim is not None and not re.fullmatch(r"[0-9a-f-]{36}", claim):
            claim = None  # damaged beyond what a mail header (the test's own builder) can carry
        try:
            receiver(mails.sealed_mail(keys, bytes(doc), message_id=claim))
        except Refused:
            pass
