"""Every route the simulator serves is checked against GitHub's pinned OpenAPI description by a
contract test, or listed here with the reason it is not part of that description. A new route
without either fails, so the simulator cannot grow a GitHub endpoint nobody compares with GitHub."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from fastapi.routing import APIRoute

from bot.simulator import Simulator
from bot.simulator.app import route_groups

from conftest import SPEC_PATH

TESTS = Path(__file__).resolve().parent

# route path (as the simulator declares it) → why no contract test validates it against the description
NOT_IN_THE_DESCRIPTION: dict[tuple[str, str], str] = {
    ("POST", "/_sim/faults"): "the tests' fault injection, not GitHub's",
    ("DELETE", "/_sim/faults"): "the tests' fault injection, not GitHub's",
    ("GET", "/_sim/calls"): "the tests' call log, not GitHub's",
    ("GET", "/{owner}/{repo}/pull/{number}"): "github.com's HTML page for a pull request, not the REST API",
    ("GET", "/{owner}/{repo}/runs/{check_run_id}"): "github.com's HTML page for a check run, not the REST API",
    ("GET", "/login/oauth/authorize"): "github.com's OAuth sign-in page (HTML and a redirect), outside the REST "
                                       "description; test_oauth_contract.py drives it",
    ("POST", "/login/oauth/access_token"): "github.com's OAuth code exchange, outside the REST description; "
                                           "test_oauth_contract.py checks its answers and errors",
}


def _template_key(path: str) -> str:
    """A path with its parameters unnamed: the simulator's `{number}` is the description's `{pull_number}`."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def served_routes() -> list[tuple[str, str]]:
    """(METHOD, path) of every route of every group the simulator's app includes."""
    sim = Simulator(public_key_pem=b"unused: no JWT is checked here")
    groups = route_groups(sim.state, sim.webhooks, sim.fault_injection)
    sim.close()
    return sorted({(method, route.path) for router in groups for route in router.routes
                   if isinstance(route, APIRoute) for method in route.methods})


def _strings(tree: ast.Module) -> dict[str, str]:
    """Module-level string constants (a test may name a template once and reuse it)."""
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            out.update({t.id: node.value.value for t in node.targets if isinstance(t, ast.Name)})
    return out


def _value(node: ast.expr, names: dict[str, str]) -> str | int | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int)):
        return node.value
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _value(node.left, names), _value(node.right, names)
        return left + right if isinstance(left, str) and isinstance(right, str) else None
    return None


def validated_operations() -> set[tuple[str, str]]:
    """(METHOD, template) of every `conforms(spec, response, method, template, 2xx)` in the simulator tests."""
    out = set()
    for path in sorted(TESTS.glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = _strings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "conforms" \
                    and len(node.args) == 5:
                method, template, status = (_value(a, names) for a in node.args[2:])
                if isinstance(method, str) and isinstance(template, str) and isinstance(status, int) \
                        and 200 <= status < 300:
                    out.add((method.upper(), template))
    return out


def test_every_route_is_validated_against_the_description_or_excused():
    spec = json.loads(SPEC_PATH.read_text())["paths"]
    described = {(m.upper(), _template_key(t)): t for t, ops in spec.items() for m in ops}
    validated = validated_operations()
    unchecked, excused_but_described = [], []
    for method, path in served_routes():
        template = described.get((method, _template_key(path)))
        if (method, path) in NOT_IN_THE_DESCRIPTION:
            if template is not None:
                excused_but_described.append(f"{method} {path} is GitHub's {template}: validate it instead")
        elif template is None:
            unchecked.append(f"{method} {path}: not in GitHub's description (add the reason to NOT_IN_THE_DESCRIPTION)")
        elif (method, template) not in validated:
            unchecked.append(f"{method} {path}: no contract test validates a 2xx answer of {method} {template}")
    assert unchecked == [] and excused_but_described == [], "\n".join(unchecked + excused_but_described)


def test_every_excuse_names_a_route_the_simulator_serves():
    assert set(NOT_IN_THE_DESCRIPTION) - set(served_routes()) == set()


def test_the_coverage_check_sees_the_contract_tests():
    """Guards the guard: the reader finds calls written with literals and with a named template."""
    found = validated_operations()
    assert ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}") in found
    assert ("POST", "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses") in found  # via STATUSES
    assert all(method in {"GET", "POST", "PATCH", "PUT", "DELETE"} for method, _ in found)
