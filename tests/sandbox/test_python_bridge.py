"""A Python provider's network: the sandbox's own `openai` and `requests` send their requests through the bridge the
JavaScript providers' fetch uses (bot.evals.providers_code.Bridge), against the scripted model server (which checks
the API key it is sent). The interpreter itself still has no network; the escape tests are the ways such a
provider could leak a credential, reach what it must not, or hold the host.
"""

from __future__ import annotations

import json
import time

import pytest

from bot.core.config import EvalsConfig
from bot.core.files import MemoryTree
from bot.evals.loader import load_suite
from bot.evals.providers_code import MAX_REQUESTS, placeholder
from bot.evals.sandbox import PyCode
from bot.evals.sandbox.bridge import Answer, Request
from bot.evals.sandbox.py import call_python_provider
from bot.evals.sandbox.result import CodeLimits, Fault, SandboxError
from bot.modelserver import create_app
from bot.serving import start_in_thread
from tests.compat.recording import recording
from tests.sandbox.test_code_providers import KEY, SUITE_PATH, WORD_TESTS, head_of, review, server, suite  # noqa: F401

# promptfoo's examples/python-provider, in short: the OpenAI library's client, sync and async
OPENAI_PROVIDER = """\
from openai import AsyncOpenAI, OpenAI

client = OpenAI()
async_client = AsyncOpenAI()


def call_api(prompt, options, context):
    completion = client.chat.completions.create(model=options["config"]["model"], messages=[{"role": "user", "content": prompt}])
    usage = completion.usage
    return {"output": completion.choices[0].message.content,
            "tokenUsage": {"prompt": usage.prompt_tokens, "completion": usage.completion_tokens, "total": usage.total_tokens}}


async def async_provider(prompt, options, context):
    completion = await async_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": prompt}])
    return completion.choices[0].message.content
"""


def py_suite(function: str = "", config: str = "{model: gpt-4o-mini}") -> str:
    return suite(f"  - id: file://p.py{function}\n    config: {config}\n", WORD_TESTS)


def run(url: str, source: str, function: str = "", **kwargs):
    return head_of(review(url, {SUITE_PATH: py_suite(function), "evals/p.py": source}, **kwargs))


# ---- loading --------------------------------------------------------------------------------------------


def test_a_provider_importing_openai_or_requests_loads():
    source = "import requests\nfrom openai import OpenAI\nimport openai\n\ndef call_api(p, o, c):\n    return {'output': p}\n"
    assert load_suite(MemoryTree({SUITE_PATH: py_suite(), "evals/p.py": source}), SUITE_PATH)[1] == []


# ---- running ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("function", ["", ":async_provider"])
def test_the_openai_client_calls_the_chat_api_and_gets_the_scripted_answer(server, function):
    apple = run(server, OPENAI_PROVIDER, function)
    assert (apple.error, apple.output, apple.passed) == (None, "apple", True)
    if not function:
        assert apple.tokens_in > 0 and apple.tokens_out > 0  # the answer's usage, read through the library's attributes


def test_the_responses_api_and_the_0x_module_functions_answer_too(server):
    source = """\
import openai
from openai import OpenAI


def call_api(prompt, options, context):
    answer = OpenAI().responses.create(model="gpt-4o-mini", input=prompt)
    legacy = openai.ChatCompletion.create(model="gpt-4o-mini", messages=[{"role": "user", "content": prompt}])
    return answer.output_text + "|" + legacy["choices"][0]["message"]["content"]
"""
    apple = run(server, source)
    assert (apple.error, apple.output) == (None, "apple|apple")


def test_an_api_error_is_the_librarys_exception_which_the_code_may_catch(server):
    source = """\
import openai
from openai import OpenAI


def call_api(prompt, options, context):
    try:
        OpenAI(api_key="wrong").chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": prompt}])
    except openai.AuthenticationError as exc:
        return {"output": "caught %d %s" % (exc.status_code, type(exc).__name__)}
    return "not raised"
"""
    assert run(server, source).output == "caught 401 AuthenticationError"


