"""The README's first command: `prompt-review demo` runs the whole flow offline and exits 0."""

from __future__ import annotations

import subprocess
import sys


def test_demo_reviews_the_friendlier_pr_as_failing_and_the_reflow_pr_as_passing_without_model_calls(tmp_path):
    out = tmp_path / "comment.html"
    result = subprocess.run([sys.executable, "-m", "bot", "demo", "--out", str(out)], capture_output=True, text=True,
                            timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    text = result.stdout
    assert "prompt-review/evals      completed · failure" in text
    assert "Refunds are only possible within 30 days of delivery" in text
    reflow = text[text.index("Rewrap the support system prompt"):]
    assert "0 model calls" in reflow and "prompt-review/evals      completed · success" in reflow
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") or page.lower().startswith("<!doctype html>")
    assert "<table>" in page


def test_demo_prints_the_review_as_text_and_ends_on_each_prs_verdict_and_cause_and_its_page_links_lead_somewhere(tmp_path):
    import re

    out = tmp_path / "comment.html"
    result = subprocess.run([sys.executable, "-m", "bot", "demo", "--out", str(out)], capture_output=True, text=True,
                            timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    text = result.stdout
    assert "reviewing…" in text.split("PR #1 reviewed in")[0]  # something moves while the evals run
    last_screen = text.rstrip().split("summary — done in")[-1]
    assert len(last_screen.splitlines()) < 20, last_screen  # fits on one screen, after the long comment
    assert re.search(r"PR #1 .*\n.*\n\s+prompt-review/evals\s+failure — 41 of 300 cases regressed", last_screen)
    assert re.search(r"PR #2 .*\n.*\n\s+prompt-review/evals\s+success", last_screen)
    assert str(out) in last_screen
    # The cause, in words, on the last screen: the friendlier PR's, and none for the reflow PR.
    friendlier = " ".join(last_screen[last_screen.index("PR #1"):last_screen.index("PR #2")].split())
    assert ("cause: Removing “Refunds are only possible within 30 days of delivery.” "
            "(prompts/support/system.md line 9 of the base) broke 41 refund_eligibility cases.") in friendlier
    assert "cause:" not in last_screen[last_screen.index("PR #2"):]
    # The review itself is the terminal's text form, not the comment's markdown.
    review = text[text.index("PR #1 reviewed in"):text.index("summary — done in")]
    assert "What caused it" in review and "Evidence: reverting it alone restores 5 of 5 sampled cases." in review
    for markup in ("<details>", "|---", "**", "<!--", "\\_"):
        assert markup not in review, markup
    page = out.read_text()
    hrefs = re.findall(r'href="([^"]+)"', page)
    assert hrefs and all(h.startswith("#") for h in hrefs), hrefs  # no link to a simulator that has stopped
    assert all(f'id="{h[1:]}"' in page for h in hrefs)
    assert "prompt-review/evals: failure" in page
