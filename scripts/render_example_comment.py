"""Render the example repo's pull request comment (and both check outputs) as an HTML page.

Runs the real review stages offline: the semantic diff of examples/support-bot, its eval suite
on base and head against the scripted model server on loopback, the approval verdict, then the
renderer. Open the page in a browser to see the comment roughly as GitHub shows it.

    .venv/bin/python scripts/render_example_comment.py [--pull friendlier|reflow] [-o comment.html]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the example builder lives with the render tests: one source of truth

from bot.core.render import html_page, render_approval_check, render_comment, render_evals_check  # noqa: E402
from tests.render.example import example_result  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pull", default="friendlier", help="a folder of examples/support-bot/pulls (default: friendlier)")
    parser.add_argument("-o", "--output", default="example-comment.html", help="HTML file to write")
    parser.add_argument("--markdown", action="store_true", help="also write the raw markdown next to the page")
    args = parser.parse_args(argv)

    result = example_result(args.pull)
    comment = render_comment(result)
    evals, approval = render_evals_check(result), render_approval_check(result)
    checks = (
        f"\n\n---\n\n## Check run `prompt-review/evals`: {evals.conclusion}\n\n{evals.summary}"
        f"\n\n---\n\n## Check run `prompt-review/approval`: {approval.conclusion}\n\n{approval.summary}"
    )
    out = Path(args.output)
    out.write_text(html_page(comment + checks, title=f"prompt-review: example PR '{args.pull}'"), encoding="utf-8")
    if args.markdown:
        out.with_suffix(".md").write_text(comment, encoding="utf-8")
    print(f"{out} ({len(comment):,} characters of comment markdown; evals {evals.conclusion}, approval {approval.conclusion})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
