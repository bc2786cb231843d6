"""Tests of the spool step (tkalert.sender.spool), its commands and its check plugin."""
