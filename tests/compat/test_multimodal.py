"""Vision and audio prompts as promptfoo runs them: chat messages with content parts in each vendor's
form, image var files read as data: URLs and video/audio as base64 text, rubricPrompts with image parts. Each vendor's
request goes over real loopback HTTP to the scripted model server, which answers from the text parts
and names every other part it was given (rule 11 of bot.modelserver.rules)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import struct
import zlib

import httpx
import pytest

from bot.core.config import Budget, EvalsConfig, LimitsConfig
from bot.core.files import MemoryTree
from bot.core.parts import Parts
from bot.evals.grading import rubric_messages
from bot.evals.loader import load_suite
from bot.evals.providers import Caller, Completion, Meter, ProviderError
from bot.evals.providers_wire import request
from bot.evals.render import Renderer
from bot.evals.runner import cache_key, code_context
from bot.evals.sandbox import CodeLimits
from bot.evals.select import CodeGate, expand
from bot.modelserver import create_app
from bot.serving import start_in_thread

PATH = "evals/promptfooconfig.yaml"
KEY = "scripted-key"


def png(rgb: tuple[int, int, int], size: int = 16) -> bytes:
    """A small real PNG of one colour (stored, not compressed, so its base64 is long enough to be an image line)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(rgb) * size for _ in range(size))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 0)) + chunk(b"IEND", b""))


RED, BLUE = png((255, 0, 0)), png((0, 0, 255))
RED64, BLUE64 = base64.b64encode(RED).decode(), base64.b64encode(BLUE).decode()


def load(suite: str, **files: str | bytes):
    tree = MemoryTree({PATH: suite, **{f"evals/{name.replace('__', '/')}": text for name, text in files.items()}})
    return tree, load_suite(tree, PATH)


def rendered(suite: str, **files: str | bytes):
    tree, (loaded, errors) = load(suite, **files)
    assert errors == [], [str(e) for e in errors]
    return [Renderer(tree).render(loaded.prompts[0], test.vars) for test in loaded.tests], loaded


OPENAI_VISION = json.dumps([
    {"role": "system", "content": "You describe pictures."},
    {"role": "user", "content": [{"type": "text", "text": 'Please reply with "{{ answer }}"'},
                                 {"type": "image_url", "image_url": {"url": "{{ picture }}"}}]},
])


# ---- loading and rendering ---------------------------------------------------------------------


