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
