"""PyYAML in the Python sandbox (bot.evals.sandbox.py.LIBRARIES): suite code that loads its fixtures with
`yaml.safe_load` runs as it does on the team's machine — assertions (in a file or inline), test generators reading the
repository — in every isolation this machine has; the library is prompt-review's own pure-Python copy, and what it can
construct stays inside the sandbox."""

from __future__ import annotations

import asyncio

import pytest

from bot.checkconfig import check_tree
from bot.core.config import EvalsConfig
from bot.core.files import MemoryTree
from bot.evals import EvalRequest, NoCache, run_evals
from bot.evals.generators import base_code
from bot.evals.loader import load_suite
from bot.evals.sandbox.py import Isolation, PyCode, available, library_modules, run_python
from bot.evals.sandbox.py_modules import link_python
from bot.evals.sandbox.result import CodeLimits, Fault, SandboxError

LIMITS = CodeLimits(timeout_s=5.0, memory_mb=256, max_output_bytes=100_000)
CHECK = """\
import yaml


def get_assert(output, context):
    expected = yaml.safe_load(context['vars']['expected'])
    missing = [w for w in expected['words'] if w not in output]
    return {'pass': not missing, 'score': 1.0 if not missing else 0.0, 'reason': yaml.safe_dump({'missing': missing}).strip()}
"""


@pytest.fixture(params=available(), ids=lambda m: m.value)
def mode(request):
    return request.param


def linked(source: str, file: str | None = "evals/check.py") -> PyCode:
    tree = MemoryTree({file: source} if file else {})
    return link_python(PyCode(source, file=file, function="get_assert" if file else None), tree, 1_000_000)


def test_a_file_importing_yaml_is_handed_the_library_and_no_import_is_left_unresolved():
    code = linked(CHECK)
    assert code.libraries == ("yaml",) and code.unresolved == () and code.modules == ()
    names = [name for name, _, _ in library_modules("yaml")]
    assert "yaml" in names and "yaml.reader" in names and all(not n.startswith("yaml._yaml") for n in names)


@pytest.mark.parametrize("words, passed", [("[Paris, days]", True), ("[Paris, weeks]", False)])
def test_an_assertion_file_reads_its_expected_answer_with_yaml_safe_load(mode, words, passed):
    result = run_python(linked(CHECK), "Paris in 30 days", {"vars": {"expected": f"words: {words}"}}, limits=LIMITS, mode=mode)
    assert result.passed is passed and result.reason == ("missing: []" if passed else "missing:\n- weeks"), result.reason


def test_an_inline_assertion_may_import_yaml_too(mode):
    code = linked("import yaml\nreturn yaml.safe_load('a: [1, 2]')['a'] == [1, 2] and not yaml.__with_libyaml__", file=None)
    assert code.libraries == ("yaml",)
    assert run_python(code, "x", {"vars": {}}, limits=LIMITS, mode=mode).passed


def test_attack_yaml_that_constructs_a_shell_call_is_refused_inside_the_sandbox(mode):
    source = "import yaml\nreturn yaml.unsafe_load('!!python/object/apply:os.system [\"id\"]') == 0"
    with pytest.raises(SandboxError) as caught:
        run_python(linked(source, file=None), "x", {"vars": {}}, limits=LIMITS, mode=mode)
    assert caught.value.fault is Fault.REFUSED and "os.system" in caught.value.message, caught.value.message


def test_another_package_is_still_refused_naming_what_the_sandbox_has():
    with pytest.raises(SandboxError) as caught:
        run_python(linked("import numpy\nreturn True", file=None), "x", {"vars": {}}, limits=LIMITS, mode=Isolation.HOOK)
    assert "'numpy'" in caught.value.message and "PyYAML (yaml)" in caught.value.message


GEN = """\
import yaml


def generate_tests(config=None):
    with open('cases.yaml') as f:
        return [{'vars': {'q': case['q']}, 'assert': [{'type': 'contains', 'value': case['want']}]} for case in yaml.safe_load(f)]
"""
SUITE = "prompts: ['say {{q}}']\nproviders: [echo]\ntests: file://gen.py:generate_tests\n"


def test_a_python_generator_loads_its_cases_from_a_yaml_file_of_the_repository():
    tree = MemoryTree({"evals/promptfooconfig.yaml": SUITE, "evals/gen.py": GEN,
                       "evals/cases.yaml": "- {q: apples, want: apples}\n- {q: pears, want: plums}\n"})
    suite, errors = load_suite(tree, "evals/promptfooconfig.yaml", code=base_code())
    assert errors == [], [str(e) for e in errors]
    assert [t.vars["q"] for t in suite.tests] == ["apples", "pears"]
    assert check_tree(tree)[0] == []  # prompt-review check-config
    report = asyncio.run(run_evals(EvalRequest(base=MemoryTree({}), head=tree, config=EvalsConfig(),
                                               suites=["evals/promptfooconfig.yaml"], env={}), NoCache()))
    assert sorted((c.head.output, c.head.passed) for c in report.cases()) == [("say apples", True), ("say pears", False)]


def test_the_repositorys_own_yaml_module_comes_before_the_sandboxs_copy(mode):
    # Python finds a module beside the script before site-packages: a repository's yaml.py is that module
    tree = MemoryTree({"evals/check.py": "import yaml\n\ndef get_assert(output, context):\n    return yaml.safe_load(output)\n",
                       "evals/yaml.py": "def safe_load(text):\n    return text == 'ours'\n"})
    code = link_python(PyCode(tree.read("evals/check.py").decode(), file="evals/check.py", function="get_assert"), tree, 1_000_000)
    assert code.libraries == () and [m.path for m in code.modules] == ["evals/yaml.py"]
    assert run_python(code, "ours", {"vars": {}}, limits=LIMITS, mode=mode).passed
