"""deploy/: Dockerfile, compose.yaml and the Kubernetes manifests agree with the code they run.

No container runtime here, so each file is parsed and checked against the CLI, the settings
and the web app: command verbs and options, env names and values, ports, probe paths.
"""

from __future__ import annotations

import tomllib
from pathlib import PurePosixPath
from urllib.parse import urlsplit

import pytest
import yaml
from deployfiles import (
    DEPLOY,
    KUBE,
    PYTHON_ENV,
    REPO,
    command_problems,
    compose,
    containers,
    dockerfile,
    exec_form,
    final_stage,
    healthcheck_command,
    instruction,
    interpolate_defaults,
    kube,
    option,
    probe_url,
    run_cli,
    service_env_names,
)
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from bot.service.db import make_engine
from bot.service.metrics import Metrics
from bot.service.migrate import upgrade
from bot.service.web import create_web_app
from bot.settings import Settings, load_settings

PORT = 8000  # `prompt-review serve --port 8000`, the documented default


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    """The real web app on a migrated SQLite file, not configured with an App yet."""
    db = tmp_path_factory.mktemp("db") / "prompt-review.db"
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    settings = Settings(database_url=f"sqlite:///{db}", credentials_path=db.parent / "prompt-review.env")
    return TestClient(create_web_app(settings, engine, Metrics()))


def served(client: TestClient, path: str, method: str = "GET") -> bool:
    """The real app answers `method path` with something other than "no such route"."""
    return client.request(method, path).status_code not in (404, 405)


def assert_settings_accept(monkeypatch, env: dict[str, str]) -> None:
    for name in service_env_names():
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    load_settings(require_app=False)  # raises SettingsError naming a bad value


# -- the command-line checks themselves ----------------------------------------------------


def test_the_command_check_refuses_unknown_verbs_and_options():
    assert command_problems(["prompt-review", "serve", "--port", "8000"]) == []
    assert command_problems(["prompt-review", "launch"]) == ["'launch' is not a prompt-review verb"]
    assert command_problems(["prompt-review", "worker", "--port", "8000"]) == ["worker has no option --port"]
    assert command_problems(["python", "-m", "bot"]) != []


def test_the_prompt_review_command_is_the_packages_console_script():
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["prompt-review"] == "bot.cli:main"
    assert run_cli(["--help"])[0] == 0


# -- Dockerfile ----------------------------------------------------------------------------


def test_dockerfile_runs_prompt_review_serve_on_the_exposed_port():
    stage = final_stage(dockerfile())
    command = exec_form(instruction(stage, "CMD"))
    assert command == ["prompt-review", "serve", "--host", "0.0.0.0", "--port", str(PORT)]
    assert command_problems(command) == []
    assert instruction(stage, "EXPOSE").split() == [str(PORT)]


def test_dockerfile_healthcheck_fetches_healthz_on_the_served_port(web):
    port, path = probe_url(" ".join(healthcheck_command(instruction(final_stage(dockerfile()), "HEALTHCHECK"))))
    assert (port, path) == (PORT, "/healthz")
    assert served(web, path)
    assert web.get(path).status_code == 200


def test_image_is_python_311_slim_and_runs_as_a_non_root_user():
    parser = dockerfile()
    # node only fetches esbuild's native binary in a stage of its own; the image runs on python:3.11-slim
    assert set(parser.parent_images) == {"python:3.11-slim", "node:20-slim"} and parser.parent_images[-1] == "python:3.11-slim"
    user = instruction(final_stage(parser), "USER").split(":")[0]
    assert user not in {"root", "0"}


def test_image_installs_the_package_with_its_templates_and_ships_the_manifest():
    stage_items = dockerfile().structure
    runs = [i["value"].split() for i in stage_items if i["instruction"] == "RUN"]
    copies = [i["value"].split() for i in stage_items if i["instruction"] == "COPY"]
    assert any(words[:2] == ["pip", "install"] and words[-1] == "." for words in runs)
    sources = {src for words in copies for src in words[:-1] if not src.startswith("--")}
    # What hatchling needs to build the wheel (pyproject, readme, package, force-included templates).
    assert {"pyproject.toml", "README.md", "bot", "templates", "app.yml"} <= sources
    assert all((REPO / s).exists() for s in sources if not s.startswith("/"))


