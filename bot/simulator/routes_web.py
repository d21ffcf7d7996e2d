"""Web pages for the links the bot writes (a pull request, a check run), so the demo's links open
something: the simulator's stand-ins for github.com's pages, rendered from the same records."""

from __future__ import annotations

import html

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from bot.core.render.html import markdown_to_html
from bot.simulator.http import not_found
from bot.simulator.state import SimState



def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}'
                        f"</title></head><body>\n{body}\n</body></html>\n")


class WebPages:
    """github.com's pages for a pull request and a check run, given the state."""

    def __init__(self, state: SimState) -> None:
        self.state = state
        self.router = r = APIRouter()
        r.add_api_route("/{owner}/{repo}/pull/{number}", self.pull_page,
                        methods=["GET"], response_class=HTMLResponse, include_in_schema=False)
        r.add_api_route("/{owner}/{repo}/runs/{check_run_id}", self.check_run_page,
                        methods=["GET"], response_class=HTMLResponse, include_in_schema=False)

    def pull_page(self, request: Request, owner: str, repo: str, number: int):
        s = self.state
        with s.lock:
            p = s.pulls.get((f"{owner}/{repo}", number))
            if p is None:
                raise not_found()
            comments = [(c.id, c.user.login, c.body) for c in s.comments_on(p.repo, number)]
            runs = sorted(((r.id, r.name, r.status, r.conclusion, r.title) for r in s.check_runs.values()
                           if r.repo is p.repo and r.head_sha == p.head_sha), key=lambda r: r[1])
            title, author, full = p.title, p.user.login, p.repo.full_name
        parts = [f"<h1>{html.escape(title)} <small>#{number}</small></h1>",
                 f"<p>{html.escape(full)} · opened by @{html.escape(author)}</p><h2>Checks</h2><ul>"]
        parts += [f'<li><a href="/{html.escape(full)}/runs/{rid}">{html.escape(name)}</a>: {html.escape(str(conclusion or status))}'
                  f" — {html.escape(t or '')}</li>" for rid, name, status, conclusion, t in runs]
        parts.append("</ul><h2>Conversation</h2>")
        parts += [f'<section id="issuecomment-{cid}"><h3>@{html.escape(login)}</h3>{markdown_to_html(body)}</section>'
                  for cid, login, body in comments]
        return _page(f"{title} · {full}#{number}", "\n".join(parts))

    def check_run_page(self, request: Request, owner: str, repo: str, check_run_id: int):
        s = self.state
        with s.lock:
            run = s.check_runs.get(check_run_id)
            if run is None or run.repo.full_name != f"{owner}/{repo}":
                raise not_found()
            name, state, title, summary, text = (run.name, run.conclusion or run.status, run.title or "", run.summary or "",
                                                 run.text or "")
            pulls = [p.number for p in s.pulls.values() if p.repo is run.repo and p.head_sha == run.head_sha]
        links = "".join(f' · <a href="/{owner}/{repo}/pull/{n}">#{n}</a>' for n in pulls)
        body = (f"<h1>{html.escape(name)}: {html.escape(state)}</h1><p>{html.escape(title)}{links}</p>"
                f"{markdown_to_html(summary)}{markdown_to_html(text)}")
        return _page(f"{name} · {owner}/{repo}", body)
