"""The release verbs of the `prompt-review` command: deploy, rollback, labels, versions sync, tokens,
bundle. They talk to the service's /v1 API; the person is the GitHub user token in GITHUB_TOKEN."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

import httpx

from bot.release.bundle import BundleError, bundle_from_checkout

DEFAULT_SERVER = "http://127.0.0.1:8000"
BUNDLE_SCHEMA = "prompt-review/bundle@1"


def add_release_verbs(sub) -> None:
    """Register the release verbs on the CLI's subparsers."""
    def server(p):
        p.add_argument("--server", default=None, help=f"the prompt-review service (default: $PROMPT_REVIEW_SERVER or {DEFAULT_SERVER})")

    p = sub.add_parser("deploy", help="move a label to the prompt versions at a commit of the default branch")
    p.add_argument("label")
    p.add_argument("--repo", required=True, metavar="OWNER/NAME")
    p.add_argument("--ref", default=None, help="SHA or the default branch (default: its head)")
    p.add_argument("--prompt", action="append", default=[], metavar="PATH", help="only this prompt (repeatable)")
    p.add_argument("--reason", default=None, help="why; required to override a failed review on a protected label")
    p.add_argument("--percent", type=float, default=None, metavar="N",
                   help="start a guarded rollout: N%% of units get the new version, the rest the current one")
    p.add_argument("--steps", default=None, metavar="10,25,50,100", help="the rollout's later percentages (default: 100)")
    p.add_argument("--interval", default=None, metavar="1h", help="time between steps: 90s, 15m, 1h, 2d (default: 1h)")
    server(p)

    p = sub.add_parser("rollout", help="a label's guarded rollout: status, pause, resume, abort")
    p.add_argument("action", choices=["status", "pause", "resume", "abort"])
    p.add_argument("label")
    p.add_argument("--repo", required=True, metavar="OWNER/NAME")
    p.add_argument("--reason", default=None)
    server(p)

    p = sub.add_parser("rollback", help="restore a label's pointers from before its last deployment")
    p.add_argument("label")
    p.add_argument("--repo", required=True, metavar="OWNER/NAME")
    p.add_argument("--reason", default=None)
    server(p)

    p = sub.add_parser("labels", help="where each label points (--history: every move)")
    p.add_argument("--repo", required=True, metavar="OWNER/NAME")
    p.add_argument("--history", action="store_true")
    p.add_argument("--label", default=None)
    server(p)

    p = sub.add_parser("versions", help="prompt versions: `versions sync` backfills them from recent history")
    p.add_argument("action", choices=["sync", "list"])
    p.add_argument("--repo", required=True, metavar="OWNER/NAME")
    p.add_argument("--limit", type=int, default=100, help="commits of the default branch to walk (sync)")
    server(p)

    p = sub.add_parser("tokens", help="repo tokens (prt_…) for the manifest API and telemetry")
    p.add_argument("action", choices=["create", "list", "revoke"])
    p.add_argument("repo", metavar="OWNER/NAME")
    p.add_argument("token_id", nargs="?", type=int, help="the token to revoke (see `tokens list`)")
    p.add_argument("--scope", choices=["read", "write"], default="read")
    server(p)

    p = sub.add_parser("bundle", help="write a label's manifest as a file an app ships with")
    p.add_argument("--repo", default=None, metavar="OWNER/NAME", help="read the label from the service (needs PROMPT_REVIEW_TOKEN, a read token)")
    p.add_argument("--label", default="production")
    p.add_argument("--repo-dir", default=None, help="or build it from a local checkout (with --ref)")
    p.add_argument("--ref", default="HEAD")
    p.add_argument("--out", required=True)
    server(p)


VERBS = ("deploy", "rollback", "labels", "versions", "tokens", "bundle", "rollout")


class CliError(Exception):
    pass


def _client(args, token_env: str = "GITHUB_TOKEN") -> httpx.Client:
    token = os.environ.get(token_env)
    if not token:
        raise CliError(f"{token_env} is not set: " + ("a GitHub user token names you to the service"
                                                       if token_env == "GITHUB_TOKEN" else "a repo read token (prt_…)"))
    url = (args.server or os.environ.get("PROMPT_REVIEW_SERVER") or DEFAULT_SERVER).rstrip("/")
    return httpx.Client(base_url=url + "/v1", headers={"Authorization": f"Bearer {token}"}, timeout=120)


def _check(response: httpx.Response) -> dict:
    try:
        data = response.json()
    except ValueError:
        data = {"error": response.text[:300]}
    if response.status_code >= 400:
        raise CliError(data.get("error") or f"HTTP {response.status_code}")
    return data


def _repo(repo: str) -> str:
    if repo.count("/") != 1 or not all(repo.split("/")):
        raise CliError(f"--repo must be OWNER/NAME, not {repo!r}")
    return repo


def _print_deployment(d: dict) -> None:
    what = "rolled back" if d["kind"] == "rollback" else "deployed"
    print(f"{d['label']} {what} at {d['commit'][:12]} by {d['actor']} (deployment #{d['id']})")
    for m in d.get("moves", []):
        print(f"  {m['path']}: {m['from'] or '-'} → {m['to'] or '-'}")
    if d.get("override"):
        print(f"  override recorded: {d['reason']}")
        for b in d.get("blocked", []):
            print(f"    past: {b}")


