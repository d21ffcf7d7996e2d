"""The re-validation issue's body is bounded whatever a run brings: a hostile suite's thousands of
regressed cases, long outputs and markdown-special descriptions still make a body GitHub accepts."""

from __future__ import annotations

from bot.core.compare import CaseStatus, SideResult, Tally, Verdict
from bot.revalidate.baseline import Compared, Outcome, RegressedCluster, Revalidation
from bot.revalidate.jobs import issue_body

GITHUB_MAX_BODY = 65536


def _case(i: int) -> Compared:
    text = "_*[|`" * 200  # every character escaped: the cell doubles
    return Compared(f"s::t{i}::p::m", "s", "m", "_" * 1000 + str(i), CaseStatus.REGRESSED,
                    SideResult(True, 1.0, text, runs=3, passes=3), SideResult(False, 0.0, text, ("icontains |" + "x" * 5000,), runs=3, passes=0))


def _revalidation(clusters: int, per_cluster: int) -> tuple[Outcome, Revalidation]:
    cls = tuple(RegressedCluster(("icontains x",), tuple(_case(c * per_cluster + i) for i in range(per_cluster))) for c in range(clusters))
    cases = tuple(c for cl in cls for c in cl.cases)
    o = Outcome("s", "m", Tally(regressed=len(cases)), cases, True, cls)
    return o, Revalidation("a" * 40, "b" * 40, (o,), (), Verdict(True, "failure", "many regressed"))


def test_thousands_of_single_case_clusters_make_a_body_github_accepts_that_says_how_many_are_not_shown():
    o, reval = _revalidation(3000, 1)
    body = issue_body(o, reval, "acme/greet")
    assert len(body) < GITHUB_MAX_BODY
    assert "more clusters" in body and "`prompt-review revalidate` lists every case" in body


def test_a_big_cluster_shows_its_first_cases_and_counts_the_rest():
    o, reval = _revalidation(1, 500)
    body = issue_body(o, reval, "acme/greet")
    assert len(body) < GITHUB_MAX_BODY and "#### 500 regressed" in body and "… and 490 more cases in this cluster." in body
