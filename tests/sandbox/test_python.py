"""python assertions in the child interpreter: promptfoo's semantics, and every escape attempt
ending in a typed refusal or error within its limit — in the strongest isolation this machine
offers and in the audit-hook-only fallback."""

from __future__ import annotations

import socket
import tempfile
import time

import pytest

from bot.evals.sandbox.py import Isolation, PyCode, available, isolation, run_python
from bot.evals.sandbox.result import CodeLimits, Fault, SandboxError

OUTPUT = "Refunds are possible within 30 days of delivery."
CONTEXT = {"vars": {"city": "Paris", "days": 30}}
TIGHT = CodeLimits(timeout_s=1.0, memory_mb=128, max_output_bytes=100_000)
MODES = available()  # every mode this machine has, so the fallbacks are attacked too


@pytest.fixture(params=MODES, ids=lambda m: m.value)
def mode(request):
    return request.param


def run(source: str, mode: Isolation, threshold=None, limits=TIGHT, **file):
    code = PyCode(source, **file) if file else PyCode.inline(source)
    return run_python(code, OUTPUT, CONTEXT, threshold=threshold, limits=limits, mode=mode)


def stopped(source: str, mode: Isolation, **file) -> SandboxError:
    started = time.monotonic()
    with pytest.raises(SandboxError) as caught:
        run(source, mode, **file)
    assert time.monotonic() - started < 10 * (TIGHT.timeout_s + 2)
    return caught.value


def test_the_strongest_isolation_is_used_where_the_platform_has_it():
    import os
    import shutil

    if os.geteuid() == 0 and shutil.which("unshare"):
        assert isolation() is Isolation.JAIL
    assert isolation() is available()[0] and available()[-1] is Isolation.HOOK


def test_expression_sees_output_and_context(mode):
    assert run("'30 days' in output and context['vars']['city'] == 'Paris'", mode).passed
    assert not run("'60 days' in output", mode).passed


def test_multiline_value_is_the_body_of_main_and_may_import_the_stdlib(mode):
    result = run("import re\nn = len(re.findall(r'\\d+', output))\nreturn {'pass': n == 1, 'score': 0.5, 'reason': f'{n} numbers'}", mode)  # noqa: E501
    assert (result.passed, result.score, result.reason) == (True, 0.5, "1 numbers")


def test_stdlib_modules_that_link_system_libraries_import_in_every_isolation(mode):
    # base64 needs binascii, which links libz; the jail holds no system libraries, so these load before it
    source = ("import base64, binascii, bz2, gzip, lzma, zlib\n"
              "data = base64.b64encode(zlib.compress(output.encode())).decode()\n"
              "back = zlib.decompress(base64.b64decode(data)).decode()\n"
              "return back == output and lzma.decompress(lzma.compress(b'x')) == b'x' and bz2.decompress(bz2.compress(b'y')) == b'y'")
    assert run(source, mode, limits=CodeLimits(timeout_s=10, memory_mb=256, max_output_bytes=100_000)).passed


def test_number_and_threshold_and_snake_case_grading_result(mode):
    assert run("len(output) / 1000", mode, threshold=0.04).passed
    assert not run("len(output) / 1000", mode, threshold=0.5).passed
    result = run("{'pass_': 1, 'pass': True, 'score': 0.2, 'reason': 'low', 'named_scores': {}}", mode, threshold=0.5)
    assert not result.passed and "less than threshold" in result.reason


def test_file_calls_get_assert_or_the_named_function(mode):
    source = "def get_assert(output, context):\n    return output.startswith('Refunds')\n\ndef other(output, context):\n    raise ValueError('no refunds')\n"  # noqa: E501
    assert run(source, mode, file="evals/check.py").passed
    failed = run(source, mode, file="evals/check.py", function="other")
    assert not failed.passed and "ValueError: no refunds (line 5)" in failed.reason


def test_file_without_the_function_is_refused_naming_it(mode):
    error = stopped("def helper():\n    pass\n", mode, file="evals/check.py")
    assert error.fault is Fault.UNSUPPORTED and "evals/check.py defines no function 'get_assert'" in error.message


def test_import_outside_the_standard_library_is_refused_clearly(mode):
    error = stopped("import numpy\nreturn True", mode)
    assert error.fault is Fault.UNSUPPORTED and "'numpy'" in error.message and "standard library" in error.message


def test_thrown_error_fails_the_assertion_with_its_line(mode):
    result = run("x = 1\nreturn json.loads(output)['ok']", mode)
    assert not result.passed and "JSONDecodeError" in result.reason and "(line 2)" in result.reason