def test_streaming_is_refused_by_name(server):
    source = OPENAI_PROVIDER.replace("messages=[", "stream=True, messages=[")
    error = run(server, source).error
    assert error is not None and "stream=True: the sandbox's openai has no streaming" in error, error


def test_requests_reaches_an_allowed_url_and_reads_its_answer(server):
    with recording(lambda path: {"reply": "apple", "path": path}) as (url, got):
        env = {"PROMPT_REVIEW_ALLOWED_MODEL_URLS": url, "PROMPT_REVIEW_ALLOW_PRIVATE_MODEL_URLS": "1"}
        source = f"""\
import requests


def call_api(prompt, options, context):
    with requests.Session() as session:
        session.headers["X-Team"] = "support"
        r = session.post("{url}/answer", json={{"q": prompt}}, params={{"v": 2}}, timeout=5)
    r.raise_for_status()
    return r.json()["reply"] + " " + r.json()["path"] + " " + r.headers["Content-Type"]
"""
        apple = run(server, source, env=env)
        assert (apple.error, apple.output) == (None, "apple /answer?v=2 application/json")
        ((request),) = got
        assert request["headers"]["x-team"] == "support" and request["body"] == {"q": 'Reply with "apple"'}


# ---- escapes ---------------------------------------------------------------------------------------------


def test_the_provider_reads_a_placeholder_never_the_credential(server):
    source = "import os\n\ndef call_api(prompt, options, context):\n    return repr(dict(os.environ))\n"
    output = run(server, source).output
    assert KEY not in output and placeholder("OPENAI_API_KEY") in output


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/steal", "http://169.254.169.254/latest/meta-data/"])
def test_a_host_that_is_not_allowed_is_refused_even_when_the_code_catches(server, url):
    source = f"""\
import requests


def call_api(prompt, options, context):
    try:
        requests.get("{url}")
    except BaseException as exc:
        return "caught " + repr(exc)
    return "reached"
"""
    error = run(server, source).error
    assert error is not None and f"fetch '{url}': refused: a provider written in code reaches only the model APIs" in error, error


def test_the_credential_goes_to_its_own_vendor_only_and_in_headers_only(server):
    other = start_in_thread(create_app())  # an allowlisted server of someone else
    try:
        env = {"PROMPT_REVIEW_ALLOWED_MODEL_URLS": other.url, "PROMPT_REVIEW_ALLOW_PRIVATE_MODEL_URLS": "1"}
        leak = ("from openai import OpenAI\n\ndef call_api(prompt, options, context):\n"
                f"    return OpenAI(base_url='{other.url}/v1').chat.completions.create(model='m', messages=[]).id\n")
        error = run(server, leak, env=env).error
        assert error is not None and ("refused: the request carries os.environ['OPENAI_API_KEY'], which goes only to its own "
                                      "vendor's API") in error, error
        in_body = ("import os, requests\n\ndef call_api(prompt, options, context):\n"
                   "    return requests.post('https://api.openai.com/v1/x', data=os.environ['OPENAI_API_KEY']).text\n")
        error = run(server, in_body).error
        assert error is not None and "refused: os.environ['OPENAI_API_KEY'] is put in request headers only" in error, error
    finally:
        other.stop()


def test_the_number_of_requests_in_one_call_is_bounded(server):
    source = ("import requests\n\ndef call_api(prompt, options, context):\n    for _ in range(100):\n"
              "        requests.get('https://api.openai.com/v1/models')\n    return 'done'\n")
    error = run(server, source).error
    assert error is not None and f"refused: more than {MAX_REQUESTS} requests in one call" in error, error


def test_a_line_the_code_forges_on_the_bridge_is_refused_not_read():
    source = ("import os\n\ndef call_api(prompt, options, context):\n"
              "    for fd in range(3, 12):\n        try:\n            os.write(fd, b'\\x1e{\"id\": \"x\"}\\n')\n"
              "        except OSError:\n            pass\n    return 'x'\n")
    with pytest.raises(SandboxError) as raised:
        call_python_provider(PyCode(source, "p.py", "call_api"), ["p", {}, {}], env={}, send=lambda r: Answer(200, "OK", {}, "{}"))
    assert raised.value.fault is Fault.REFUSED and "not a request" in raised.value.message


