"""Bypass 7: `review` kept its cache in <repo>/.prompt-review/cache, so a PR that committed cache
entries made CI's review report "passed". The cache lives in the user's cache dir now."""

from __future__ import annotations

import shutil

from tests.gate.conftest import WEAK, prompt_text


def test_the_default_cache_is_outside_the_reviewed_tree_and_a_committed_cache_is_ignored(gate_repo, tmp_path):
    gate_repo.commit({"prompts/support.txt": prompt_text().replace("Reply", "Please reply")}, "harmless")
    first = gate_repo.review()
    assert first.status == 0, first.stderr
    cache_root = gate_repo.cache / "prompt-review" / "results"
    assert cache_root.is_dir() and any(cache_root.rglob("*"))
    assert not (gate_repo.root / ".prompt-review").exists()

    # The attacker commits a cache full of passing results under the path the old default read...
    planted = gate_repo.root / ".prompt-review" / "cache"
    shutil.copytree(cache_root, planted)
    gate_repo.commit({"prompts/support.txt": prompt_text(WEAK)}, "weaken, with a planted cache")
    shutil.rmtree(cache_root)
    r = gate_repo.review()
    assert r.status == 1, r.stderr
    assert len(r.cases("regressed")) == 5
