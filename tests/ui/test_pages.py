"""The /ui/ pages over real HTTP: sign-in with GitHub (the simulator's OAuth endpoints), what each person
may see, the prompt history with its charts, the full review, and the deploy/rollback buttons."""

from __future__ import annotations

import httpx

from bot.core.result import COMMENT_MARKER
from tests.ui.conftest import REPO, SYSTEM, csrf_of, sign_in


def test_anonymous_visitors_are_sent_to_sign_in_and_come_back_where_they_were(history):
    page = f"/ui/repos/{REPO}"
    client = sign_in(history.url, "erin", page)
    assert "prompt_review_session" in client.cookies
    shown = client.get(history.url + page)
    assert shown.status_code == 200 and SYSTEM in shown.text


def test_session_cookie_is_httponly_samesite_and_encrypted(history):
    client = httpx.Client(timeout=60)
    first = client.get(history.url + "/ui/login")
    authorize = first.headers["location"]
    back = client.get(authorize + "&login=erin")
    done = client.get(back.headers["location"])
    cookie = done.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/ui" in cookie
    assert "erin" not in cookie and "ghu_" not in cookie  # the user token is not readable in the cookie


def test_a_tampered_or_foreign_session_cookie_is_not_a_session(history):
    client = httpx.Client(timeout=60, cookies={"prompt_review_session": "gAAAAABfake"})
    assert client.get(history.url + "/ui/").status_code == 303


def test_a_callback_with_another_browsers_state_is_refused(history):
    client = httpx.Client(timeout=60)
    client.get(history.url + "/ui/login")
    refused = client.get(history.url + "/ui/auth/callback", params={"code": "x", "state": "not-the-one"})
    assert refused.status_code == 400 and "not started from this browser" in refused.text


def test_index_lists_only_repositories_the_person_can_read(history):
    erin = sign_in(history.url, "erin")
    assert REPO in erin.get(history.url + "/ui/").text
    mallory = sign_in(history.url, "mallory")
    assert REPO not in mallory.get(history.url + "/ui/").text
    hidden = mallory.get(history.url + f"/ui/repos/{REPO}")
    assert hidden.status_code == 404 and SYSTEM not in hidden.text
    assert mallory.get(history.url + f"/ui/repos/{REPO}/prompts/{SYSTEM}").status_code == 404
    assert mallory.get(history.url + f"/ui/repos/{REPO}/reviews/1").status_code == 404


def test_repo_page_shows_prompts_labels_last_review_and_deployments(history):
    erin = sign_in(history.url, "erin")
    html = erin.get(history.url + f"/ui/repos/{REPO}").text
    assert SYSTEM in html and "staging" in html and "#2" in html
    assert "deploy of <strong>staging</strong>" in html and "@erin via api" in html
    rollouts = html[html.index("<h2>Open rollouts</h2>"):html.index("<h2>Recent deployments</h2>")]
    assert "<strong>canary</strong> (rollout #1, running" in rollouts
    assert " 90%, candidate <code>" in rollouts and "</code> 10%" in rollouts and "1 of 3 (10% → 50% → 100%)" in rollouts
    assert "<h2>Re-validation</h2>" in html


def test_prompt_page_has_timeline_versions_and_an_eval_chart(history):
    erin = sign_in(history.url, "erin")
    page = erin.get(history.url + f"/ui/repos/{REPO}/prompts/{SYSTEM}")
    assert page.status_code == 200
    html = page.text
    assert "merged from #1" in html and "merged from #2" in html and "staging →" in html
    assert html.count("<svg") >= 1 and "Eval pass rate per version" in html
    assert "review of #2" in html and "failure" in html
    assert "reached 10% of canary (rollout #1 started;" in html and "keeps 90%" in html
    assert "trying the friendlier tone on a tenth of canary" in html  # the reason given with the rollout


def test_the_pr_comment_links_to_the_full_review_page_at_the_services_public_url(history):
    [comment] = [c for c in history.stack.sim.comments(REPO, 2) if c.body.startswith(COMMENT_MARKER)]
    link = f"[full review with every case and output]({history.url}/ui/repos/{REPO}/reviews/2)"
    assert link in comment.body
    erin = sign_in(history.url, "erin")
    page = erin.get(f"{history.url}/ui/repos/{REPO}/reviews/2")
    assert page.status_code == 200 and "Every case" in page.text
    assert "full review with every case and output" not in page.text  # the page does not link to itself


