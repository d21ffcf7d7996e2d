"""Fixed cases are clusters too: one folded block per cluster with its representative and the
cause that fixed them, instead of a flat list of every fixed case."""

from __future__ import annotations

from bot.core.compare import CaseStatus as S
from bot.core.render import render_comment
from bot.core.render.text import render_text
from bot.core.semdiff import diff_texts
from tests.render import builders as b
from tests.render.scenarios import BASE_PROMPT, EXPRESS, SYSTEM


def _fixed_twice():
    prompt = b.prompt_change(SYSTEM, BASE_PROMPT, EXPRESS, semdiff=diff_texts(SYSTEM, BASE_PROMPT, EXPRESS))
    calm = [b.case(f"tone-{i:03}", S.FIXED, description=f"tone {i:03}: upset customer", metric="tone",
                   base=b.side(False, "Please calm down.", ['not-icontains "calm down"']),
                   head=b.side(True, "I'm sorry for the trouble."))
            for i in range(1, 9)]
    late = [b.case(f"ship-{i:03}", S.FIXED, description=f"ship {i:03}: late parcel", metric="shipping",
                   base=b.side(False, "No idea.", ['icontains "tracking"']),
                   head=b.side(True, "Here is your tracking link."))
            for i in range(1, 4)]
    return b.result([prompt], evals=b.report([b.suite_report(calm + late)]), approval=b.approval())


def test_fixed_cases_are_folded_clusters_with_their_failing_assertion_not_a_flat_list():
    comment = render_comment(_fixed_twice())
    assert "<details><summary>✅ 8 fixed · tone</summary>" in comment
    assert "<details><summary>✅ 3 fixed · shipping</summary>" in comment
    assert '**8 fixed · tone** — were failing not\\-icontains "calm down"' in comment
    assert "- tone 001" not in comment  # the flat list of fixed cases is gone
    block = comment[comment.index("✅ 8 fixed · tone"):]
    block = block[:block.index("</details>")]
    assert block.count("| tone 00") == 8  # members are in the fold


def test_the_text_form_shows_each_fixed_cluster_in_one_line():
    text = render_text(_fixed_twice())
    assert '8 fixed · tone — were failing not-icontains "calm down"' in text
    assert "e.g. tone 001: upset customer and 7 more" in text
    assert "3 fixed · shipping" in text
