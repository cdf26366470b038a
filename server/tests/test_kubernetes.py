"""deploy/kubernetes, validated offline as CI does: yamllint, kubernetes-validate --strict against
the Kubernetes API's schemas (core resources; KEDA's ScaledObject has none there and is checked
against what it must agree with below), checkov with every skip justified; and the manifests
agreeing with the code: every variable the production settings read is set, and nothing is set
that nothing reads; the queue KEDA watches is Celery's; the Ingress has the nginx config's
limits; the database is reached through PgBouncer only. The tools come from deploy/requirements.lock
(`make deploy-tools`, a dependency of `make test`)."""

import ast
import json
import re
import secrets
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from tests.test_settings import run_manage

REPO = Path(__file__).resolve().parents[2]
MANIFESTS = REPO / "deploy" / "kubernetes"
TOOLS = REPO / ".venv-deploy" / "bin"
KUBERNETES_VERSION = "1.31.0"  # the oldest Kubernetes the manifests are for (sleep preStop hooks: 1.30)
# Read by processes other than the settings, and set by the manifests on purpose.
READ_ELSEWHERE = {
    "FORWARDED_ALLOW_IPS": "gunicorn (the addresses X-Forwarded-Proto is taken from)",
    "AWS_ACCESS_KEY_ID": "boto3 (the invoices' bucket)",
    "AWS_SECRET_ACCESS_KEY": "boto3 (the invoices' bucket)",
}


def tool(name: str) -> str:
    path = TOOLS / name
    assert path.exists(), f"{path} is missing: run `make deploy-tools`"
    return str(path)


def documents(name: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all((MANIFESTS / name).read_text()) if doc]


def every_resource() -> list[dict]:
    return [doc for name in kustomization()["resources"] for doc in documents(name)]


def kustomization() -> dict:
    return yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())


def resource(kind: str, name: str) -> dict:
    [found] = [doc for doc in every_resource() if doc["kind"] == kind and doc["metadata"]["name"] == name]
    return found


def pod_spec(workload: dict) -> dict:
    return workload["spec"]["template"]["spec"]


def settings_variables() -> set[str]:
    """Every variable the production settings read through django-environ: `env("X", ...)`,
    `env.int("X", ...)` and the like, wherever they are in the source (a branch too)."""
    found = set()
    for module in ("base.py", "production.py"):
        tree = ast.parse((REPO / "server" / "config" / "settings" / module).read_text())
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            is_env = (isinstance(func, ast.Name) and func.id == "env") or (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and func.value.id == "env"
            )
            first = node.args[0]
            if is_env and isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.add(first.value)
    return found


def script_variables() -> set[str]:
    """The variables server/bin's scripts read (`${WEB_WORKERS:-2}`)."""
    text = "".join(path.read_text() for path in (REPO / "server" / "bin").iterdir())
    return set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", text))


def image_environment() -> dict[str, str]:
    """The ENV of the app image's final stage (docker/Dockerfile)."""
    final = (REPO / "docker" / "Dockerfile").read_text().rsplit("\nFROM ", 1)[1]
    block = re.search(r"^ENV (.*?)(?<!\\)\n", final, re.MULTILINE | re.DOTALL)[1]
    return dict(re.findall(r"([A-Z_]+)=(\S+)", block))


def app_workloads() -> list[dict]:
    return [
        doc
        for doc in every_resource()
        if doc["kind"] in ("Deployment", "Job")
        and pod_spec(doc)["containers"][0]["image"].split(":")[0] == "shop"
    ]


def manifest_environment() -> dict[str, str]:
    """What the app's containers get: the ConfigMap, the secret (its keys that are variable
    names, through envFrom) and each container's own `env`."""
    config = resource("ConfigMap", "shop-config")["data"]
    [secret] = documents("secret.example.yaml")
    environment = dict(config)
    environment.update(
        {key: value for key, value in secret["stringData"].items() if re.fullmatch(r"[A-Z][A-Z0-9_]*", key)}
    )
    for workload in app_workloads():
        for container in pod_spec(workload)["containers"]:
            environment.update(
                {item["name"]: item.get("value", "<secret>") for item in container.get("env", [])}
            )
    return environment


