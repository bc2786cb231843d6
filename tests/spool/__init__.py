"""Tests of the spool step (tkalert.spool), its commands and its check plugin."""