def test_an_image_var_file_is_a_data_url_of_its_base64_in_the_rendered_content_parts():
    (messages,), _ = rendered("prompts: [file://vision.json]\nproviders: [openai:gpt-4o]\n"
                              "tests: [{vars: {answer: red, picture: file://red.png}}]\n", **{"vision.json": OPENAI_VISION, "red.png": RED})
    (_, system), (role, content) = messages
    assert system == "You describe pictures." and role == "user" and isinstance(content, Parts)
    assert content.parts == [{"type": "text", "text": 'Please reply with "red"'},
                             {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{RED64}"}}]


def test_code_sees_the_prompt_with_its_content_parts_as_a_list():
    tree, (loaded, errors) = load("prompts: [file://vision.json]\nproviders: [openai:gpt-4o]\n"
                                  "tests: [{vars: {answer: red, picture: file://red.png}}]\n", **{"vision.json": OPENAI_VISION, "red.png": RED})
    assert errors == []
    (case,) = expand(loaded, Renderer(tree))[0].values()
    prompt = json.loads(code_context(case, CodeLimits()).prompt)
    assert prompt[1]["content"][0] == {"type": "text", "text": 'Please reply with "red"'}  # a list, not its JSON text


def test_an_image_var_files_mime_type_comes_from_its_magic_number_then_its_extension_as_in_promptfoo():
    # promptfoo 0.121's renderPrompt: getMimeTypeFromExtension, overridden by detectMimeFromBase64
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"/>'
    (messages,), _ = rendered("prompts: ['{{ a }}|{{ b }}']\nproviders: [openai:gpt-4o]\n"
                              "tests: [{vars: {a: file://photo.JPG, b: file://logo.svg}}]\n", **{"photo.JPG": RED, "logo.svg": svg})
    assert messages == (("user", f"data:image/png;base64,{RED64}|data:image/svg+xml;base64,{base64.b64encode(svg).decode()}"),)


def test_video_and_audio_var_files_are_bare_base64_and_a_pdf_is_refused_with_its_line():
    clip, sound = b"\x00\x00\x00\x18ftypmp42", b"RIFF\xff\x00WAVE"
    (messages,), _ = rendered("prompts: ['{{ clip }} {{ sound }}']\nproviders: [openai:gpt-4o]\n"
                              "tests: [{vars: {clip: file://a.mp4, sound: file://a.WAV}}]\n", **{"a.mp4": clip, "a.WAV": sound})
    assert messages == (("user", f"{base64.b64encode(clip).decode()} {base64.b64encode(sound).decode()}"),)
    _, (loaded, errors) = load("prompts: ['{{ doc }}']\nproviders: [openai:gpt-4o]\n"
                               "tests:\n  - vars: {doc: x}\n  - vars: {doc: file://doc.pdf}\n", **{"doc.pdf": b"%PDF-1.7\n\xe2\xe3\xcf\xd3"})
    assert [f"{e.file}:{e.line}: {e.message}" for e in errors] == [
        f"{PATH}:5: unsupported: var file 'doc.pdf' is not text (a PDF or another binary file); "
        "prompt-review reads text, images, video and audio var files"]


def test_an_image_var_file_over_the_size_limit_is_refused_unread():
    tree = MemoryTree({PATH: "prompts: ['{{ p }}']\nproviders: [openai:gpt-4o]\ntests: [{vars: {p: file://big.png}}]\n",
                       "evals/big.png": RED})
    _, errors = load_suite(tree, PATH, limits=LimitsConfig(max_prompt_bytes=100))
    assert [e.message for e in errors] == [
        f"var file evals/big.png is {len(RED):,} bytes, over the limit of 100 (raise `limits.max_prompt_bytes` in .github/prompt-review.yml)"]


def test_a_glob_of_images_is_one_case_per_image_each_its_data_url():
    outputs, loaded = rendered("prompts: [file://vision.json]\nproviders: [openai:gpt-4o]\n"
                               "tests: [{vars: {answer: x, picture: 'file://pics/*.png'}}]\n",
                               **{"vision.json": OPENAI_VISION, "pics__a.png": RED, "pics__b.png": BLUE})
    urls = sorted(m[1][1].parts[1]["image_url"]["url"] for m in outputs)
    assert urls == sorted(f"data:image/png;base64,{b}" for b in (RED64, BLUE64))


def test_the_cache_key_changes_with_the_image_alone():
    tree, (loaded, errors) = load("prompts: [file://vision.json]\nproviders: [openai:gpt-4o]\n"
                                  "tests:\n  - vars: {answer: x, picture: file://red.png}\n"
                                  "  - vars: {answer: x, picture: file://blue.png}\n  - vars: {answer: x, picture: file://red2.png}\n",
                                  **{"vision.json": OPENAI_VISION, "red.png": RED, "blue.png": BLUE, "red2.png": RED})
    cases, _ = expand(loaded, Renderer(tree))
    red, blue, red2 = (cache_key(case, 0) for case in cases.values())
    assert red != blue and red == red2  # the same image under another name is the same call


def test_message_shapes_of_the_vendors_load_and_a_part_that_is_not_a_mapping_is_an_error():
    for chat in (
        [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}, {"type": "input_image", "image_url": "{{u}}"}]}],
        [{"role": "user", "content": [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "{{p}}"}}]}],
        [{"role": "user", "content": [{"image": {"format": "png", "source": {"bytes": "{{p}}"}}}, {"text": "What is it?"}]}],
        [{"role": "user", "content": [{"modality": "text", "value": "Hi"}, {"modality": "image", "detail": "auto",
                                                                             "value": {"type": "url", "url": "{{u}}"}}]}],
    ):
        _, (loaded, errors) = load("prompts: [file://c.json]\nproviders: [openai:gpt-4o]\ntests: [{vars: {u: x, p: y}}]\n",
                                   **{"c.json": json.dumps(chat)})
        assert errors == [], chat
    _, (loaded, errors) = load("prompts: [file://c.json]\nproviders: [openai:gpt-4o]\n",
                               **{"c.json": json.dumps([{"role": "user", "content": [1, 2]}])})
    assert [f"{e.file}:{e.line}: {e.message}" for e in errors] == [
        "evals/c.json:1: message 1: content parts must be a non-empty list of part mappings"]


