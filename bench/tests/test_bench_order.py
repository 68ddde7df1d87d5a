"""bench/run.py lets the tools take turns in a changing order, so that no tool always runs right
after the same one (and inherits its disk writes and cache state) in every run; --tools picks which run."""

import pytest

from bench.run import alternated, chosen_tools, tool_order

TOOLS = ("module", "host", "manual", "duplicity", "restic")


def _follows(run: int) -> dict[str, str | None]:
    order = tool_order(TOOLS, run)
    return {tool: order[i - 1] if i else None for i, tool in enumerate(order)}


def test_every_tool_runs_once_per_run():
    for run in range(1, 7):
        assert sorted(tool_order(TOOLS, run)) == sorted(TOOLS)


def test_no_tool_follows_the_same_tool_in_all_of_three_runs():
    for tool in TOOLS:
        predecessors = {_follows(run)[tool] for run in (1, 2, 3)}
        assert len(predecessors) > 1, f"{tool} always follows {predecessors}"


def test_alternated_settings_swap_places_every_other_round():
    assert alternated(["a", "b", "c"], 0) == ["a", "b", "c"]
    assert alternated(["a", "b", "c"], 1) == ["c", "b", "a"]
    assert alternated(["a", "b", "c"], 2) == ["a", "b", "c"]


def test_tools_option_picks_tools_and_ceilings_in_the_usual_order():
    backups, ceilings = chosen_tools("manual,upload-only,host")
    assert [t.key for t in backups] == ["host", "manual"]
    assert [t.key for t in ceilings] == ["upload-only"]
    everything = chosen_tools("all")
    assert [t.key for t in everything[0]] == ["module", "host", "manual", "manual-ansible", "duplicity", "restic"]
    assert [t.key for t in everything[1]] == ["ceiling", "upload-only"]


def test_tools_option_names_an_unknown_tool():
    with pytest.raises(SystemExit, match="no tool hots; the tools: module, host"):
        chosen_tools("hots,manual")
