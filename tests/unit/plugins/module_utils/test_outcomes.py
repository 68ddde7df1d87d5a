"""A run's outcome is what the module returns and the host command prints: plain JSON values."""

import json

from ansible_collections.s3napback.s3napback.plugins.module_utils.backup import Outcome
from ansible_collections.s3napback.s3napback.plugins.module_utils.debris import Debris
from ansible_collections.s3napback.s3napback.plugins.module_utils.restore import RestoreOutcome


def test_a_backup_outcome_shows_the_debris_lists_in_place_of_the_debris():
    debris = Debris(aborted_uploads=["a"], removed_strays=["s"], locked_strays=[{"key": "k"}])
    shown = json.loads(json.dumps(Outcome(True, "due", {"name": "dir-etc"}, debris=debris).as_dict()))
    assert "debris" not in shown
    assert (shown["aborted_uploads"], shown["removed_strays"], shown["locked_strays"]) == (["a"], ["s"], [{"key": "k"}])
    assert shown["changed"] is True and shown["reason"] == "due" and shown["warnings"] == []


def test_a_restore_outcome_shows_every_field():
    outcome = RestoreOutcome(True, "2026-11-26T03:15:00Z", [], 0, "/srv/restore", False)
    assert json.loads(json.dumps(outcome.as_dict()))["dest"] == "/srv/restore"
