"""OpenPGP: sign a document with this system's key and encrypt it to the vendor key(s), by fingerprint only.

`home` finds and checks the isolated GnuPG home; `seal` runs gpg and turns every gpg failure into one `SealError`
whose message names the fix; `keys` creates the system key and diagnoses why a key cannot be used; `unseal`
decrypts as the vendor and names the signer.
"""
