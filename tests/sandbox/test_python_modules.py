"""A Python provider (or assertion) that imports the repository's own modules — a prompt builder beside it, the team's
app package found through the folder the provider puts on sys.path, a package with relative imports — runs with them:
each is read from the same side's tree when the suite loads (bot/evals/sandbox/py_modules.py), bounded, and handed to
the jailed child by name. What a module imports that is nowhere is an error at that module's line; a module a PR
changes is PR code to the gate and a reason to re-run, named."""

from __future__ import annotations

from bot.core.config import EvalsConfig
from bot.core.files import MemoryTree
from bot.evals.loader import load_suite
from tests.sandbox.test_code_providers import SUITE_PATH, WORD_TESTS, head_of, review, server, suite  # noqa: F401

PROVIDER = """\
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "cloud-brain"))

from app.agent.prompts.system import build_system_prompt  # noqa: E402
from prompts import SUFFIX  # noqa: E402


def call_api(prompt, options, context):
    return {"output": build_system_prompt(context["vars"]["word"]) + SUFFIX}
"""
FILES = {
    SUITE_PATH: suite("  - file://provider.py\n", WORD_TESTS),
    "evals/provider.py": PROVIDER,
    "evals/prompts.py": "SUFFIX = ''\n",
    # the team's app: namespace packages (no __init__.py), a module importing another of the app's by its full name
    "cloud-brain/app/agent/prompts/system.py": "from app.utils.sanitize import clean\n\n\ndef build_system_prompt(word):\n"
                                               "    return clean(word)\n",
    "cloud-brain/app/utils/sanitize.py": "import re\n\n\ndef clean(text):\n    return re.sub(r'[^a-z]', '', text)\n",
}


def test_a_provider_importing_its_projects_modules_loads_with_them_and_runs(server):
    loaded, errors = load_suite(MemoryTree(FILES), SUITE_PATH)
    assert errors == []
    (provider,) = loaded.providers
    assert [(m.name, m.path) for m in provider.code.modules] == [
        ("app", ""), ("app.agent", ""), ("app.agent.prompts", ""),
        ("app.agent.prompts.system", "cloud-brain/app/agent/prompts/system.py"), ("app.utils", ""),
        ("app.utils.sanitize", "cloud-brain/app/utils/sanitize.py"), ("prompts", "evals/prompts.py")]
    apple = head_of(review(server, FILES))
    assert (apple.error, apple.output, apple.passed) == (None, "apple", True)


def test_a_package_with_relative_imports():
    files = {SUITE_PATH: suite("  - file://provider.py\n", WORD_TESTS),
             "evals/provider.py": "from lib import answer\n\ndef call_api(prompt, options, context):\n    return answer(context)\n",
             "evals/lib/__init__.py": "from .core import answer\n",
             "evals/lib/core.py": "from . import words\n\ndef answer(context):\n    return words.pick(context['vars']['word'])\n",
             "evals/lib/words.py": "def pick(word):\n    return word\n"}
    loaded, errors = load_suite(MemoryTree(files), SUITE_PATH)
    assert errors == [] and [m.name for m in loaded.providers[0].code.modules] == ["lib", "lib.core", "lib.words"]


def test_an_import_found_nowhere_is_an_error_at_the_importing_modules_line():
    files = {**FILES, "cloud-brain/app/utils/sanitize.py": "import re\nimport pydantic\n\n\ndef clean(text):\n    return text\n"}
    _, errors = load_suite(MemoryTree(files), SUITE_PATH)
    (error,) = [e.message for e in errors]
    assert error.startswith("unsupported: provider 'file://provider.py': cloud-brain/app/utils/sanitize.py:2 imports 'pydantic', "
                            "which is not in Python's standard library nor the repository"), error
    # a module two folders hold is not guessed between
    twice = {**FILES, "other/app/agent/prompts/system.py": "x = 1\n", "cloud-brain/app/agent/__init__.py": ""}
    twice.pop("cloud-brain/app/agent/__init__.py")
    _, errors = load_suite(MemoryTree(twice), SUITE_PATH)
    assert any("imports 'app.agent.prompts.system'" in e.message for e in errors), [e.message for e in errors]


def test_a_helper_only_pr_reruns_the_cases_naming_the_module_and_a_forks_is_refused_by_name(server):
    head = {**FILES, "evals/prompts.py": "SUFFIX = '!'\n"}
    apple = review(server, head, base=FILES)["apple"]
    assert apple.status.value == "regressed" and "code helper evals/prompts.py changed (required by evals/provider.py)" in apple.reasons, apple
    fork = review(server, head, base=FILES, same_repo=False)["apple"]
    assert fork.status.value == "error"
    assert "refused: executes code from a fork's pull request (provider code, which requires evals/prompts.py" in fork.head.error, fork.head.error
    never = review(server, head, base=FILES, config=EvalsConfig(timeout_s=10, run_pr_code="never"))["apple"]
    assert "evals.run_pr_code: never" in never.head.error


