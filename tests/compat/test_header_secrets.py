"""`{{env.NAME}}` in an http provider's headers (bot/evals/header_secrets.py): filled from the service's environment,
and sent only where the base branch (or the operator) lets that variable go; a vendor's key only to its own API."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from pydantic import ValidationError

from bot.core.config import EvalsConfig
from bot.core.files import MemoryTree
from bot.evals.loader import load_suite
from bot.evals.providers import Budget, Caller, Meter, ProviderError
from bot.evals.render import Renderer
from bot.evals.select import expand
from tests.compat.recording import recording

PATH = "evals/promptfooconfig.yaml"
SECRET = "s3cret-value-123"


@pytest.fixture
def service():
    with recording(lambda path: {"answer": "ok"}) as running:
        yield running


def case_for(url: str, header: str):
    suite = (f"prompts: ['Hi {{{{x}}}}']\nproviders:\n  - id: {url}/chat\n    config:\n      method: POST\n"
             f"      headers: {{Authorization: '{header}'}}\n      body: {{q: '{{{{prompt}}}}'}}\n"
             "      transformResponse: json.answer\ntests:\n  - vars: {x: a}\n")
    tree = MemoryTree({PATH: suite})
    loaded, errors = load_suite(tree, PATH)
    assert errors == [] and loaded is not None, errors
    cases, _ = expand(loaded, Renderer(tree))
    (case,) = cases.values()
    return case


def call(case, env: dict[str, str], config: EvalsConfig):
    env = {"PROMPT_REVIEW_ALLOW_PRIVATE_MODEL_URLS": "1", **env}

    async def go():
        async with httpx.AsyncClient() as client:
            return await Caller.for_run(client, env, config, Meter(Budget())).complete(case.provider, case.messages)

    return asyncio.run(go())


def test_a_granted_token_reaches_the_teams_service_and_stays_out_of_the_fingerprint(service):
    url, got = service
    case = case_for(url, "Bearer {{env.SUPPORT_BOT_TOKEN}}")
    config = EvalsConfig(allowed_base_urls=(url,), http_credentials={"SUPPORT_BOT_TOKEN": f"{url}/"})
    assert call(case, {"SUPPORT_BOT_TOKEN": SECRET}, config).text == "ok"
    assert got[-1]["headers"]["authorization"] == f"Bearer {SECRET}"
    assert SECRET not in repr(case.provider.fingerprint()) and "{{env.SUPPORT_BOT_TOKEN}}" in repr(case.provider.fingerprint())


def test_the_operator_can_grant_it_too(service):
    url, got = service
    env = {"SUPPORT_BOT_TOKEN": SECRET, "PROMPT_REVIEW_HTTP_CREDENTIALS": f"OTHER=https://x.example.com/,SUPPORT_BOT_TOKEN={url}/chat"}
    assert call(case_for(url, "Bearer {{ env.SUPPORT_BOT_TOKEN }}"), env, EvalsConfig(allowed_base_urls=(url,))).text == "ok"
    assert got[-1]["headers"]["authorization"] == f"Bearer {SECRET}"


@pytest.mark.parametrize("grants", [{}, {"SUPPORT_BOT_TOKEN": "https://bot.example.com/"}, {"OTHER": "URL"}])
def test_a_token_without_a_grant_for_this_url_is_refused_naming_the_rule_never_the_value(service, grants):
    url, got = service
    grants = {k: (url + "/" if v == "URL" else v) for k, v in grants.items()}
    with pytest.raises(ProviderError) as err:
        call(case_for(url, "Bearer {{env.SUPPORT_BOT_TOKEN}}"), {"SUPPORT_BOT_TOKEN": SECRET},
             EvalsConfig(allowed_base_urls=(url,), http_credentials=grants))
    assert "refused: header 'Authorization' asks for {{env.SUPPORT_BOT_TOKEN}}" in str(err.value)
    assert "evals.http_credentials" in str(err.value) and SECRET not in str(err.value)
    assert got == []  # nothing was sent


def test_an_unset_token_is_an_error_saying_so(service):
    url, got = service
    with pytest.raises(ProviderError) as err:
        call(case_for(url, "Bearer {{env.SUPPORT_BOT_TOKEN}}"), {},
             EvalsConfig(allowed_base_urls=(url,), http_credentials={"SUPPORT_BOT_TOKEN": url}))
    assert "needs SUPPORT_BOT_TOKEN, which is not set" in str(err.value) and got == []


def test_a_vendor_key_goes_only_to_that_vendors_api(service):
    url, got = service
    env = {"OPENAI_API_KEY": SECRET, "OPENAI_BASE_URL": url}  # the operator's OpenAI endpoint is this server
    assert call(case_for(url, "Bearer {{env.OPENAI_API_KEY}}"), env, EvalsConfig(allowed_base_urls=(url,))).text == "ok"
    assert got[-1]["headers"]["authorization"] == f"Bearer {SECRET}"
    with pytest.raises(ProviderError) as err:  # the same key to a URL that is not OpenAI's
        call(case_for(url, "Bearer {{env.OPENAI_API_KEY}}"), {"OPENAI_API_KEY": SECRET}, EvalsConfig(allowed_base_urls=(url,)))
    assert "refused" in str(err.value) and SECRET not in str(err.value)


def test_filters_beside_an_env_variable_in_a_header_stay_unsupported_at_their_line():
    suite = ("prompts: ['Hi']\nproviders:\n  - id: https://bot.example.com/chat\n    config:\n      method: POST\n"
             "      headers: {X-User: '{{env.TOKEN}} {{user | upper}}'}\n      body: {q: '{{prompt}}'}\n")
    loaded, errors = load_suite(MemoryTree({PATH: suite}), PATH)
    assert loaded is None and "may use {{env.NAME}}" in errors[0].message and errors[0].line == 6


@pytest.mark.parametrize("grants, words", [({"bad name": "https://a.example.com/"}, "not an environment variable name"),
                                           ({"TOKEN": "ftp://a.example.com/"}, "not an http(s) URL prefix")])
def test_a_bad_grant_is_a_config_error(grants, words):
    with pytest.raises(ValidationError) as err:
        EvalsConfig(http_credentials=grants)
    assert words in str(err.value)


def test_a_websocket_providers_header_is_filled_the_same_way():
    from bot.modelserver.app import create_app
    from bot.serving import start_in_thread

    running = start_in_thread(create_app())
    try:
        url = running.url.replace("http://", "ws://")
        suite = (f"prompts: ['Hi']\nproviders:\n  - id: {url}/ws/auth\n    config:\n      messageTemplate: '{{{{prompt}}}}'\n"
                 "      headers: {Authorization: 'Bearer {{env.BOT_TOKEN}}'}\n      transformResponse: data.output\n")
        loaded, errors = load_suite(MemoryTree({PATH: suite}), PATH)
        assert errors == [] and loaded is not None
        spec, messages = loaded.providers[0], (("user", "Hi"),)
        env = {"PROMPT_REVIEW_ALLOWED_MODEL_URLS": running.url, "PROMPT_REVIEW_ALLOW_PRIVATE_MODEL_URLS": "1", "BOT_TOKEN": SECRET}

        async def go(config: EvalsConfig):
            async with httpx.AsyncClient() as client:
                return await Caller.for_run(client, env, config, Meter(Budget())).complete(spec, messages)

        assert asyncio.run(go(EvalsConfig(http_credentials={"BOT_TOKEN": running.url}))).text == f"Bearer {SECRET}"
        with pytest.raises(ProviderError) as err:
            asyncio.run(go(EvalsConfig()))
        assert "refused: header 'Authorization' asks for {{env.BOT_TOKEN}}" in str(err.value)
    finally:
        running.stop()
