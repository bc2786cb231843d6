"""Ingest: every way in (SMTP/LMTP listener, MTA pipe, HTTPS) stores the raw message durably before it answers.

store.py is the one place raw bytes are written (maildir-style tmp -> new, fsync of file and folder); smtp.py,
pipe.py and https.py are the three doors; importer.py moves stored files into the database for the workers.
Nothing but importer.py imports Django: the pipe runs once per mail.
"""