def test_an_imported_module_is_a_dependency_of_its_suite():
    from bot.evals import find_dependencies
    from bot.evals.loaded import LoadedSuites

    tree = MemoryTree(FILES)
    deps = {(d.path, d.reason) for d in find_dependencies(tree, tree, [SUITE_PATH], LoadedSuites())}
    assert ("cloud-brain/app/utils/sanitize.py", f"code required by evals/provider.py of {SUITE_PATH}") in deps
    assert ("evals/prompts.py", f"code required by evals/provider.py of {SUITE_PATH}") in deps


def test_a_prompt_function_and_a_test_generator_import_their_modules_too():
    from bot.evals.generators import base_code
    from bot.evals.render import Renderer
    from bot.evals.select import CodeGate, expand

    files = {SUITE_PATH: "prompts: [file://prompt.py:make]\nproviders: [openai:chat:gpt-4o-mini]\ntests: file://gen.py:tests\n",
             "evals/prompt.py": "from templates import PREFIX\n\ndef make(context):\n    return PREFIX + context['vars']['word']\n",
             "evals/templates.py": "PREFIX = 'Say '\n",
             "evals/gen.py": "from data.words import WORDS\n\ndef tests():\n    return [{'vars': {'word': w}} for w in WORDS]\n",
             "evals/data/words.py": "WORDS = ['apple', 'pear']\n"}
    tree = MemoryTree(files)
    loaded, errors = load_suite(tree, SUITE_PATH, code=base_code())
    assert errors == [] and [t.vars["word"] for t in loaded.tests] == ["apple", "pear"]
    assert [m.path for m in loaded.prompts[0].code.modules] == ["evals/templates.py"]
    found, _ = expand(loaded, Renderer(tree), gate=CodeGate())
    assert sorted(c.messages for c in found.values()) == [(("user", "Say apple"),), (("user", "Say pear"),)]


def test_a_module_elsewhere_is_not_guessed_unless_the_code_puts_its_folder_on_sys_path():
    files = {SUITE_PATH: suite("  - file://provider.py\n", WORD_TESTS),
             "evals/provider.py": "from helpers import answer\n\ndef call_api(prompt, options, context):\n    return answer()\n",
             "tools/scripts/helpers.py": "def answer():\n    return 'x'\n"}
    _, errors = load_suite(MemoryTree(files), SUITE_PATH)
    assert any("evals/provider.py:1 imports 'helpers', which is not in Python's standard library nor the repository" in e.message
               for e in errors), [e.message for e in errors]
    files["evals/provider.py"] = "import sys\nsys.path.append('../tools/scripts')\n" + files["evals/provider.py"]
    loaded, errors = load_suite(MemoryTree(files), SUITE_PATH)
    assert errors == [] and [m.path for m in loaded.providers[0].code.modules] == ["tools/scripts/helpers.py"]


def test_a_projects_own_package_installed_in_place_is_found_in_its_src_layout_or_project_folder(server):
    # `pip install -e .` puts src/rss_email (or a project folder's package) on the team's sys.path
    provider = ("from rss_email.brief import answer\n\ndef call_api(prompt, options, context):\n"
                "    return {'output': answer(context['vars']['word'])}\n")
    for where in ("src", "services/brief"):
        files = {SUITE_PATH: suite("  - file://provider.py\n", WORD_TESTS), "evals/provider.py": provider,
                 f"{where}/rss_email/__init__.py": "", f"{where}/rss_email/brief.py": "from rss_email.words import pick as answer\n",
                 f"{where}/rss_email/words.py": "def pick(word):\n    return word\n"}
        if where != "src":
            files["services/brief/pyproject.toml"] = "[project]\nname = 'rss-email'\n"
        loaded, errors = load_suite(MemoryTree(files), SUITE_PATH)
        assert errors == [], [e.message for e in errors]
        assert [m.path for m in loaded.providers[0].code.modules] == [
            f"{where}/rss_email/__init__.py", f"{where}/rss_email/brief.py", f"{where}/rss_email/words.py"]
        apple = head_of(review(server, files))
        assert (apple.error, apple.output, apple.passed) == (None, "apple", True), apple


def test_a_package_in_a_folder_that_is_neither_src_nor_a_project_is_not_guessed():
    files = {SUITE_PATH: suite("  - file://provider.py\n", WORD_TESTS),
             "evals/provider.py": "from rss_email import x\n\ndef call_api(prompt, options, context):\n    return x\n",
             "vendor/copies/rss_email/__init__.py": "x = 1\n"}
    _, errors = load_suite(MemoryTree(files), SUITE_PATH)
    assert any("imports 'rss_email', which is not in Python's standard library nor the repository" in e.message for e in errors)
