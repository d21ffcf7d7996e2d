"""The `prompt-review` command: serve, web, worker, review, demo, check-config."""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import PackageNotFoundError, version

from bot import __version__
from bot.release.cli import VERBS as RELEASE_VERBS, add_release_verbs, release_command
from bot.revalidate.cli import add_verb as add_revalidate, revalidate_command
from bot.ui.history import add_history_verb, history_command


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


REVIEW_HELP = """\
Review the prompt changes between two commits of a local git checkout, as the App reviews a pull
request: the prompts and suites that changed, the eval cases they affect run on both sides, the
semantic diff of each prompt.

BASE..HEAD   what changed on HEAD since BASE, e.g. `main..HEAD` or `origin/main..HEAD` (fetch it
             first). BASE...HEAD (three dots) compares HEAD with the merge base of the two, as a
             pull request does when BASE has moved on. With --post inside GitHub Actions it may be
             left out: the pull request's base and head commits are used.

Output: readable text on a terminal (`--format text`), markdown (the PR comment; the default when
standard output is not a terminal), or `--format json` (schema prompt-review/review@1). Progress and
problems go to standard error.

Exit status:
  0  nothing blocks
  1  a blocking verdict: regressions, loosened checks, failing cases (per `evals.fail_on`)
  2  a configuration error: repo config, a suite, the range, or --post could not post
  3  could not check: cases that could not run (missing or refused model credentials, provider
     down, timeouts) or a run cut short by the budget

--post publishes the review to the pull request as the App does (one sticky comment, edited in
place, and the check runs prompt-review/evals and prompt-review/approval). Inside GitHub Actions
the pull request, commits and API come from the workflow (GITHUB_EVENT_PATH, GITHUB_REPOSITORY,
GITHUB_API_URL) and the token from GITHUB_TOKEN; a token that may not write (a pull request from a
fork) sends the review to the job summary instead. Elsewhere give --github-repo OWNER/NAME, --pr N,
a token (GITHUB_TOKEN, or the variable named by --token-env) and GITHUB_API_URL for GitHub
Enterprise Server.
"""


def _version() -> str:
    try:
        return version("prompt-review")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return __version__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="prompt-review", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    for verb, help_ in (
        ("serve", "web + embedded worker in one process (SQLite default)"),
        ("web", "webhook intake and HTTP endpoints only"),
        ("worker", "job worker only"),
    ):
        p = sub.add_parser(verb, help=help_)
        if verb != "worker":
            p.add_argument("--host", default="127.0.0.1")
            p.add_argument("--port", type=int, default=8000)

    p = sub.add_parser("check-config", help="validate .github/prompt-review.yml, suites and PROMPTOWNERS")
    p.add_argument("path", nargs="?", default=".", help="repository root (default: .)")

    p = sub.add_parser("review", help="review BASE..HEAD of a local git checkout (any CI; --post for the PR)",
                       description=REVIEW_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("range", metavar="BASE..HEAD", nargs="?", help="the commits to compare, e.g. main..HEAD")
    p.add_argument("--repo", default=".", metavar="PATH", help="path to the git repository (default: .)")
    p.add_argument("--format", choices=["text", "markdown", "json"], default=None,
                   help="text: readable on a terminal (default there); markdown: the PR comment (default otherwise); "
                        "json: machine-readable (schema prompt-review/review@1)")
    p.add_argument("--suite", action="append", default=None, help="suite file (repeatable); overrides `suites`")
    p.add_argument("--config", default=None, metavar="PATH",
                   help="the repo config's path in the repository (default .github/prompt-review.yml); always read from BASE")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the on-disk result cache")
    p.add_argument("--cache-dir", default=None, help="result cache directory (default: the user cache dir, e.g. ~/.cache/prompt-review/results; never inside the reviewed repository)")
    p.add_argument("--cache-max-mb", type=_positive_int, default=256, metavar="MB",
                   help="size cap of the result cache; least recently used results go first (default: 256)")
    p.add_argument("--quiet", action="store_true", help="no progress bar on stderr")
    p.add_argument("--allow-private-urls", action="store_true",
                   help="let a suite's allowed apiBaseUrl reach private, loopback and link-local addresses "
                        "(same as PROMPT_REVIEW_ALLOW_PRIVATE_MODEL_URLS=1)")
    post = p.add_argument_group("publishing to the pull request (--post)")
    post.add_argument("--post", action="store_true",
                      help="upsert the sticky comment and complete both check runs on the pull request")
    post.add_argument("--github-repo", metavar="OWNER/NAME", default=None,
                      help="the pull request's repository (inside GitHub Actions: GITHUB_REPOSITORY)")
    post.add_argument("--pr", type=_positive_int, metavar="N", default=None,
                      help="the pull request number (inside GitHub Actions: from the pull_request event)")
    post.add_argument("--token-env", metavar="VAR", default="GITHUB_TOKEN",
                      help="environment variable holding the token (default: GITHUB_TOKEN)")

    p = sub.add_parser("demo", help="the whole flow offline: simulator, scripted model, real service")
    p.add_argument("--keep", action="store_true", help="leave everything running afterwards")
    p.add_argument("--out", default="prompt-review-demo.html", help="where to write the comment as HTML")

    add_revalidate(sub)
    add_release_verbs(sub)  # deploy rollback labels versions tokens bundle
    add_history_verb(sub)  # history: a prompt's timeline from the service or git

    args = parser.parse_args(argv)
    if args.verb in RELEASE_VERBS:
        return release_command(args)
    if args.verb == "history":
        return history_command(args)
    if args.verb == "revalidate":
        return revalidate_command(args)
    # The verbs below import their implementation when chosen: the service loads FastAPI, SQLAlchemy and
    # uvicorn (`python -X importtime -c "import bot.service.run"`: ~2.8 s here), review and check-config the
    # evaluation stack (~0.7 s); `prompt-review --help` and the release verbs answer in ~0.6 s without them.
    if args.verb in ("serve", "web", "worker"):
        from bot.service.run import run

        return run(args.verb, getattr(args, "host", None), getattr(args, "port", None))
    if args.verb == "check-config":
        from bot.checkconfig import check_config_command

        return check_config_command(args.path)
    if args.verb == "review":
        from bot.review import review_command

        return review_command(args)
    if args.verb == "demo":
        from bot.demo import demo_command

        return demo_command(keep=args.keep, out=args.out)
    parser.error(f"unknown verb {args.verb}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
