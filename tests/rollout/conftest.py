"""The release stack (service + simulator + scripted model server), with the guard's periodic pass off:
the tests run the guard by hand so each decision happens at a known point."""

from __future__ import annotations

import pytest

from tests.release.conftest import REPO
from tests.service.harness import stack
from tests.service.test_end_to_end import EXAMPLE


@pytest.fixture
def running(tmp_path, model_server):
    env = {"OPENAI_BASE_URL": model_server.url + "/v1", "OPENAI_API_KEY": "sk-test-not-real"}
    with stack(tmp_path, env=env, rollout_guard_interval_seconds=0) as s:
        s.sim.create_org("acme")
        s.sim.create_repo_from_dir("acme", "support-bot", EXAMPLE)
        s.sim.add_team("acme", "support-prompts", ["erin", "frank"])
        s.sim.add_team("acme", "prompt-eng", ["gina"])
        s.sim.install("acme")
        s.sim.set_permission(REPO, "erin", "write")
        yield s
