"""The tests' cast: the people and machines every test folder plays against, built on tkalert's own code.

- `smtp`: one SMTP server (tkalert.inbox underneath): plain, STARTTLS or SMTPS, AUTH and XOAUTH2, forced replies,
  refusing or slow on demand, and the trustme certificates it presents;
- `keys`: the vendor, the system, a decoy and an expired vendor key in real GnuPG homes (tkalert.openpgp.keys),
  opened as the vendor opens them (tkalert.openpgp.unseal);
- `config`: one tkalert.conf writer;
- `plugins`: `python -m tkalert` and the check plugins run as child processes, as a monitoring daemon runs them;
- `ports`: ports where nothing listens;
- `mails`: messages as the vendor's receiver gets them (every mail shape, digests, TKalert 1.5 documents) and a
  dict-backed receiver Directory (pins, legacy contracts);
- `hostile`: the hostile corpus, raw messages each with the reason the receiver must refuse it for.

Fixtures built from these are registered in tests/conftest.py, so every folder can use them.
"""
