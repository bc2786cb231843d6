"""A batch opened with one gpg run (open.seal_batch, tkalert.openpgp.multifile) against each message opened alone:
on the hostile corpus mixed with good messages of every shape, each message gets the same verdict and reason both
ways; the good ones really are opened by the batch's run; caps, deadline and the private folder hold. Real gpg."""

from __future__ import annotations

import os
import random

import pytest

from cast import mails
from cast.hostile import hostile_cases, setup
from cast.mails import MemoryDirectory
from tkalert.openpgp.multifile import decrypt_files, remove_stale
from tkalert.openpgp.unseal import decrypt
from tkalert.receiver.open import Refused, Sealed, open_message, seal_batch, unwrap


@pytest.fixture(scope="module")
def corpus(keys):
    return hostile_cases(keys)


@pytest.fixture(scope="module")
def wanted(keys):
    return setup(keys)


@pytest.fixture(scope="module")
def goods(keys):
    return [mails.sealed_mail(keys, mails.document(kind), shape, attach)
            for kind in ("heartbeat", "service") for shape in ("pgpmime", "inline", "https")
            for attach in (False, True)]


@pytest.fixture
def workdir(tmp_path):
    folder = tmp_path / "opening"
    folder.mkdir(mode=0o700)
    return folder


def verdict(opener, raw: bytes, **extra):
    """What open gives, as comparable data: the reason refused, or the opened message's fields."""
    try:
        opened = opener(raw, **extra)
    except Refused as refused:
        return ("refused", refused.reason)
    return ("opened", opened.message_id, opened.signer, opened.first_contact_key, opened.document, opened.fields)


def test_a_mixed_batch_gives_each_message_the_verdict_it_gets_alone(keys, corpus, wanted, goods, workdir):
    directory = MemoryDirectory(wanted.pins, {key for key, legacy in wanted.contracts.items() if legacy})

    def alone(raw, **extra):
        return open_message(raw, home=keys.vendor_home, passphrase=wanted.passphrase, directory=directory, **extra)

    raws = [case.raw for case in corpus if not case.judge] + goods
    random.Random(7).shuffle(raws)  # hostile files before, between and after the good ones
    sealed = seal_batch(raws, home=keys.vendor_home, passphrase=wanted.passphrase, workdir=workdir)
    assert len(sealed) == len(raws)
    for raw, one in zip(raws, sealed, strict=True):
        batched = ("refused", one.reason) if isinstance(one, Refused) else verdict(alone, raw, sealed=one)
        assert batched == verdict(alone, raw), raw[:200]
    by_raw = dict(zip(raws, sealed, strict=True))
    hostile = {case.name: case.raw for case in corpus if not case.judge}
    # the good ones, attached key or not, were opened by the batch's gpg run, not one by one; except those after
    # the compression bomb, whose plaintext passed the file-size cap: gpg was stopped there
    bomb = raws.index(hostile["compression-bomb"])
    assert 0 < sum(1 for raw in raws[:bomb] if raw in goods) < len(goods)
    for raw in goods:
        assert (by_raw[raw].opening is not None) == (raws.index(raw) < bomb)
    hostile = {name: by_raw[raw] for name, raw in hostile.items()}
    for name in ("unsigned", "unknown-signer", "wrong-vendor-key", "expired-key", "20-mib-message"):
        assert not isinstance(hostile[name], Sealed) or hostile[name].opening is None, name
    assert os.listdir(workdir) == []  # no plaintext left behind


def test_a_first_contact_falls_back_to_the_single_path(keys, workdir):
    """Nothing pinned, the signer's key attached: the batch's run cannot verify it, open runs gpg itself."""
    raw = mails.sealed_mail(keys, mails.document("heartbeat"), "pgpmime", True)
    stranger = MemoryDirectory({})
    [sealed, _] = seal_batch([raw, raw], home=keys.vendor_home, passphrase=None, workdir=workdir)
    opened = open_message(raw, home=keys.vendor_home, passphrase=None, directory=stranger, sealed=sealed)
    alone = open_message(raw, home=keys.vendor_home, passphrase=None, directory=stranger)
    assert opened.first_contact_key and opened.first_contact_key == alone.first_contact_key


def test_good_files_get_the_opening_a_single_run_gives(keys, goods, workdir):
    packets = [unwrap(raw).packets for raw in goods]
    for batched, payload in zip(decrypt_files(packets, keys.vendor_home, workdir), packets, strict=True):
        single = decrypt(payload, keys.vendor_home)
        assert batched is not None
        assert (batched.plaintext, batched.decrypted, batched.signatures, batched.errors, batched.missing_keys) == (
            single.plaintext, single.decrypted, single.signatures, single.errors, single.missing_keys)


def test_a_plaintext_over_the_cap_stops_the_run_and_leaves_the_rest_to_the_single_path(keys, goods, workdir):
    packets = [unwrap(raw).packets for raw in goods[:3]]
    small = len(decrypt(packets[0], keys.vendor_home).plaintext) - 1  # every plaintext is over it
    assert decrypt_files(packets, keys.vendor_home, workdir, max_output=small) == [None] * 3
    assert os.listdir(workdir) == []
    with pytest.raises(Refused) as refused:
        open_message(goods[0], home=keys.vendor_home, passphrase=None, directory=MemoryDirectory({}),
                     sealed=unwrap(goods[0]), limits=_limits(small))
    assert refused.value.reason == "too-large"


def test_a_run_past_its_deadline_leaves_every_file_to_the_single_path(keys, goods, workdir):
    packets = [unwrap(raw).packets for raw in goods[:3]]
    assert decrypt_files(packets, keys.vendor_home, workdir, timeout=0) == [None] * 3
    assert os.listdir(workdir) == []


def test_the_private_folder_is_only_the_owners_and_a_dead_workers_is_removed(keys, goods, workdir):
    dead = workdir / "999999999-x"  # above any pid_max: no such process
    dead.mkdir()
    (dead / "0").write_bytes(b"plaintext")
    alive = workdir / f"{os.getppid()}-x"
    alive.mkdir()
    remove_stale(workdir)
    assert sorted(os.listdir(workdir)) == [alive.name]


def _limits(max_bytes: int):
    from tkalert.document.reader import Limits as DocumentLimits
    from tkalert.receiver.open import Limits

    return Limits(document=DocumentLimits(max_bytes=max_bytes))


def test_a_name_inside_the_message_never_chooses_where_plaintext_is_written(keys, wanted, tmp_path, workdir):
    """A literal packet may carry any file name (`gpg --set-filename`); with `use-embedded-filename` in the vendor
    home's gpg.conf, gpg would write there: the batch run overrides it, so the plaintext stays in its folder."""
    import shutil
    import subprocess

    from tkalert.openpgp.keys import kill_agent

    home = tmp_path / "vendor"
    shutil.copytree(keys.vendor_home, home, ignore=shutil.ignore_patterns("S.*", "*.lock"))
    (home / "gpg.conf").write_text("use-embedded-filename\n")
    escape = tmp_path / "escaped"
    payload = subprocess.run(
        ["gpg", "--homedir", str(keys.sender_home), "--batch", "--trust-model", "always", "--local-user",
         f"{keys.system}!", "--set-filename", str(escape), "--sign", "--encrypt", "--recipient", keys.vendor],
        input=b"<x/>", capture_output=True, check=True).stdout
    try:
        (opening,) = decrypt_files([payload], home, workdir, passphrase=wanted.passphrase)
    finally:
        kill_agent(home)
    assert not escape.exists()
    assert opening is not None and opening.plaintext == b"<x/>"
    assert os.listdir(workdir) == []