def test_yamllint_finds_nothing():
    result = subprocess.run(
        [tool("yamllint"), "--strict", "-c", str(REPO / "deploy" / "yamllint.yaml"), str(MANIFESTS)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def kubernetes_validate(*paths: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [tool("kubernetes-validate"), "--strict", "-k", KUBERNETES_VERSION, *map(str, paths)],
        capture_output=True,
        text=True,
    )


def test_every_core_resource_is_valid_against_the_kubernetes_api_schemas():
    files = sorted(MANIFESTS.glob("*.yaml"))
    result = kubernetes_validate(*files)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    passed = re.findall(r"passed for resource (\S+)", output)
    core = [
        doc
        for name in files
        for doc in documents(name.name)
        if not doc["apiVersion"].startswith(("keda.sh/", "kustomize.config.k8s.io/"))
    ]
    assert len(passed) == len(core) >= 20
    # the only kinds without a schema there: KEDA's and kustomize's own
    missing = re.findall(r"Couldn't find schema for kind (\w+)", output)
    assert sorted(missing) == ["Kustomization", "ScaledObject"], output


def test_the_validator_refuses_a_field_kubernetes_does_not_have(tmp_path):
    """--strict is what catches a misspelt key (Kubernetes would drop it without a word)."""
    broken = (MANIFESTS / "web.yaml").read_text().replace("readinessProbe:", "readynessProbe:", 1)
    (tmp_path / "web.yaml").write_text(broken)
    result = kubernetes_validate(tmp_path / "web.yaml")
    assert result.returncode != 0
    assert "readynessProbe" in result.stdout + result.stderr


def checkov(directory: Path, home: Path) -> dict:
    """checkov's JSON report on `directory`, asking nothing of the network: no Prisma Cloud
    download, no update check (its caches go to `home`, never into the repository)."""
    result = subprocess.run(
        [tool("checkov"), "-d", str(directory), "--framework", "kubernetes", "--skip-download", "-o", "json"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(home), "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true"},
    )
    assert result.stdout, result.stderr
    report = json.loads(result.stdout)
    return report[0] if isinstance(report, list) else report


def test_checkov_finds_nothing_and_every_skip_says_why(tmp_path):
    report = checkov(MANIFESTS, tmp_path)
    failed = [(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]]
    assert failed == []
    assert report["summary"]["passed"] > 400
    skipped = report["results"]["skipped_checks"]
    # the image digest (set at release) and secrets as variables (how Django is configured)
    assert {c["check_id"] for c in skipped} == {"CKV_K8S_43", "CKV_K8S_35"}
    assert all(len(c["check_result"]["suppress_comment"]) > 20 for c in skipped)


def test_checkov_catches_a_container_that_may_escalate(tmp_path):
    (tmp_path / "manifests").mkdir()
    for name in kustomization()["resources"]:
        shutil.copy(MANIFESTS / name, tmp_path / "manifests" / name)
    web = (tmp_path / "manifests" / "web.yaml").read_text()
    (tmp_path / "manifests" / "web.yaml").write_text(
        web.replace("allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true")
    )
    report = checkov(tmp_path / "manifests", tmp_path)
    failed = {(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]}
    assert ("CKV_K8S_20", "Deployment.shop.web") in failed


def test_the_settings_and_the_manifests_agree_on_every_variable():
    """A variable the settings read and the manifests do not set runs a cluster on a default
    nobody chose; one the manifests set and nothing reads is a setting that does nothing."""
    read = settings_variables()
    set_here = set(manifest_environment())
    image = set(image_environment())
    assert sorted(read - set_here - image) == [], "read by the settings, set by no manifest"
    unread = set_here - read - script_variables() - set(READ_ELSEWHERE)
    assert sorted(unread) == [], "set by the manifests, read by nothing"


def test_the_manifests_environment_passes_the_deployment_checklist():
    """The ConfigMap's values as production parses them (numbers, lists, URLs), with the
    secret's keys and a real secret key: `check --deploy` is clean."""
    environment = {**image_environment(), **manifest_environment()}
    environment.update(
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50), DATABASE_URL="postgres://shop@127.0.0.1:1/shop"
    )
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    environment = {key: value for key, value in environment.items() if value != "<secret>"}
    environment["OPENAPI_SPEC_PATH"] = str(REPO / "openapi.yaml")  # /app/openapi.yaml in the image
    environment.pop("DJANGO_STATIC_ROOT")
    environment.pop("DJANGO_MEDIA_ROOT")
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **environment)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_keda_watches_the_queue_celery_uses():
    config = resource("ConfigMap", "shop-config")["data"]
    scaled = resource("ScaledObject", "worker")
    [trigger] = scaled["spec"]["triggers"]
    broker = urlsplit(config["CELERY_BROKER_URL"])
    assert trigger["type"] == "redis"
    assert trigger["metadata"]["address"] == f"{broker.hostname}:{broker.port}"
    assert trigger["metadata"]["databaseIndex"] == broker.path.strip("/")
    assert trigger["metadata"]["listName"] == config["CELERY_TASK_DEFAULT_QUEUE"]
    assert scaled["spec"]["scaleTargetRef"]["name"] == resource("Deployment", "worker")["metadata"]["name"]


