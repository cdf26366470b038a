"""The contract as a product, checked with the real tools: Spectral's lint (the recommended rules
and ours), Optic's breaking-change gate, the Prism mock driven by the TypeScript client, and every
example in openapi.yaml valid for its schema."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from contract_tests import contract_gate
from contract_tests.node_tools import NODE_BIN, REPO, node_test, node_tool
from contract_tests.stack import free_port

SPEC = REPO / "openapi.yaml"
RULESET = REPO / "contract_tests" / "spectral" / "ruleset.yaml"


def load_spec() -> dict:
    return yaml.safe_load(SPEC.read_text())


def spectral(path: Path) -> list[dict]:
    result = node_tool("spectral", "lint", path, "--ruleset", RULESET, "--format", "json", "--quiet")
    try:
        return json.loads(result.stdout or "[]")
    except json.JSONDecodeError:
        raise AssertionError(f"spectral failed:\n{result.stdout}{result.stderr}") from None


# --- Spectral -------------------------------------------------------------------------------------


def test_the_spec_has_no_spectral_error_or_warning():
    found = spectral(SPEC)
    shown = [f"{r['code']} at {'.'.join(map(str, r['path']))}: {r['message']}" for r in found]
    assert found == [], "\n".join(shown)


def test_each_of_our_rules_catches_what_it_is_for(tmp_path):
    spec = load_spec()
    create_order = spec["paths"]["/api/orders/"]["post"]
    del create_order["summary"]
    create_order["requestBody"]["content"]["application/json"].pop("example", None)
    create_order["requestBody"]["content"]["application/json"].pop("examples", None)
    spec["paths"]["/api/auth/me/"]["get"]["responses"]["418"] = {
        "description": "a teapot",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
    spec["components"]["responses"]["NotFound"]["content"]["application/problem+json"]["schema"] = {
        "type": "object"
    }
    spec["paths"]["/api/orders/{id}/"]["parameters"] = [
        {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
    ]
    del spec["paths"]["/api/products/"]["get"]["operationId"]
    del spec["paths"]["/api/auth/me/"]["get"]["responses"]["default"]
    spec["paths"]["/api/auth/me/"]["get"]["security"] = [{"basicAuth": []}]
    broken = tmp_path / "openapi.yaml"
    broken.write_text(yaml.safe_dump(spec, sort_keys=False))

    found = {(r["code"], ".".join(map(str, r["path"]))) for r in spectral(broken)}
    codes = {code for code, _ in found}
    assert {
        "operation-summary",
        "request-body-example",
        "error-responses-are-problems",
        "problem-schema-is-the-one",
        "path-parameter-bounds",
        "operation-operationId",
        "operation-default-response",
        "security-scheme-defined",
    } <= codes, found
    assert ("operation-summary", "paths./api/orders/.post") in found
    assert ("path-parameter-bounds", "paths./api/orders/{id}/.parameters.0.schema") in found


# --- The breaking-change gate (Optic) ------------------------------------------------------------


@pytest.fixture
def release_dir(tmp_path):
    """A copy of the published contracts and the changelog, to cut releases in."""
    released = tmp_path / "released"
    shutil.copytree(REPO / "contract_tests" / "released", released)
    changelog = tmp_path / "CHANGELOG.md"
    shutil.copy(REPO / "CHANGELOG.md", changelog)
    return released, changelog


def write(spec: dict, path: Path) -> Path:
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def broken_copy(version: str) -> dict:
    """A removed response field and a new required parameter: two ways to break every client."""
    spec = load_spec()
    spec["info"]["version"] = version
    product = spec["components"]["schemas"]["Product"]
    del product["properties"]["category"]
    product["required"].remove("category")
    spec["paths"]["/api/products/"]["get"]["parameters"].append(
        {"name": "tenant", "in": "query", "required": True, "schema": {"type": "string", "maxLength": 20}}
    )
    return spec


def test_the_gate_holds_for_the_spec_as_it_is():
    assert contract_gate.main([]) == 0


def newest() -> tuple[int, int, int]:
    return max(contract_gate.released_copies(REPO / "contract_tests" / "released"))


def test_the_gate_refuses_a_breaking_change_without_a_major_version(release_dir, tmp_path):
    released, changelog = release_dir
    major, minor, _ = newest()
    version = f"{major}.{minor + 1}.0"
    changelog.write_text(changelog.read_text() + f"\n## {version}\n\nA minor version, it says.\n")
    spec = write(broken_copy(version), tmp_path / "openapi.yaml")

    problems = contract_gate.check(spec, released, changelog)

    [problem] = problems
    assert f"breaking change against the released {major}.{minor}.0 without a new major version" in problem
    assert "cannot remove response property 'category'" in problem
    assert "cannot add required query parameter tenant" in problem


def test_a_major_version_passes_with_its_released_copy_and_changelog(release_dir, tmp_path):
    released, changelog = release_dir
    version = f"{newest()[0] + 1}.0.0"
    spec = write(broken_copy(version), tmp_path / "openapi.yaml")

    refused = contract_gate.check(spec, released, changelog)
    assert any(f"has no '## {version}' section" in p for p in refused)
    assert any("without its released copy" in p for p in refused)

    changelog.write_text(changelog.read_text() + f"\n## {version}\n\nProducts lose their category.\n")
    shutil.copy(spec, released / f"openapi-{version}.yaml")
    assert contract_gate.check(spec, released, changelog) == []


def test_a_released_contract_is_frozen_and_versions_only_go_up(release_dir, tmp_path):
    released, changelog = release_dir
    last = ".".join(map(str, newest()))
    spec = yaml.safe_load((released / f"openapi-{last}.yaml").read_text())
    spec["paths"]["/api/products/"]["get"]["summary"] = "A new summary under the old version"
    [problem] = contract_gate.check(write(spec, tmp_path / "openapi.yaml"), released, changelog)
    assert f"differs from the released openapi-{last}.yaml" in problem

    spec["info"]["version"] = "0.9.0"
    problems = contract_gate.check(write(spec, tmp_path / "openapi.yaml"), released, changelog)
    assert any(f"lower than the released {last}" in p for p in problems)


# --- Examples and the mock -----------------------------------------------------------------------


def examples(node, where: str = "$"):
    """(where, schema, example) for every example in the document: of a parameter, a header or a
    media type (`example`, `examples`), and a schema's own (`examples`, or 3.0's `example`)."""
    if isinstance(node, dict):
        schema = node.get("schema")
        if isinstance(schema, dict):  # a parameter, a header or a media type
            if "example" in node:
                yield where, schema, node["example"]
            for name, example in (node.get("examples") or {}).items():
                assert "$ref" not in example, f"{where}: resolve example references before checking them"
                yield f"{where}.examples.{name}", schema, example["value"]
        else:  # perhaps a schema
            own = node.get("examples")
            for i, example in enumerate(own if isinstance(own, list) else []):
                yield f"{where}.examples[{i}]", node, example
            if "example" in node and ("type" in node or "$ref" in node or "properties" in node):
                yield f"{where}.example", node, node["example"]
        for key, value in node.items():
            if key not in ("example", "examples"):
                yield from examples(value, f"{where}.{key}")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from examples(item, f"{where}[{i}]")


def validator_for(spec: dict, schema: dict) -> Draft202012Validator:
    """A validator of `schema`, its references resolved in `spec`."""
    registry = Registry().with_resource("urn:shop", Resource(contents=spec, specification=DRAFT202012))
    resolved = json.loads(json.dumps(schema).replace('"#/components', '"urn:shop#/components'))
    checker = Draft202012Validator.FORMAT_CHECKER
    return Draft202012Validator(resolved, registry=registry, format_checker=checker)


def test_every_documented_example_is_valid_for_its_schema():
    spec = load_spec()
    found = list(examples(spec))
    invalid = [
        f"{where}: {error.message}"
        for where, schema, example in found
        for error in validator_for(spec, schema).iter_errors(example)
    ]
    assert len(found) >= 20, f"only {len(found)} examples found: is the walk still seeing the spec?"
    assert invalid == [], "\n".join(invalid)


def test_a_wrong_example_is_caught():
    spec = load_spec()
    media = spec["paths"]["/api/orders/"]["post"]["requestBody"]["content"]["application/json"]
    media["example"] = {"items": [{"product": 1, "quantity": 0}]}
    where = "$.paths./api/orders/.post.requestBody.content.application/json"
    [(_, schema, example)] = [found for found in examples(spec) if found[0] == where]
    errors = list(validator_for(spec, schema).iter_errors(example))
    assert errors and "less than the minimum" in errors[0].message, errors


@pytest.fixture(scope="module")
def prism():
    """`make mock` on a free port."""
    port = free_port()
    process = subprocess.Popen(
        [str(NODE_BIN / "prism"), "mock", str(SPEC), "--host", "127.0.0.1", "--port", str(port), "--errors"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    deadline = time.monotonic() + 60
    try:
        for line in process.stdout:
            lines.append(line)
            if "Prism is listening" in line:
                break
            assert time.monotonic() < deadline, "".join(lines)
        else:
            raise AssertionError("prism exited:\n" + "".join(lines))
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_typescript_client_against_the_mock(prism, compiled_ts):
    result = node_test(compiled_ts / "mock.test.js", {"SHOP_BASE_URL": prism})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "# pass 6" in result.stdout and "# fail 0" in result.stdout, result.stdout
