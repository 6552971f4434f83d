"""testinfra host for this scenario: the container itself, through podman exec.

testinfra's Ansible backend cannot use the podman connection directly and would
fall back to one ansible run per command; the podman backend is much faster.
"""

import pytest
import testinfra

CONTAINER = "gradestack-molecule-aws-emulator"


@pytest.fixture(scope="module")
def host() -> testinfra.host.Host:
    return testinfra.get_host(f"podman://{CONTAINER}")
