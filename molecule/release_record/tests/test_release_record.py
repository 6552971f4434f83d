"""roles/release_record: releases land in SSM (current + newest-first history) and read back as rollback target."""

import json
from pathlib import Path

from testsupport.molecule_scenario import aws, facts, run_playbook

PREFIX = "/gradestack/molecule/release"
CONVERGE = Path(__file__).resolve().parents[1] / "converge.yml"


def parameter(name: str):
    return json.loads(aws("ssm").get_parameter(Name=f"{PREFIX}/{name}")["Parameter"]["Value"])


def test_current_is_the_recorded_release():
    current = parameter("current")
    assert current["release"] == "r1"
    assert current["grading_image"].endswith(":r1")
    assert current["kind"] == "deploy"
    assert current["deployed_at"].endswith("Z")


def test_history_holds_it_once_after_two_converges():
    history = parameter("history")
    assert [entry["release"] for entry in history] == ["r1"]
    assert history[0] == parameter("current")


def test_facts_match_the_store_and_no_rollback_target_yet():
    recorded = facts()
    assert recorded["current"] == parameter("current")
    assert recorded["history"] == parameter("history")
    assert recorded["previous"] == {}


def test_new_releases_go_first_and_history_is_trimmed():
    for release in ("r2", "r3"):
        result = run_playbook(CONVERGE, {"release_id": release})
        assert result.returncode == 0, result.stdout[-3000:]
    assert [entry["release"] for entry in parameter("history")] == ["r3", "r2"]  # release_record_keep: 2
    assert parameter("current")["release"] == "r3"
    recorded = facts()
    assert recorded["current"]["release"] == "r3"
    assert recorded["previous"]["release"] == "r2"
