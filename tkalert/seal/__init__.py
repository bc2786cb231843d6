"""Seal: sign a document with this system's key and encrypt it to the vendor key(s), by fingerprint only.

`gnupghome` finds and checks the isolated GnuPG home; `sealer` runs gpg through python-gnupg and turns every gpg
failure into one `SealError` whose message names the fix; `keys` diagnoses why a key cannot be used.
"""