def test_an_oversize_request_line_stops_the_code():
    source = ("import os\n\ndef call_api(prompt, options, context):\n"
              "    for fd in range(3, 12):\n        try:\n            os.write(fd, b'\\x1e' + b'x' * 3_000_000)\n"
              "        except OSError:\n            pass\n    return 'x'\n")
    with pytest.raises(SandboxError) as raised:
        call_python_provider(PyCode(source, "p.py", "call_api"), ["p", {}, {}], env={}, send=lambda r: Answer(200, "OK", {}, "{}"))
    assert raised.value.fault is Fault.OUTPUT


def test_the_waits_for_answers_do_not_count_against_the_time_limit_but_the_codes_own_time_does():
    def slow(request: Request) -> Answer:
        time.sleep(1.5)
        return Answer(200, "OK", {"content-type": "text/plain"}, "late")

    source = ("import requests\n\ndef call_api(prompt, options, context):\n"
              "    return ''.join(requests.get('https://api.openai.com/v1/models').text for _ in range(2))\n")
    limits = CodeLimits(timeout_s=1)
    assert call_python_provider(PyCode(source, "p.py", "call_api"), ["p", {}, {}], limits, {}, slow) == "latelate"
    asleep = "import time\n\ndef call_api(prompt, options, context):\n    time.sleep(30)\n"
    with pytest.raises(SandboxError) as raised:
        call_python_provider(PyCode(asleep, "p.py", "call_api"), ["p", {}, {}], limits, {}, slow)
    assert raised.value.fault is Fault.TIMEOUT


def test_an_assertion_has_no_bridge():
    from bot.evals.sandbox import run_python

    with pytest.raises(SandboxError) as raised:
        run_python(PyCode.inline("__import__('openai').OpenAI()"), "x", {})
    assert "imports 'openai', which is not in Python's standard library" in raised.value.message


def test_httpx_reaches_an_allowed_url_sync_and_async(server):
    """A real user's provider called its own llama-server with httpx.Client; httpx was refused at load."""
    with recording(lambda path: {"choices": [{"message": {"content": "apple"}}], "path": path},
                   status=lambda path: 404 if "missing" in path else 200,
                   read=lambda raw: json.loads(raw) if raw else None) as (url, got):
        env = {"PROMPT_REVIEW_ALLOWED_MODEL_URLS": url, "PROMPT_REVIEW_ALLOW_PRIVATE_MODEL_URLS": "1"}
        source = f"""\
import httpx


def call_api(prompt, options, context):
    with httpx.Client(base_url="{url}", timeout=httpx.Timeout(30.0), headers={{"X-Team": "support"}}) as client:
        r = client.post("/v1/chat/completions", json={{"messages": [{{"role": "user", "content": prompt}}]}})
        r.raise_for_status()
    try:
        httpx.get("{url}/missing").raise_for_status()
    except httpx.HTTPStatusError as exc:
        missing = exc.response.status_code
    return r.json()["choices"][0]["message"]["content"] + " " + str(r.is_success) + " " + str(missing)


async def call_async(prompt, options, context):
    async with httpx.AsyncClient() as client:
        r = await client.post("{url}/v1/chat/completions", json={{"q": prompt}})
    return r.json()["choices"][0]["message"]["content"]
"""
        apple = run(server, source, env=env)
        assert (apple.error, apple.output) == (None, "apple True 404"), apple.error
        assert got[0]["headers"]["x-team"] == "support" and got[0]["body"]["messages"][0]["content"] == 'Reply with "apple"'
        assert run(server, source, ":call_async", env=env).output == "apple"