# ---- the wire formats, against the scripted model server ---------------------------------------


@pytest.fixture(scope="module")
def server():
    running = start_in_thread(create_app(api_key=KEY))
    yield running.url
    running.stop()


def call(env: dict[str, str], entry: str, messages) -> Completion | ProviderError:
    suite, errors = load_suite(MemoryTree({"promptfooconfig.yaml": f"providers:\n  - {entry}\ntests:\n  - vars: {{prompt: hi}}\n"}),
                               "promptfooconfig.yaml")
    assert errors == []

    async def go():
        async with httpx.AsyncClient() as client:
            caller = Caller.for_run(client, env, EvalsConfig(timeout_s=10), Meter(Budget()))
            try:
                return await caller.complete(suite.providers[0], messages)
            except ProviderError as exc:
                return exc

    return asyncio.run(go())


def sha(part: dict) -> str:
    return hashlib.sha256(json.dumps(part, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:12]


def ask(*parts: dict) -> tuple[tuple[str, str], ...]:
    return (("user", Parts([{"type": "text", "text": 'Please reply with "pong"'}, *parts])),)


def test_openai_compatible_vendors_get_the_parts_as_written(server):
    image = {"type": "image_url", "image_url": {"url": "https://example.com/wave.jpg"}}
    audio = {"type": "input_audio", "input_audio": {"data": RED64, "format": "wav"}}
    for entry, env in (("openai:chat:gpt-4o", {"OPENAI_BASE_URL": f"{server}/v1", "OPENAI_API_KEY": KEY}),
                       ("azure:chat:my-gpt4o-deployment", {"AZURE_OPENAI_BASE_URL": server, "AZURE_OPENAI_API_KEY": KEY}),
                       ("groq:llama-3.3-70b-versatile", {"GROQ_BASE_URL": f"{server}/v1", "GROQ_API_KEY": KEY})):
        outcome = call(env, entry, ask(image, audio))
        assert isinstance(outcome, Completion), f"{entry}: {outcome}"
        assert outcome.text == f"pong [seen: image_url: https://example.com/wave.jpg] [seen: input_audio: sha256 {sha(audio)}]"


def test_the_responses_api_gets_its_own_input_parts(server):
    env = {"OPENAI_BASE_URL": f"{server}/v1", "OPENAI_API_KEY": KEY}
    messages = (("user", Parts([{"type": "input_text", "text": 'Please reply with "pong"'},
                                {"type": "input_image", "image_url": "https://example.com/a.png"}])),)
    outcome = call(env, "openai:responses:gpt-4.1-mini", messages)
    assert isinstance(outcome, Completion) and outcome.text == "pong [seen: input_image: https://example.com/a.png]"


def test_anthropic_gets_its_image_blocks_and_a_system_of_parts_as_blocks(server):
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": RED64}}
    messages = (("system", Parts([{"type": "text", "text": "You describe pictures."}])), *ask(image))
    path, body = request(call_spec("anthropic:claude-sonnet-4-0"), messages)
    assert body["system"] == [{"type": "text", "text": "You describe pictures."}]
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": 'Please reply with "pong"'}, image]}]
    outcome = call({"ANTHROPIC_BASE_URL": server, "ANTHROPIC_API_KEY": KEY}, "anthropic:claude-sonnet-4-0", messages)
    assert isinstance(outcome, Completion) and outcome.text == f"pong [seen: image: sha256 {sha(image)}]"


def test_an_openai_image_part_sent_to_anthropic_or_gemini_is_a_clear_case_error(server):
    image = {"type": "image_url", "image_url": {"url": "https://example.com/wave.jpg"}}
    outcome = call({"ANTHROPIC_BASE_URL": server, "ANTHROPIC_API_KEY": KEY}, "anthropic:claude-sonnet-4-0", ask(image))
    assert isinstance(outcome, ProviderError) and str(outcome) == (
        "anthropic:claude-sonnet-4-0: message 1 has a 'image_url' content part in another vendor's form; this API takes "
        "{type: text | image | document, …} blocks (promptfoo sends the part unchanged and the API refuses it)")
    outcome = call({"GEMINI_BASE_URL": server, "GEMINI_API_KEY": KEY}, "google:gemini-2.5-flash", ask(image))
    assert isinstance(outcome, ProviderError) and "message 1 has a 'image_url' content part in another vendor's form" in str(outcome)
    outcome = call({"OLLAMA_BASE_URL": server}, "ollama:chat:llama3.2", ask(image))
    assert isinstance(outcome, ProviderError) and "this provider takes text messages" in str(outcome)


def test_gemini_lifts_a_base64_image_line_out_of_a_text_prompt_as_promptfoo_does(server):
    """promptfoo's Google example: the prompt is text, the image var files are data-URL lines in it."""
    (messages,), _ = rendered("prompts:\n  - |\n    {{ a }}\n    {{ b }}\n    Please reply with \"pong\"\nproviders: [google:gemini-2.5-flash]\n"
                              "tests: [{vars: {a: file://red.png, b: file://blue.png}}]\n", **{"red.png": RED, "blue.png": BLUE})
    _, body = request(call_spec("google:gemini-2.5-flash"), messages)
    assert body["contents"] == [{"role": "user", "parts": [
        {"inlineData": {"mimeType": "image/png", "data": RED64}},
        {"inlineData": {"mimeType": "image/png", "data": BLUE64}}, {"text": 'Please reply with "pong"\n'}]}]  # the block scalar's newline
    for entry, env in (("google:gemini-2.5-flash", {"GEMINI_BASE_URL": server, "GEMINI_API_KEY": KEY}),
                       ("id: vertex:gemini-2.5-pro\n    config: {projectId: my-project}", {"VERTEX_BASE_URL": server, "VERTEX_ACCESS_TOKEN": KEY})):
        outcome = call(env, entry, messages)
        assert isinstance(outcome, Completion), f"{entry}: {outcome}"
        assert outcome.text.startswith("pong [seen: inlineData: sha256 ") and outcome.text.count("[seen: inlineData") == 2


def test_gemini_reads_openai_text_parts_as_text_and_keeps_its_own_parts(server):
    inline = {"inline_data": {"mime_type": "image/png", "data": RED64}}
    messages = (("system", Parts([{"type": "text", "text": "Be brief."}])), *ask(inline))
    _, body = request(call_spec("google:gemini-2.5-flash"), messages)
    assert body["contents"] == [{"role": "user", "parts": [{"text": 'Please reply with "pong"'}, inline]}]
    assert body["systemInstruction"] == {"parts": [{"text": "Be brief."}]}


def test_bedrock_converse_gets_nova_image_blocks_as_written(server):
    block = {"image": {"format": "png", "source": {"bytes": RED64}}}
    messages = (("user", Parts([block, {"text": 'Please reply with "pong"'}])),)
    env = {"BEDROCK_BASE_URL": server, "AWS_REGION": "us-east-1", "AWS_BEARER_TOKEN_BEDROCK": KEY}
    _, body = request(call_spec("bedrock:converse:amazon.nova-lite-v1:0"), messages)
    assert body["messages"] == [{"role": "user", "content": [block, {"text": 'Please reply with "pong"'}]}]
    outcome = call(env, "bedrock:converse:amazon.nova-lite-v1:0", messages)
    assert isinstance(outcome, Completion) and outcome.text == f"pong [seen: image: sha256 {sha(block)}]"
    outcome = call(env, "bedrock:converse:amazon.nova-lite-v1:0", ask({"type": "image_url", "image_url": {"url": "x"}}))
    assert isinstance(outcome, ProviderError) and "Converse blocks" in str(outcome)


def test_adaline_gateway_parts_become_the_vendors_own(server):
    gateway = (("user", Parts([{"modality": "text", "value": 'Please reply with "pong"'},
                               {"modality": "image", "detail": "auto", "value": {"type": "base64", "media_type": "png", "base64": RED64}}])),)
    _, body = request(call_spec("adaline:openai:chat:gpt-4o"), gateway)
    assert body["messages"][0]["content"][1] == {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{RED64}", "detail": "auto"}}
    _, body = request(call_spec("adaline:anthropic:chat:claude-3-opus-20240229"), gateway)
    assert body["messages"][0]["content"][1] == {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": RED64}}
    outcome = call({"OPENAI_BASE_URL": f"{server}/v1", "OPENAI_API_KEY": KEY}, "adaline:openai:chat:gpt-4o", gateway)
    assert isinstance(outcome, Completion) and outcome.text.startswith("pong [seen: image_url: sha256 ")
    text_only = (("system", Parts([{"modality": "text", "value": "Be brief."}])), ("user", Parts([{"modality": "text", "value": "Hi"}])))
    _, body = request(call_spec("adaline:google:chat:gemini-1.5-pro"), text_only)
    assert body["contents"] == [{"role": "user", "parts": [{"text": "Hi"}]}] and body["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    by_url = (("user", Parts([{"modality": "image", "value": {"type": "url", "url": "https://example.com/a.jpg"}}])),)
    outcome = call({"ANTHROPIC_BASE_URL": server, "ANTHROPIC_API_KEY": KEY}, "adaline:anthropic:chat:claude-3-opus-20240229", by_url)
    assert isinstance(outcome, ProviderError) and "an image URL would be downloaded by the gateway" in str(outcome)


def call_spec(entry: str):
    suite, errors = load_suite(MemoryTree({"promptfooconfig.yaml": f"providers:\n  - {entry}\ntests:\n  - vars: {{prompt: hi}}\n"}),
                               "promptfooconfig.yaml")
    assert errors == []
    return suite.providers[0]


# ---- rubricPrompt with image parts ------------------------------------------------------------------


def test_a_rubric_prompt_with_image_parts_sends_the_image_to_the_grader():
    rubric = json.dumps([
        {"role": "system", "content": "Grade the description."},
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "{{picture}}"}},
                                     {"type": "text", "text": "Answer: {{ output }} Criteria: {{ rubric }}"}]},
    ])
    _, (loaded, errors) = load(
        "prompts: ['Describe {{picture}}']\nproviders: [openai:chat:gpt-4o-mini]\n"
        f"defaultTest:\n  options:\n    provider: openai:chat:gpt-4.1\n    rubricPrompt: '{rubric}'\n"
        "  assert:\n    - {type: llm-rubric, value: accurate}\n"
        "tests: [{vars: {picture: 'https://example.com/wave.jpg'}}]\n")
    assert errors == []
    (assertion,) = loaded.tests[0].asserts
    messages = rubric_messages(assertion.rubric_prompt, {"output": "A wave", "rubric": "accurate"})
    assert messages[0] == ("system", "Grade the description.")
    assert isinstance(messages[1][1], Parts) and messages[1][1].parts == [
        {"type": "image_url", "image_url": {"url": "https://example.com/wave.jpg"}},
        {"type": "text", "text": "Answer: A wave Criteria: accurate"}]
    _, body = request(loaded.tests[0].grader or call_spec("openai:chat:gpt-4.1"), messages)
    assert body["messages"][1]["content"][0] == {"type": "image_url", "image_url": {"url": "https://example.com/wave.jpg"}}


