"""Call with a deadline: the value, the step's own error, or StillRunning when the seconds are up."""

from __future__ import annotations

import threading

import pytest

from tkalert.deadline import StillRunning, call_within


def test_a_quick_step_gives_its_value():
    assert call_within(5, lambda: 42, "quick") == 42


def test_a_failing_step_raises_its_own_error_in_the_caller():
    def broken():
        raise PermissionError(13, "Permission denied", "/spool/flush.lock")

    with pytest.raises(PermissionError, match="Permission denied"):
        call_within(5, broken, "broken")


def test_a_hanging_step_is_left_behind_after_its_seconds():
    release = threading.Event()
    with pytest.raises(StillRunning, match="hanging still running after 0.2s"):
        call_within(0.2, release.wait, "hanging")
    release.set()


def test_a_step_timing_out_itself_is_not_mistaken_for_the_deadline():
    def times_out():
        raise TimeoutError("the server did not answer")

    with pytest.raises(TimeoutError):
        call_within(5, times_out, "socket")
