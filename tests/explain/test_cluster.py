"""Clusters: regressed and fixed cases that fail the same way with similar outputs form one group."""

from __future__ import annotations

from bot.core.compare import CaseStatus as S
from bot.core.explain import cluster_cases
from bot.core.explain.model import ClusterKind
from tests.render import builders as b

REFUND_FAIL = ['icontains "not eligible"']


def _refund(i: int, days: int):
    return b.case(f"s::refund-{i:03}", S.REGRESSED, reasons=("prompt prompts/support/system.md changed",),
                  base=b.side(True, f"Your order was delivered {days} days ago, so it is not eligible."),
                  head=b.side(False, f"Yes! Order #{1000 + i} is eligible for a refund, {days} days after delivery.", REFUND_FAIL))


def test_cases_failing_the_same_assertion_with_similar_outputs_form_one_cluster():
    clusters = cluster_cases([_refund(i, 30 + i * 7) for i in range(1, 42)])
    assert len(clusters) == 1
    (c,) = clusters
    assert c.size == 41 and c.kind is ClusterKind.REGRESSED and c.assertions == tuple(REFUND_FAIL)
    assert c.representative == "s::refund-001"
    assert c.files == ("prompts/support/system.md",)


def test_a_different_failing_assertion_or_a_different_answer_is_another_cluster():
    tone = [b.case(f"s::tone-{i}", S.REGRESSED, base=b.side(True, "I'm sorry for the trouble."),
                   head=b.side(False, "Please calm down.", ['not-icontains "calm down"'])) for i in range(3)]
    odd = b.case("s::refund-999", S.REGRESSED, base=b.side(True, "Not eligible."),
                 head=b.side(False, "ERROR 500: the shop database is unreachable, try again tomorrow morning", REFUND_FAIL))
    clusters = cluster_cases([_refund(i, 40) for i in range(5)] + tone + [odd])
    assert sorted(c.size for c in clusters) == [1, 3, 5]
    assert clusters[0].size == 5  # biggest first


def test_fixed_cases_cluster_apart_from_regressions_and_unchanged_cases_are_left_out():
    fixed = b.case("s::fixed-1", S.FIXED, base=b.side(False, "Please calm down.", ['not-icontains "calm down"']),
                   head=b.side(True, "Sorry!"))
    passing = b.case("s::ok-1", S.STILL_PASSING, base=b.side(True, "ok"), head=b.side(True, "ok"))
    clusters = cluster_cases([_refund(1, 40), fixed, passing])
    assert [(c.kind, c.cases) for c in clusters] == [
        (ClusterKind.REGRESSED, ("s::refund-001",)), (ClusterKind.FIXED, ("s::fixed-1",)),
    ]


def test_the_same_failure_in_two_suites_is_two_clusters():
    a = _refund(1, 40)
    other = b.case("t::refund-001", S.REGRESSED, suite="evals/other/promptfooconfig.yaml",
                   base=a.base, head=a.head)
    assert len(cluster_cases([a, other])) == 2