def test_image_environment_names_settings_the_service_reads_with_valid_values(monkeypatch):
    envs = dockerfile().envs
    assert set(envs) - PYTHON_ENV <= service_env_names(), set(envs) - PYTHON_ENV - service_env_names()
    assert_settings_accept(monkeypatch, {k: v for k, v in envs.items() if k not in PYTHON_ENV})


# -- compose.yaml --------------------------------------------------------------------------


def test_compose_runs_serve_and_publishes_its_port():
    service = compose()["services"]["prompt-review"]
    assert command_problems(service["command"]) == []
    assert service["command"][1] == "serve"
    published = [str(p).split(":") for p in service["ports"]]
    assert [p[-1] for p in published] == [option(service["command"], "--port")]
    assert option(service["command"], "--port") == str(PORT)


def test_compose_builds_the_deploy_dockerfile_from_the_repository_root():
    build = compose()["services"]["prompt-review"]["build"]
    context = (DEPLOY / build["context"]).resolve()
    assert context == REPO
    assert (context / build["dockerfile"]).resolve() == DEPLOY / "Dockerfile"


def test_compose_healthcheck_fetches_healthz_on_the_served_port(web):
    service = compose()["services"]["prompt-review"]
    port, path = probe_url(" ".join(service["healthcheck"]["test"]))
    assert port == int(option(service["command"], "--port"))
    assert path == "/healthz" and served(web, path)


def test_compose_environment_names_settings_the_service_reads_with_valid_values(monkeypatch):
    env = compose()["services"]["prompt-review"]["environment"]
    assert set(env) <= service_env_names(), set(env) - service_env_names()
    assert_settings_accept(monkeypatch, {k: interpolate_defaults(v) for k, v in env.items() if v is not None})


def test_compose_points_the_service_at_its_postgres_16_with_matching_credentials():
    doc = compose()
    postgres = doc["services"]["postgres"]
    assert postgres["image"] == "postgres:16"
    volume = postgres["volumes"][0].split(":")
    assert volume[0] in doc["volumes"] and volume[1] == "/var/lib/postgresql/data"
    url = make_url(interpolate_defaults(doc["services"]["prompt-review"]["environment"]["PROMPT_REVIEW_DATABASE_URL"]))
    assert url.drivername == "postgresql+psycopg"
    url.get_dialect()  # the psycopg driver is installed with the package
    pg_env = {k: interpolate_defaults(v) for k, v in postgres["environment"].items()}
    assert (url.host, url.port) == ("postgres", 5432)
    assert (url.username, url.password, url.database) == (pg_env["POSTGRES_USER"], pg_env["POSTGRES_PASSWORD"], pg_env["POSTGRES_DB"])
    assert doc["services"]["prompt-review"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])


def test_compose_keeps_setup_credentials_on_a_volume():
    doc = compose()
    service = doc["services"]["prompt-review"]
    mounts = dict(v.split(":")[:2] for v in service["volumes"])
    credentials = PurePosixPath(service["environment"]["PROMPT_REVIEW_CREDENTIALS_PATH"])
    assert any(credentials.is_relative_to(target) and source in doc["volumes"] for source, target in mounts.items())


# -- Kubernetes ----------------------------------------------------------------------------


def deployment(component: str) -> dict:
    [found] = [d for d in kube("Deployment") if d["spec"]["template"]["metadata"]["labels"].get("app.kubernetes.io/component") == component]
    return found


def test_kustomization_lists_every_manifest():
    listed = set(yaml.safe_load((KUBE / "kustomization.yaml").read_text())["resources"])
    assert listed == {p.name for p in KUBE.glob("*.yaml")} - {"kustomization.yaml"}


def test_web_and_worker_deployments_run_their_verbs():
    for component, verb in (("web", "web"), ("worker", "worker")):
        [container] = containers(deployment(component))
        command = container["command"] + container["args"]
        assert command_problems(command) == [], command
        assert command[1] == verb


