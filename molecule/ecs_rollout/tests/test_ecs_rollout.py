"""roles/ecs_rollout: sets the desired count, waits until steady, and fails with the events when never steady."""

from pathlib import Path

from testsupport.molecule_scenario import aws, run_playbook

CLUSTER = "gradestack-molecule"
CONVERGE = Path(__file__).resolve().parents[1] / "converge.yml"


def service(name: str) -> dict:
    return aws("ecs").describe_services(cluster=CLUSTER, services=[name])["services"][0]


def test_desired_count_set_and_all_tasks_running():
    grading = service("grading")
    assert grading["desiredCount"] == 2
    assert grading["runningCount"] == 2
    assert [d["status"] for d in grading["deployments"]] == ["PRIMARY"]


def test_never_steady_service_fails_with_its_events():
    result = run_playbook(CONVERGE, {"service": "stuck", "rollout_timeout": 3})
    assert result.returncode != 0, result.stdout[-3000:]
    assert "stuck was not steady after 3 s: 0/2 tasks running" in result.stdout, result.stdout[-3000:]
    assert "Service events (newest first):" in result.stdout
    assert "unable to consistently start tasks" in result.stdout
    # The count was still set before waiting.
    assert service("stuck")["desiredCount"] == 2
