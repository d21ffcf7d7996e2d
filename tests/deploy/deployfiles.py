"""Readers for the deploy files and the code they must agree with (used by the deploy tests)."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import yaml
from dockerfile_parse import DockerfileParser

import bot.cli
from bot.settings import Settings

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
KUBE = DEPLOY / "kubernetes"

# DESIGN.md "Names": model credentials are read by the eval providers, not by Settings.
MODEL_ENV = {"OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"}
# Interpreter settings an image may set; anything else must be a setting the service reads.
PYTHON_ENV = {"PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE"}


def service_env_names() -> set[str]:
    """Every variable the service's Settings read, plus the model credentials."""
    prefix = Settings.model_config["env_prefix"]
    return {prefix + name.upper() for name in Settings.model_fields} | MODEL_ENV


def run_cli(argv: list[str]) -> tuple[int, str]:
    """Run `prompt-review ARGV` in-process; (exit status, stdout)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        try:
            status = bot.cli.main(argv)
        except SystemExit as exc:
            status = exc.code
    return int(status or 0), out.getvalue()


def command_problems(command: list[str]) -> list[str]:
    """Why `command` would not start prompt-review (empty when it would)."""
    if not command or command[0] != "prompt-review":
        return [f"{command!r} does not run the prompt-review command"]
    if len(command) < 2:
        return [f"{command!r} names no verb"]
    verb, options = command[1], [a.split("=", 1)[0] for a in command[2:] if a.startswith("-")]
    status, help_text = run_cli([verb, "--help"])
    if status != 0:
        return [f"{verb!r} is not a prompt-review verb"]
    return [f"{verb} has no option {opt}" for opt in options if not re.search(rf"(?<![\w-]){re.escape(opt)}(?![\w-])", help_text)]


def option(command: list[str], name: str) -> str | None:
    for i, arg in enumerate(command):
        if arg == name and i + 1 < len(command):
            return command[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def probe_url(text: str) -> tuple[int, str]:
    """(port, path) of the loopback URL a healthcheck command fetches."""
    match = re.search(r"http://(?:127\.0\.0\.1|localhost):(\d+)(/[\w/-]*)", text)
    assert match, f"no loopback URL in healthcheck {text!r}"
    return int(match.group(1)), match.group(2)


def dockerfile() -> DockerfileParser:
    return DockerfileParser(path=str(DEPLOY / "Dockerfile"))


def final_stage(parser: DockerfileParser) -> list[dict]:
    """Instructions of the last build stage (what the image runs with)."""
    stage: list[dict] = []
    for item in parser.structure:
        if item["instruction"] == "FROM":
            stage = []
        stage.append(item)
    return stage


def instruction(stage: list[dict], name: str) -> str:
    values = [i["value"] for i in stage if i["instruction"] == name]
    assert len(values) == 1, f"expected one {name} in the final stage, found {len(values)}"
    return values[0]


def exec_form(value: str) -> list[str]:
    """A JSON-array CMD/HEALTHCHECK command (shell form would hide signals from prompt-review)."""
    import json

    parsed = json.loads(value)
    assert isinstance(parsed, list) and all(isinstance(a, str) for a in parsed)
    return parsed


def healthcheck_command(value: str) -> list[str]:
    """The command of `HEALTHCHECK [OPTIONS] CMD [...]`."""
    head, _, cmd = value.partition("CMD")
    assert cmd, f"HEALTHCHECK without CMD: {value!r}"
    assert all(word.startswith("--") for word in shlex.split(head))
    return exec_form(cmd.strip())


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def interpolate_defaults(value: str) -> str:
    """Compose `${VAR:-default}` → default: what a fresh `docker compose up` runs with."""
    return re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: m.group(2), value)


def kube_documents() -> list[dict]:
    docs = []
    for path in sorted(KUBE.glob("*.yaml")):
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return docs


def kube(kind: str, name: str | None = None) -> list[dict]:
    return [d for d in kube_documents() if d.get("kind") == kind and (name is None or d["metadata"]["name"] == name)]


def containers(deployment: dict) -> list[dict]:
    return deployment["spec"]["template"]["spec"]["containers"]
