"""`review --config PATH` (the Action's `config` input): the rules come from that file on the base
commit — never from the head, so a pull request cannot loosen the rules it is judged by."""

from __future__ import annotations

from tests.gate.conftest import WEAK, prompt_text


def test_the_config_path_is_read_from_the_base_and_its_errors_name_it(gate_repo):
    gate_repo.commit({"ci/prompt-review.yml": "evals:\n  max_regressions: 5\n"}, "rules elsewhere")
    gate_repo.commit({"prompts/support.txt": prompt_text(WEAK), "ci/prompt-review.yml": "evals:\n  max_regressions: 500\n"})
    r = gate_repo.review("--config", "ci/prompt-review.yml")
    assert r.status == 0 and r.data["conclusion"] == "neutral", r.stderr  # the base allows 5; the head's 500 is ignored
    default = gate_repo.review()
    assert default.status == 1  # without --config the default path (absent: defaults, max_regressions 0) applies

    gate_repo.commit({"ci/prompt-review.yml": "evals:\n  max_regression: 5\n"}, "typo in the rules")
    gate_repo.commit({"prompts/support.txt": prompt_text()})
    broken = gate_repo.review("--config", "ci/prompt-review.yml")
    assert broken.status == 2 and "ci/prompt-review.yml:2" in broken.stderr