def test_web_scales_on_cpu_worker_on_the_queue_and_beat_never():
    hpa = resource("HorizontalPodAutoscaler", "web")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "web"
    assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]
    assert resource("PodDisruptionBudget", "web")["spec"]["minAvailable"] == 1
    beat = resource("Deployment", "beat")
    assert beat["spec"]["replicas"] == 1 and beat["spec"]["strategy"]["type"] == "Recreate"
    scaled_targets = {
        doc["spec"]["scaleTargetRef"]["name"]
        for doc in every_resource()
        if "scaleTargetRef" in doc.get("spec", {})
    }
    assert scaled_targets == {"web", "worker"}
    web = pod_spec(resource("Deployment", "web"))["containers"][0]
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"


def test_the_worker_weighs_twice_the_web_on_a_shared_node_and_host():
    """CPU requests are the containers' weights on a contended node, as `cpu_shares` is under
    compose: the worker's twice the web's, so it finishes orders at the pace the web accepts them."""

    def millicores(value: str) -> int:
        return int(value[:-1]) if value.endswith("m") else int(float(value) * 1000)

    def request(name: str) -> int:
        [container] = pod_spec(resource("Deployment", name))["containers"]
        return millicores(container["resources"]["requests"]["cpu"])

    assert request("worker") == 2 * request("web")
    compose = yaml.safe_load((REPO / "docker" / "compose.yaml").read_text())["services"]
    assert compose["worker"]["cpu_shares"] == 2 * compose["web"].get("cpu_shares", 1024)