def test_full_review_page_shows_every_case_and_output(history):
    erin = sign_in(history.url, "erin")
    page = erin.get(history.url + f"/ui/repos/{REPO}/reviews/2")
    assert page.status_code == 200
    assert "Every case" in page.text and page.text.count("<pre>") >= 2


def test_buttons_are_offered_to_owners_and_not_to_others(history):
    erin = sign_in(history.url, "erin")
    html = erin.get(history.url + f"/ui/repos/{REPO}/prompts/{SYSTEM}").text
    assert "/deploy?label=production" in html and "/rollback?label=staging" in html
    dave = sign_in(history.url, "dave")
    html = dave.get(history.url + f"/ui/repos/{REPO}/prompts/{SYSTEM}").text
    assert "not offered to you" in html and "/deploy?" not in html and "/rollback?" not in html


def test_deploy_without_the_pages_csrf_token_is_refused_and_moves_nothing(history):
    erin = sign_in(history.url, "erin")
    refused = erin.post(history.url + f"/ui/repos/{REPO}/deploy",
                        data={"label": "staging", "path": SYSTEM, "commit": history.bad, "csrf": "guess"})
    assert refused.status_code == 403
    other_site = erin.post(history.url + f"/ui/repos/{REPO}/deploy", headers={"Origin": "https://evil.example"},
                           data={"label": "staging", "path": SYSTEM, "commit": history.bad,
                                 "csrf": csrf_of(erin.get(history.url + "/ui/").text)})
    assert other_site.status_code == 403
    html = erin.get(history.url + f"/ui/repos/{REPO}/prompts/{SYSTEM}").text
    assert "rolled back" not in html and html.count("staging →") == 1


def test_a_non_owner_pressing_deploy_is_refused_by_the_release_rules(history):
    dave = sign_in(history.url, "dave")
    csrf = csrf_of(dave.get(history.url + "/ui/").text)
    refused = dave.post(history.url + f"/ui/repos/{REPO}/deploy",
                        data={"label": "staging", "path": SYSTEM, "commit": history.bad, "csrf": csrf})
    assert refused.status_code == 403 and "may not deploy" in refused.text


def test_confirm_names_the_move_then_deploy_and_rollback_act(history):
    erin = sign_in(history.url, "erin")
    confirm = erin.get(history.url + f"/ui/repos/{REPO}/deploy",
                       params={"label": "staging", "path": SYSTEM, "commit": history.bad})
    assert confirm.status_code == 200 and "Deploy to staging?" in confirm.text and SYSTEM in confirm.text
    done = erin.post(history.url + f"/ui/repos/{REPO}/deploy", data={
        "label": "staging", "path": SYSTEM, "commit": history.bad, "csrf": csrf_of(confirm.text)})
    assert done.status_code == 303, done.text
    html = erin.get(history.url + done.headers["location"]).text
    assert "Done: deploy" in html and html.count("staging →") == 2
    confirm = erin.get(history.url + f"/ui/repos/{REPO}/rollback", params={"label": "staging", "path": SYSTEM})
    assert "Roll back staging?" in confirm.text
    back = erin.post(history.url + f"/ui/repos/{REPO}/rollback",
                     data={"label": "staging", "path": SYSTEM, "csrf": csrf_of(confirm.text)})
    assert back.status_code == 303
    assert "staging rolled back to" in erin.get(history.url + back.headers["location"]).text


def test_sign_out_ends_the_session(history):
    erin = sign_in(history.url, "erin")
    out = erin.post(history.url + "/ui/logout", data={"csrf": csrf_of(erin.get(history.url + "/ui/").text)})
    assert out.status_code == 200 and "signed out" in out.text
    assert erin.get(history.url + "/ui/").status_code == 303


def test_the_done_note_shows_only_words_the_service_writes(history):
    erin = sign_in(history.url, "erin")
    page = erin.get(history.url + f"/ui/repos/{REPO}/prompts/{SYSTEM}", params={"done": "Call +1-555 to verify your account"})
    assert "Call +1-555" not in page.text
    page = erin.get(history.url + f"/ui/repos/{REPO}/prompts/{SYSTEM}", params={"done": "deploy #3 of staging"})
    assert "Done: deploy #3 of staging." in page.text
