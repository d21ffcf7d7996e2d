"""The `prompt-review` command: serve, web, worker, review, demo, check-config."""

from __future__ import annotations

import argparse
import sys


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="prompt-review", description=__doc__)
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

    p = sub.add_parser("review", help="review BASE..HEAD of a local git checkout")
    p.add_argument("range", metavar="BASE..HEAD")
    p.add_argument("--repo", default=".", help="path to the git repository (default: .)")
    p.add_argument("--format", choices=["text", "markdown", "json"], default=None,
                   help="text (default on a terminal), markdown (the PR comment; default otherwise) or json")
    p.add_argument("--suite", action="append", default=None, help="suite file (repeatable); overrides `suites`")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the on-disk result cache")
    p.add_argument("--cache-dir", default=None, help="result cache directory (default: the user cache dir, e.g. ~/.cache/prompt-review/results; never inside the reviewed repository)")
    p.add_argument("--cache-max-mb", type=_positive_int, default=256, metavar="MB",
                   help="size cap of the result cache; least recently used results go first (default: 256)")
    p.add_argument("--quiet", action="store_true", help="no progress bar on stderr")
    p.add_argument("--allow-private-urls", action="store_true",
                   help="let a suite's allowed apiBaseUrl reach private, loopback and link-local addresses "
                        "(same as PROMPT_REVIEW_ALLOW_PRIVATE_MODEL_URLS=1)")

    p = sub.add_parser("demo", help="the whole flow offline: simulator, scripted model, real service")
    p.add_argument("--keep", action="store_true", help="leave everything running afterwards")
    p.add_argument("--out", default="prompt-review-demo.html", help="where to write the comment as HTML")

    from bot.release.cli import VERBS as RELEASE_VERBS, add_release_verbs  # deploy rollback labels versions tokens bundle

    add_release_verbs(sub)

    from bot.ui.history import add_history_verb  # history: a prompt's timeline from the service or git

    add_history_verb(sub)

    args = parser.parse_args(argv)
    if args.verb in RELEASE_VERBS:
        from bot.release.cli import release_command

        return release_command(args)
    if args.verb == "history":
        from bot.ui.history import history_command

        return history_command(args)
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
