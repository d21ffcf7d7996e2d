"""What the kernel alone enforces in the jail modes, with the audit hook switched off: the hook is a
second layer there, not the barrier."""

from __future__ import annotations

import os
import socket

import pytest

from bot.evals.sandbox.py import Isolation, PyCode, available, run_python
from bot.evals.sandbox.result import CodeLimits

JAILS = [m for m in available() if m is not Isolation.HOOK]


@pytest.fixture(params=JAILS, ids=lambda m: m.value)
def jail(request):
    return request.param


def probe(source: str, mode: Isolation) -> str:
    """The code's own report of what happened (its `reason`), with no audit hook in the way."""
    code = PyCode.inline(source + "\nreturn {'pass': True, 'score': 1, 'reason': repr(seen)}")
    return run_python(code, "", {}, limits=CodeLimits(timeout_s=3), mode=mode, audit_hook=False).reason


def test_this_machine_has_a_jail():
    assert JAILS, "no jail mode available: the kernel tests below would not run"


def test_kernel_no_network_even_to_loopback(jail):
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    try:
        seen = probe(
            "import socket\ntry:\n    socket.create_connection(('127.0.0.1', %d), timeout=1)\n    seen = 'connected'\n"
            "except OSError as e:\n    seen = type(e).__name__" % port,
            jail,
        )
        assert seen != "'connected'"
        server.settimeout(0.5)
        with pytest.raises(TimeoutError):
            server.accept()
    finally:
        server.close()


def test_kernel_sees_only_scratch_and_the_stdlib(jail, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cret")
    seen = probe(
        "import os\nseen = [sorted(os.listdir('/')), os.path.exists('/etc/passwd'), os.path.exists(%r)]" % str(secret),
        jail,
    )
    assert "s3cret" not in seen and "True" not in seen and "'scratch'" in seen and "etc" not in seen


def test_kernel_no_fork_no_chroot_escape_no_writes_to_the_stdlib(jail):
    # RLIMIT_NPROC does not bind the real root: a user namespace made by root maps its root to root,
    # so only the jail of root (which becomes nobody) and a non-root service's user jail stop forks.
    fork = "os.fork, " if jail is Isolation.JAIL or os.geteuid() != 0 else ""
    seen = probe(
        "import os, json\nseen = []\n"
        f"for attempt in ({fork}lambda: os.chroot('/scratch'), lambda: open(json.__file__, 'a')):\n"
        "    try:\n        attempt()\n        seen.append('allowed')\n"
        "    except OSError as e:\n        seen.append(type(e).__name__)",
        jail,
    )
    assert "allowed" not in seen