ANTHROPIC_PROVIDER = """\
import anthropic


def call_api(prompt, options, context):
    message = anthropic.Anthropic().messages.create(model="claude-sonnet-4-0", max_tokens=100,
                                                    messages=[{"role": "user", "content": prompt}])
    return {"output": message.content[0].text, "tokenUsage": {"prompt": message.usage.input_tokens,
                                                              "completion": message.usage.output_tokens}}


async def call_async(prompt, options, context):
    message = await anthropic.AsyncAnthropic().messages.create(model="claude-sonnet-4-0", max_tokens=100,
                                                                messages=[{"role": "user", "content": prompt}])
    return message.content[0].text + " " + message.stop_reason


def wrong_key(prompt, options, context):
    try:
        anthropic.Anthropic(api_key="wrong").messages.create(model="claude-sonnet-4-0", max_tokens=10, messages=[])
    except anthropic.AuthenticationError as exc:
        return "caught %d" % exc.status_code
    return "not raised"
"""


def test_the_anthropic_client_calls_the_messages_api_and_gets_the_scripted_answer(server):
    env = {"ANTHROPIC_BASE_URL": server, "ANTHROPIC_API_KEY": KEY}
    apple = run(server, ANTHROPIC_PROVIDER, env=env)
    assert (apple.error, apple.output) == (None, "apple") and apple.tokens_in > 0
    assert run(server, ANTHROPIC_PROVIDER, ":call_async", env=env).output == "apple end_turn"
    assert run(server, ANTHROPIC_PROVIDER, ":wrong_key", env=env).output == "caught 401"


def test_the_standard_librarys_urllib_request_goes_through_the_bridge(server):
    """A real user's dependency-free provider called Claude with urllib.request; it hit the sandbox's socket refusal."""
    source = """\
import json
import os
import urllib.error
import urllib.request


def call_api(prompt, options, context):
    body = json.dumps({"model": "claude-sonnet-4-0", "max_tokens": 100, "messages": [{"role": "user", "content": prompt}]})
    req = urllib.request.Request("https://api.anthropic.com/v1/messages", data=body.encode("utf-8"), method="POST",
                                 headers={"x-api-key": os.environ["ANTHROPIC_API_KEY"], "anthropic-version": "2023-06-01",
                                          "content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        data = json.loads(resp.read().decode("utf-8"))
    try:
        urllib.request.urlopen(urllib.request.Request("https://api.anthropic.com/v1/messages", data=b"{}",
                                                      headers={"x-api-key": "wrong"}))
    except urllib.error.HTTPError as exc:
        return data["content"][0]["text"] + " %d %d" % (resp.status, exc.code)
    return "not raised"
"""
    apple = run(server, source, env={"ANTHROPIC_BASE_URL": server, "ANTHROPIC_API_KEY": KEY})
    assert (apple.error, apple.output) == (None, "apple 200 401"), apple.error
    # a host the rules do not allow is refused, caught or not
    leak = "import urllib.request\n\ndef call_api(prompt, options, context):\n    try:\n" \
           "        urllib.request.urlopen('http://169.254.169.254/latest/meta-data/')\n    except Exception as exc:\n" \
           "        return 'caught ' + repr(exc)\n"
    error = run(server, leak).error
    assert error is not None and "refused: a provider written in code reaches only the model APIs" in error, error


def test_dotenv_loads_nothing_and_the_placeholders_are_already_there(server):
    """Providers call load_dotenv() / require('dotenv').config() before reading their key: a .env file holds secrets the
    sandbox never has, so it loads nothing, and the key the code then reads is the placeholder, as without it."""
    py = ("import os\nfrom dotenv import load_dotenv\n\nload_dotenv()\n\n"
          "def call_api(prompt, options, context):\n    return str(load_dotenv()) + ' ' + os.environ['OPENAI_API_KEY']\n")
    assert run(server, py).output == f"False {placeholder('OPENAI_API_KEY')}"
    js = ("require('dotenv').config();\nimport 'dotenv/config';\nimport dotenv from 'dotenv';\n"
          "module.exports = () => JSON.stringify(dotenv.config()) + ' ' + process.env.OPENAI_API_KEY;\n")
    cases = review(server, {SUITE_PATH: suite("  - file://p.mjs\n", WORD_TESTS), "evals/p.mjs": js})
    assert head_of(cases).output == '{"parsed":{}} ' + placeholder("OPENAI_API_KEY")