def test_a_one_line_transform_vars_block_is_a_function_body_as_in_promptfoo():
    """promptfoo's vision examples: `transformVars: |` then one `return …` line — the block's newline makes
    it a function body (promptfoo tests the code as written for a newline), not an expression."""
    tree, (loaded, errors) = load(
        "prompts: [file://vision.json]\nproviders: [openai:gpt-4o]\n"
        "tests:\n  - vars: {answer: x, url: 'https://example.com/a.jpg'}\n    options:\n      transformVars: |\n"
        "        return { ...vars, picture: vars.url + '#1' }\n",
        **{"vision.json": OPENAI_VISION})
    assert errors == []
    (case,) = expand(loaded, Renderer(tree), gate=CodeGate())[0].values()
    assert case.error is None and case.messages[1][1].parts[1] == {"type": "image_url", "image_url": {"url": "https://example.com/a.jpg#1"}}


def test_claude_on_bedrock_gets_anthropics_text_and_image_blocks_as_converse_blocks(server):
    """promptfoo sends Claude on Bedrock the Anthropic body with the parts as written; prompt-review calls
    Converse, so the same text and image travel as Converse's blocks; an image URL is a clear case error."""
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": RED64}}
    entry = "bedrock:us.anthropic.claude-3-5-sonnet-20241022-v2:0"
    _, body = request(call_spec(entry), ask(image))
    assert body["messages"] == [{"role": "user", "content": [{"text": 'Please reply with "pong"'},
                                                             {"image": {"format": "png", "source": {"bytes": RED64}}}]}]
    env = {"BEDROCK_BASE_URL": server, "AWS_REGION": "us-east-1", "AWS_BEARER_TOKEN_BEDROCK": KEY}
    outcome = call(env, entry, ask(image))
    assert isinstance(outcome, Completion) and outcome.text.startswith("pong [seen: image: sha256 ")
    by_url = {"type": "image", "source": {"type": "url", "url": "https://example.com/a.jpg"}}
    outcome = call(env, entry, ask(by_url))
    assert isinstance(outcome, ProviderError) and "of Anthropic's blocks, text and base64 images are carried over" in str(outcome)