def test_every_app_container_is_the_tested_command_non_root_on_a_read_only_filesystem():
    commands = {}
    for workload in app_workloads():
        [container] = pod_spec(workload)["containers"]
        assert "command" not in container  # the image's entrypoint (it waits for the database) runs first
        commands[workload["metadata"]["name"]] = container["args"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert pod_spec(workload)["securityContext"]["runAsNonRoot"] is True
        assert {"mountPath": "/tmp", "name": "tmp"} in container["volumeMounts"]
    assert commands == {
        "migrate": ["server/bin/prepare"],
        "web": ["server/bin/web"],
        "worker": ["server/bin/worker"],
        "beat": ["server/bin/beat"],
    }
    compose = yaml.safe_load((REPO / "docker" / "compose.yaml").read_text())["services"]
    assert {name: compose[name]["command"] for name in commands} == commands


def egress_ports(policy: dict) -> set[int]:
    return {port["port"] for rule in policy["spec"].get("egress", []) for port in rule.get("ports", [])}


def test_only_pgbouncer_and_the_migrations_reach_postgresql():
    policies = [doc for doc in every_resource() if doc["kind"] == "NetworkPolicy"]
    assert resource("NetworkPolicy", "default-deny")["spec"] == {
        "podSelector": {},
        "policyTypes": ["Ingress", "Egress"],
    }
    to_postgres = sorted(p["metadata"]["name"] for p in policies if 5432 in egress_ports(p))
    assert to_postgres == ["migrate", "pgbouncer"]
    for name in ("web", "worker-and-beat"):
        assert 6432 in egress_ports(resource("NetworkPolicy", name))
    [rule] = resource("NetworkPolicy", "pgbouncer")["spec"]["ingress"]
    [selector] = rule["from"]
    [_, components] = selector["podSelector"]["matchExpressions"]
    assert components["values"] == ["web", "worker", "beat"]
    # every pod is selected by a policy of its own besides the default
    components = {
        w["metadata"]["labels"]["app.kubernetes.io/component"]
        for w in every_resource()
        if w["kind"] in ("Deployment", "Job")
    }
    selected = set()
    for policy in policies:
        selector = policy["spec"]["podSelector"]
        selected |= {selector.get("matchLabels", {}).get("app.kubernetes.io/component")}
        for expression in selector.get("matchExpressions", []):
            if expression["key"] == "app.kubernetes.io/component":
                selected |= set(expression["values"])
    assert components <= selected


def test_the_ingress_has_the_proxys_limits():
    template = (REPO / "docker" / "nginx" / "shop.conf.template").read_text()
    compose = yaml.safe_load((REPO / "docker" / "compose.yaml").read_text())["services"]
    annotations = resource("Ingress", "shop")["metadata"]["annotations"]

    def nginx(directive: str) -> str:
        return re.search(rf"^\s*{directive} ([^;]+);", template, re.MULTILINE)[1]

    prefix = "nginx.ingress.kubernetes.io/"
    assert annotations[prefix + "proxy-body-size"] == nginx("client_max_body_size")
    assert annotations[prefix + "client-body-buffer-size"] == nginx("client_body_buffer_size")
    assert annotations[prefix + "proxy-request-buffering"] == nginx("proxy_request_buffering")
    assert annotations[prefix + "proxy-buffering"] == nginx("proxy_buffering")
    assert annotations[prefix + "proxy-connect-timeout"] + "s" == nginx("proxy_connect_timeout")
    assert annotations[prefix + "proxy-send-timeout"] + "s" == nginx("proxy_send_timeout")
    read_timeout = compose["proxy"]["environment"]["NGINX_PROXY_READ_TIMEOUT"]
    assert annotations[prefix + "proxy-read-timeout"] + "s" == read_timeout
    assert annotations[prefix + "proxy-next-upstream"] == nginx("proxy_next_upstream")
    assert annotations[prefix + "proxy-next-upstream-tries"] == nginx("proxy_next_upstream_tries")


def test_pgbouncers_bounds_are_the_webs_and_every_secret_key_used_exists():
    ini = (REPO / "docker" / "pgbouncer" / "pgbouncer.ini").read_text()
    config = resource("ConfigMap", "shop-config")["data"]
    assert f"SET lock_timeout = {config['DATABASE_LOCK_TIMEOUT']};" in ini
    assert f"SET statement_timeout = {config['DATABASE_STATEMENT_TIMEOUT']}'" in ini
    [secret] = documents("secret.example.yaml")
    used = set()
    for doc in every_resource():
        text = json.dumps(doc)
        used |= set(re.findall(r'"secretKeyRef": \{"name": "shop-secrets", "key": "([^"]+)"\}', text))
        for volume in pod_spec(doc).get("volumes", []) if doc["kind"] == "Deployment" else []:
            used |= {item["key"] for item in volume.get("secret", {}).get("items", [])}
    assert used == {"web-database-url", "direct-database-url", "userlist.txt"}
    assert used <= set(secret["stringData"])


def test_the_kustomization_applies_every_manifest_but_the_example_secret():
    files = {path.name for path in MANIFESTS.glob("*.yaml")} - {"kustomization.yaml", "secret.example.yaml"}
    assert sorted(kustomization()["resources"]) == sorted(files)
    images = {
        container["image"].split(":")[0]
        for doc in app_workloads()
        for container in pod_spec(doc)["containers"]
    }
    images.add(pod_spec(resource("Deployment", "pgbouncer"))["containers"][0]["image"].split(":")[0])
    assert {image["name"] for image in kustomization()["images"]} == images
    assert all(
        doc["metadata"].get("namespace") == "shop" for doc in every_resource() if doc["kind"] != "Namespace"
    )


@pytest.mark.parametrize("name", ["web.yaml", "worker.yaml", "beat.yaml", "migrate.yaml", "pgbouncer.yaml"])
def test_every_workload_states_its_resources(name):
    for doc in documents(name):
        if doc["kind"] in ("Deployment", "Job"):
            for container in pod_spec(doc)["containers"]:
                assert set(container["resources"]["requests"]) == {"cpu", "memory"}
                assert set(container["resources"]["limits"]) == {"cpu", "memory"}