def _print_rollout(r: dict, d: dict | None = None) -> None:
    if d is not None:
        print(f"{d['reason']} (deployment #{d['id']})")
    print(f"rollout #{r['id']} of {r['label']} in {r['repo']}: {r['state']} at {r['percent']:g}% "
          f"(steps {', '.join(f'{s:g}%' for s in r['steps'])}; every {r['interval_seconds']:g}s)")
    for m in r["moves"]:
        print(f"  {m['path']}: control {m['from']}, candidate {m['to']}")
    arms = r["arms"]
    print(f"  calls: control {arms['control']['calls']:,} ({arms['control']['errors']:,} errors), "
          f"candidate {arms['candidate']['calls']:,} ({arms['candidate']['errors']:,} errors)")
    for m in r.get("metrics", []):
        better = f"{m['better']} is better, " if m.get("better") else ""
        print(f"  {m['name']}: {m['control']:.4g} → {m['candidate']:.4g} ({better}n {m['n_control']:,}/{m['n_candidate']:,}, "
              f"always-valid p = {m['p_value']:.3g})")
    if r.get("last_decision"):
        print(f"  guard: {r['last_decision']}")
    if r.get("next_step_at"):
        print(f"  next step due: {r['next_step_at'][:19]}")


def release_command(args) -> int:
    try:
        return _run(args)
    except CliError as exc:
        print(f"prompt-review {args.verb}: {exc}", file=sys.stderr)
        return 1
    except httpx.HTTPError as exc:
        print(f"prompt-review {args.verb}: cannot reach the service: {exc}", file=sys.stderr)
        return 1


def _run(args) -> int:
    verb = args.verb
    if verb == "bundle":
        return _bundle(args)
    with _client(args) as c:
        if verb == "deploy":
            body = {"label": args.label, "ref": args.ref, "prompts": args.prompt, "reason": args.reason, "via": "cli"}
            if args.percent is not None:
                body.update(percent=args.percent, steps=args.steps, interval=args.interval)
            elif args.steps or args.interval:
                raise CliError("--steps and --interval need --percent (the first step)")
            data = _check(c.post(f"/repos/{_repo(args.repo)}/deployments", json=body))
            if data.get("rollout"):
                _print_rollout(data["rollout"], data)
            else:
                _print_deployment(data)
        elif verb == "rollout":
            repo = _repo(args.repo)
            if args.action == "status":
                _print_rollout(_check(c.get(f"/repos/{repo}/rollouts", params={"label": args.label})))
            else:
                data = _check(c.post(f"/repos/{repo}/rollouts/{args.label}/{args.action}",
                                     json={"reason": args.reason, "via": "cli"}))
                _print_rollout(data["rollout"], data)
        elif verb == "rollback":
            body = {"label": args.label, "reason": args.reason, "via": "cli"}
            _print_deployment(_check(c.post(f"/repos/{_repo(args.repo)}/rollbacks", json=body)))
        elif verb == "labels":
            params = {"history": "true" if args.history else "false", **({"label": args.label} if args.label else {})}
            data = _check(c.get(f"/repos/{_repo(args.repo)}/labels", params=params))
            for label, prompts in sorted(data["labels"].items()):
                print(label)
                for p in prompts:
                    print(f"  {p['path']}  {p['version']}")
            for d in data.get("history", []):
                moves = ", ".join(f"{m['path']} {m['from'] or '-'}→{m['to'] or '-'}" for m in d["moves"])
                why = f"  why: {d['reason']}" if d.get("reason") else ""
                print(f"#{d['id']} {d['created_at'][:19]} {d['label']} {d['kind']} by {d['actor']} via {d['via']}: {moves}"
                      f"{' (override)' if d['override'] else ''}{why}")
        elif verb == "versions":
            if args.action == "sync":
                data = _check(c.post(f"/repos/{_repo(args.repo)}/versions/sync", params={"limit": args.limit}))
                print(f"{data['recorded']} prompt version(s) recorded for {data['repo']}")
            else:
                for v in _check(c.get(f"/repos/{_repo(args.repo)}/versions"))["versions"]:
                    review = f"#{v['pr']} evals {v['evals']}, approval {v['approval']}" if v["pr"] else "no reviewed PR"
                    print(f"{v['path']}  {v['version']}  {v['commit'][:12]}  {review}")
        elif verb == "tokens":
            repo = _repo(args.repo)
            if args.action == "create":
                data = _check(c.post(f"/repos/{repo}/tokens", json={"scope": args.scope}))
                print(data["token"])
                print(f"token #{data['id']} ({data['scope']}) for {repo}: shown once, store it now", file=sys.stderr)
            elif args.action == "list":
                for t in _check(c.get(f"/repos/{repo}/tokens"))["tokens"]:
                    state = "revoked" if t["revoked"] else "active"
                    print(f"#{t['id']}  {t['scope']:5}  {t['hint']}  {state}  by {t['created_by']} {t['created_at'][:19]}")
            else:
                if args.token_id is None:
                    raise CliError("tokens revoke needs the token id (see `tokens list`)")
                _check(c.delete(f"/repos/{repo}/tokens/{args.token_id}"))
                print(f"token #{args.token_id} revoked")
    return 0


def _bundle(args) -> int:
    if args.repo_dir:
        try:
            data = bundle_from_checkout(args.repo_dir, args.ref, args.label)
        except BundleError as exc:
            raise CliError(str(exc)) from None
    elif args.repo:
        with _client(args, token_env="PROMPT_REVIEW_TOKEN") as c:
            data = _check(c.get(f"/repos/{_repo(args.repo)}/manifest", params={"label": args.label}))
    else:
        raise CliError("give --repo OWNER/NAME (from the service) or --repo-dir DIR (a local checkout)")
    out = {"schema": BUNDLE_SCHEMA, "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), **data}
    Path(args.out).write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{args.out}: {len(out['prompts'])} prompt(s) of {out['repo']} at {out['label']} ({(out.get('commit') or '')[:12]})")
    return 0
