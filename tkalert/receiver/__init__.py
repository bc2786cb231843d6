"""The vendor's receiving side: ingest, open, judge, store (a Django app; nothing here is imported by the sender's hook)."""