def test_the_adaline_gateway_reads_an_openai_form_prompt_for_any_vendor(server):
    """promptfoo's Adaline provider turns an OpenAI-form prompt into the gateway's types, then the vendor's."""
    openai_form = ask({"type": "image_url", "image_url": {"url": f"data:image/png;base64,{RED64}", "detail": "low"}})
    _, body = request(call_spec("adaline:anthropic:chat:claude-3-opus-20240229"), openai_form)
    assert body["messages"][0]["content"] == [{"type": "text", "text": 'Please reply with "pong"'},
                                              {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": RED64}}]
    _, body = request(call_spec("adaline:openai:chat:gpt-4o"), openai_form)
    assert body["messages"][0]["content"] == openai_form[0][1].parts  # OpenAI's form to OpenAI: as written
    outcome = call({"GEMINI_BASE_URL": server, "GEMINI_API_KEY": KEY}, "adaline:google:chat:gemini-2.5-flash",
                   ask({"type": "image_url", "image_url": {"url": "https://example.com/a.jpg"}}))
    assert isinstance(outcome, ProviderError) and "an image URL would be downloaded by the gateway" in str(outcome)


def test_a_changed_image_var_file_is_reviewed_by_its_digest_and_never_formatting_only():
    from bot.core.config import RepoConfig
    from bot.core.result import ChangedFile
    from bot.pipeline.stages import ReviewInput, prompt_changes

    changed = ChangedFile("evals/red.png", "modified")
    inp = ReviewInput("o/r", 1, "a" * 40, "b" * 40, None, (changed,),
                      MemoryTree({"evals/red.png": RED}), MemoryTree({"evals/red.png": BLUE}))
    (change,), problems = prompt_changes([(changed, "var file of evals/promptfooconfig.yaml")], inp, RepoConfig())
    assert problems == [] and change.semdiff is not None and not change.semdiff.formatting_only
    digest = {side: hashlib.sha256(data).hexdigest()[:12] for side, data in (("red", RED), ("blue", BLUE))}
    shown = " ".join(f"{c.before} {c.after}" for c in change.semdiff.changes)
    assert f"sha256 {digest['red']}" in shown and f"sha256 {digest['blue']}" in shown and RED64[:20] not in change.unified_diff
