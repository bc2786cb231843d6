"""The spool's config sections: defaults, durations with units, and strict refusal of typos."""

from __future__ import annotations

import pytest

from tkalert.config.settings import Settings
from tkalert.errors import ConfigError
from tkalert.sender.spool.policy import load_policy


def policy_of(**sections):
    return load_policy(Settings(sections=sections))


def test_defaults_match_the_documentation():
    policy = policy_of()
    assert (policy.spool.max_age, policy.spool.retry_base, policy.spool.retry_cap) == (7 * 86400, 60, 3600)
    assert (policy.spool.batch_size, policy.spool.hook_budget) == (100, 20)
    assert (policy.storm.enabled, policy.storm.rate, policy.storm.interval, policy.storm.repeat_window) == (
        True, 20, 60, 1800)
    assert policy.archive.keep == 90 * 86400 and str(policy.archive.directory) == "/var/lib/tkalert/archive"
    assert all(policy.categories.allows(kind) for kind in ("heartbeat", "alert", "report", "test"))


def test_durations_take_units():
    policy = policy_of(spool={"max_age": "3d", "retry_base": "90", "retry_cap": "2h", "hook_budget": "5s"},
                       storm={"interval": "5m"}, archive={"keep": "2w"})
    assert (policy.spool.max_age, policy.spool.retry_base, policy.spool.retry_cap) == (3 * 86400, 90, 7200)
    assert policy.storm.interval == 300 and policy.archive.keep == 14 * 86400


def test_categories_switch_kinds_off():
    categories = policy_of(categories={"heartbeat": "off", "alerts": "no", "report": "0"}).categories
    assert not any(categories.allows(kind) for kind in ("heartbeat", "alert", "report"))
    assert categories.allows("test") and categories.allows("digest")


@pytest.mark.parametrize("sections, words", [
    ({"spool": {"maxage": "7d"}}, ["unknown key", "[spool]", "max_age"]),
    ({"storm": {"limit": "20"}}, ["unknown key 'limit'", "[storm]", "rate"]),
    ({"categories": {"alert": "off"}}, ["unknown key 'alert'", "alerts"]),
    ({"archive": {"retention": "90d"}}, ["unknown key 'retention'", "keep"]),
    ({"spool": {"max_age": "a week"}}, ["max_age", "must be a duration", "7d"]),
    ({"storm": {"rate": "0"}}, ["rate", "at least 1"]),
    ({"storm": {"enabled": "maybe"}}, ["enabled", "on or off"]),
])
def test_mistakes_are_refused_with_the_fix(sections, words):
    with pytest.raises(ConfigError) as caught:
        policy_of(**sections)
    assert all(word in str(caught.value) for word in words)