def test_scratch_directory_is_writable_and_removed_afterwards(mode, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert run("open('notes.txt', 'w').write('hi')\nreturn open('notes.txt').read() == 'hi'", mode).passed
    assert list(tmp_path.iterdir()) == []


# ---- escape attempts ---------------------------------------------------------------------------


def test_attack_reading_environment_finds_no_secrets(mode, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-from-the-service")
    result = run("import os\nreturn {'pass': True, 'score': 1, 'reason': repr(dict(os.environ))}", mode)
    assert "sk-secret" not in result.reason and "OPENAI_API_KEY" not in result.reason


def test_attack_reading_etc_passwd_is_refused(mode):
    error = stopped("open('/etc/passwd').read()", mode)
    assert error.fault is Fault.REFUSED and "/etc/passwd" in error.message


def test_attack_reading_the_repository_is_refused(mode, tmp_path):
    secret = tmp_path / "private-key.pem"
    secret.write_text("-----BEGIN PRIVATE KEY-----")
    assert stopped(f"open({str(secret)!r}).read()", mode).fault is Fault.REFUSED
    assert stopped("import os\nreturn os.listdir('/')", mode).fault is Fault.REFUSED


def test_attack_symlink_out_of_scratch_is_refused(mode):
    assert stopped("import os\nos.symlink('/etc/passwd', 'p')\nreturn open('p').read()", mode).fault is Fault.REFUSED


def test_attack_socket_to_a_loopback_server_never_connects(mode):
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    try:
        for source in (
            f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1)\nreturn True",
            f"s = __import__('_socket').socket()\ns.connect(('127.0.0.1', {port}))\nreturn True",
        ):
            assert stopped(source, mode).fault is Fault.REFUSED
        try:  # in the jail, urllib's import chain already fails (zlib's shared library is not there)
            assert not run("import urllib.request\nurllib.request.urlopen('http://127.0.0.1:%d/')\nreturn True" % port, mode).passed
        except SandboxError as error:
            assert error.fault is Fault.REFUSED
        server.settimeout(0.5)
        with pytest.raises(TimeoutError):
            server.accept()
    finally:
        server.close()


def test_attack_fork_bomb_is_refused(mode):
    assert stopped("import os\nwhile True:\n    os.fork()", mode).fault is Fault.REFUSED


def test_attack_shell_and_subprocess_are_refused(mode):
    assert stopped("__import__('os').system('id')", mode).fault is Fault.REFUSED
    assert stopped("import subprocess\nreturn subprocess.run(['id']).returncode == 0", mode).fault is Fault.REFUSED


def test_attack_ctypes_is_refused(mode):
    assert stopped("import ctypes\nreturn ctypes.CDLL(None).system(b'id') == 0", mode).fault is Fault.REFUSED


def test_attack_infinite_loop_times_out(mode):
    assert stopped("while True:\n    pass", mode).fault is Fault.TIMEOUT


def test_attack_sleeping_past_the_deadline_times_out(mode):
    assert stopped("import time\ntime.sleep(60)\nreturn True", mode).fault is Fault.TIMEOUT


def test_attack_memory_bomb_is_stopped(mode):
    assert stopped("x = []\nwhile True:\n    x.append(' ' * 10**6)", mode).fault is Fault.MEMORY


def test_attack_deep_recursion_is_stopped(mode):
    assert stopped("def f(n):\n    return f(n + 1)\nreturn f(0)", mode).fault is Fault.MEMORY


def test_attack_recursion_past_the_interpreter_limit_ends_typed(mode):
    source = "import sys\nsys.setrecursionlimit(10**7)\ndef f(n):\n    return f(n + 1)\nreturn f(0)"
    # How it ends depends on the stack the platform gives the child: the C stack overflows (crashed),
    # the address-space cap is hit (memory), or the interpreter raises RecursionError itself — then the
    # code threw, and the assertion fails. Never a pass, never an untyped escape.
    started = time.monotonic()
    try:
        result = run(source, mode)
    except SandboxError as exc:
        assert exc.fault in (Fault.MEMORY, Fault.CRASHED, Fault.TIMEOUT)
    else:
        assert not result.passed and result.threw, result
    assert time.monotonic() - started < 10 * (TIGHT.timeout_s + 2)


def test_attack_huge_printed_output_is_stopped(mode):
    assert stopped("while True:\n    print('x' * 100000)", mode).fault is Fault.OUTPUT


def test_attack_huge_result_is_stopped(mode):
    assert stopped("'x' * 10**7", mode).fault is Fault.OUTPUT


def test_attack_filling_the_disk_is_stopped(mode):
    source = "with open('big', 'w') as f:\n    while True:\n        f.write('x' * 65536)"
    assert stopped(source, mode).fault is Fault.OUTPUT


def test_attack_many_files_are_refused(mode):
    source = "for i in range(1000):\n    open(f'f{i}', 'w').write('x')\nreturn True"
    assert stopped(source, mode).fault is Fault.REFUSED


def test_attack_catching_a_refusal_does_not_help(mode):
    source = "try:\n    open('/etc/shadow').read()\nexcept BaseException:\n    pass\nreturn True"
    assert stopped(source, mode).fault is Fault.REFUSED


def test_jail_mounts_never_reach_the_host(mode):
    run("open('f', 'w').write('x')\nreturn True", mode)
    with open("/proc/self/mountinfo", encoding="utf-8") as mounts:
        assert "prompt-review-code" not in mounts.read()


def test_concurrent_calls_each_get_their_own_sandbox(mode):
    import asyncio

    from bot.evals.sandbox.py import run_python as direct

    async def all_of_them():
        codes = [PyCode.inline(f"open('mine', 'w').write('{i}')\nreturn open('mine').read() == '{i}'") for i in range(12)]
        return await asyncio.gather(*(asyncio.to_thread(direct, c, OUTPUT, CONTEXT, None, TIGHT, mode) for c in codes))

    assert all(r.passed for r in asyncio.run(all_of_them()))