def test_web_probes_use_readyz_and_healthz_on_the_served_port(web):
    [container] = containers(deployment("web"))
    port = int(option(container["command"] + container["args"], "--port"))
    named = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert list(named.values()) == [port]
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        get = container[probe]["httpGet"]
        assert get["path"] == path and served(web, path)
        assert named.get(get["port"], get["port"]) == port
    assert web.get("/readyz").status_code == 200  # migrated database: ready
    assert web.get("/healthz").status_code == 200


def test_service_reaches_the_web_pods_only_on_their_http_port():
    [service] = kube("Service")
    selector = service["spec"]["selector"]
    web_labels = deployment("web")["spec"]["template"]["metadata"]["labels"]
    worker_labels = deployment("worker")["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= web_labels.items()
    assert not selector.items() <= worker_labels.items()
    [container] = containers(deployment("web"))
    names = {p["name"] for p in container["ports"]} | {p["containerPort"] for p in container["ports"]}
    assert all(p["targetPort"] in names for p in service["spec"]["ports"])


def test_deployment_selectors_match_their_pod_labels():
    for d in kube("Deployment"):
        assert d["spec"]["selector"]["matchLabels"].items() <= d["spec"]["template"]["metadata"]["labels"].items()


def test_every_container_has_resource_requests_and_limits_and_runs_unprivileged():
    for d in kube("Deployment"):
        pod = d["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        for c in pod["containers"]:
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(c["resources"][kind]), (d["metadata"]["name"], kind)
            assert c["securityContext"]["allowPrivilegeEscalation"] is False


def test_env_comes_from_the_configmap_and_secret_that_exist_and_names_only_settings(monkeypatch):
    configmaps = {c["metadata"]["name"]: c for c in kube("ConfigMap")}
    secrets = {s["metadata"]["name"]: s for s in kube("Secret")}
    for d in kube("Deployment"):
        for c in containers(d):
            for source in c["envFrom"]:
                if "configMapRef" in source:
                    assert source["configMapRef"]["name"] in configmaps
                    data = configmaps[source["configMapRef"]["name"]]["data"]
                else:
                    assert source["secretRef"]["name"] in secrets
                    data = secrets[source["secretRef"]["name"]]["stringData"]
                assert set(data) <= service_env_names(), set(data) - service_env_names()
            assert all(e["name"] in service_env_names() for e in c.get("env", []))
    [configmap] = configmaps.values()
    assert_settings_accept(monkeypatch, configmap["data"])


def test_secret_template_names_postgres_and_has_only_placeholders():
    secret = kube("Secret", "prompt-review")[0]["stringData"]
    assert make_url(secret["PROMPT_REVIEW_DATABASE_URL"]).drivername == "postgresql+psycopg"
    assert all("REPLACE_ME" in v for v in secret.values())
    assert all("REPLACE_ME" in v for v in kube("Secret", "prompt-review-private-key")[0]["stringData"].values())


def test_private_key_path_points_into_the_mounted_key_secret():
    key_path = PurePosixPath(kube("ConfigMap")[0]["data"]["PROMPT_REVIEW_PRIVATE_KEY_PATH"])
    key_secret = kube("Secret", "prompt-review-private-key")[0]
    for d in kube("Deployment"):
        pod = d["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in pod["volumes"]}
        for c in pod["containers"]:
            mounts = [m for m in c["volumeMounts"] if key_path.parent == PurePosixPath(m["mountPath"])]
            assert len(mounts) == 1, d["metadata"]["name"]
            secret = volumes[mounts[0]["name"]]["secret"]
            assert secret["secretName"] == key_secret["metadata"]["name"]
            assert key_path.name in key_secret["stringData"]


def test_configmap_public_url_is_https_and_its_webhook_path_is_served(web):
    public = kube("ConfigMap")[0]["data"]["PROMPT_REVIEW_PUBLIC_URL"]
    assert urlsplit(public).scheme == "https"
    assert served(web, "/webhook", "POST")


def test_deployments_use_the_image_the_dockerfile_builds():
    images = {c["image"] for d in kube("Deployment") for c in containers(d)}
    assert images == {compose()["services"]["prompt-review"]["image"]}


def test_the_real_web_app_offers_setup_until_an_app_is_configured(web):
    page = web.get("/setup")
    assert page.status_code == 200
    assert 'name="manifest"' in page.text and "/settings/apps/new?state=" in page.text
