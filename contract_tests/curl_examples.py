"""Renders one curl example per operation of openapi.yaml, from the spec's own examples, in the
order a user would try them, and keeps the README's copy in step.

    python contract_tests/curl_examples.py --write   # `make docs`: rewrite the README section
    python contract_tests/curl_examples.py --check   # exit 1 if the README is out of date

The commands use shell variables: BASE (the server), TOKEN / ADMIN_TOKEN (access tokens of a
customer and a staff user), REFRESH, PRODUCT_ID, PRODUCT_ID_2, ORDER_ID.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
SPEC = REPO / "openapi.yaml"
README = REPO / "README.md"
START, END = "<!-- curl-examples:start -->", "<!-- curl-examples:end -->"

# The order of a first session: sign up, look around, order, administer, sign out (which ends that
# session's tokens), sign in again, change the password (which ends every session), and last
# forget it: ask for a reset link and set a new one with the e-mail's uid and token.
WORKFLOW = [
    "healthz",
    "readyz",
    "register",
    "verifyEmail",
    "resendEmailVerification",
    "login",
    "refreshToken",
    "me",
    "createAddress",
    "listAddresses",
    "getAddress",
    "updateAddress",
    "listProducts",
    "createProduct",
    "getProduct",
    "updateProduct",
    "patchProduct",
    "createOrder",
    "listOrders",
    "getOrder",
    "changeOrderShippingAddress",
    "getOrderReport",
    "adminListOrders",
    "adminExportOrders",
    "changeOrderStatus",
    "deleteProduct",
    "deleteAddress",
    "logout",
    "login",
    "changePassword",
    "requestPasswordReset",
    "confirmPasswordReset",
    "problemType",
]
PATH_VARIABLES = {"/api/products/": "PRODUCT_ID", "/api/orders/": "ORDER_ID", "/api/addresses/": "ADDRESS_ID"}


# Shown before the examples and run by `replay`: every variable an example uses is introduced.
PREAMBLE = [
    "# The variables the examples use, each taken from an earlier answer:",
    '#   TOKEN, REFRESH  "access" and "refresh" of the login (and later the refresh) answer',
    '#   ADMIN_TOKEN     "access" of the same login as a staff user (make run\'s demo admin)',
    '#   PRODUCT_ID      "id" of the createProduct answer',
    '#   ETAG            the "ETag" header of the last answer about that product (curl -i shows it)',
    "#   PRODUCT_ID_2    the id of another product, e.g. 3 (the demo catalog's Merino T-shirt)",
    '#   ADDRESS_ID      "id" of the createAddress answer',
    '#   ORDER_ID        "id" of the createOrder answer',
    '#   ORDER_ETAG      the "ETag" header of the last answer about that order',
    "#   VERIFY_TOKEN    the token in the verification e-mail's link (sent at registration)",
    "#   RESET_UID, RESET_TOKEN  the uid and token in the password-reset e-mail's link",
    "ADMIN_TOKEN=$(curl -sS -X POST \"$BASE/api/auth/login/\" -H 'Content-Type: application/json' \\",
    '  -d \'{"username": "admin", "password": "demo-admin-pass"}\' \\',
    "  | python3 -c 'import json, sys; print(json.load(sys.stdin)[\"access\"])')",
    "PRODUCT_ID_2=3",
]


@dataclass(frozen=True)
class Example:
    operation_id: str
    method: str
    path: str
    summary: str
    command: str
    status: int


def _resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _operations(spec: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any], list[dict[str, Any]]]]:
    found = {}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                params = [
                    _resolve(spec, p) for p in [*item.get("parameters", []), *operation.get("parameters", [])]
                ]
                found[operation["operationId"]] = (method, path, operation, params)
    return found


def _url(path: str, params: list[dict[str, Any]]) -> str:
    for prefix, variable in PATH_VARIABLES.items():
        if path.startswith(prefix) and "{id}" in path:
            path = path.replace("{id}", f"${variable}")
    for p in params:
        if p["in"] == "path" and "example" in p:
            path = path.replace("{" + p["name"] + "}", str(p["example"]))
    # Optional parameters carry no `example` (Swagger UI would send it on every first try); the
    # value a curl example shows is in `x-curl-example`.
    query = "&".join(
        f"{p['name']}={p['x-curl-example']}" for p in params if p["in"] == "query" and "x-curl-example" in p
    )
    return f"$BASE{path}" + (f"?{query}" if query else "")


def _body(spec: dict[str, Any], operation: dict[str, Any]) -> str | None:
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if content is None:
        return None
    example = content.get("example")
    if example is None:
        raise ValueError(f"{operation['operationId']}: the request body has no example")
    text = json.dumps(example)
    if "refresh" in example:
        text = json.dumps({**example, "refresh": "$REFRESH"})
    if "uid" in example and "token" in example:
        text = json.dumps({**example, "uid": "$RESET_UID", "token": "$RESET_TOKEN"})
    elif "token" in example:
        text = json.dumps({**example, "token": "$VERIFY_TOKEN"})
    product_ids: list[int] = []
    for item in example.get("items", []):
        if item["product"] not in product_ids:
            product_ids.append(item["product"])
    for position, product_id in enumerate(product_ids):
        variable = "PRODUCT_ID" if position == 0 else f"PRODUCT_ID_{position + 1}"
        text = re.sub(rf'"product": {product_id}\b', f'"product": ${variable}', text)
    return text


def render(spec: dict[str, Any] | None = None) -> list[Example]:
    spec = spec or yaml.safe_load(SPEC.read_text())
    operations = _operations(spec)
    if set(operations) != set(WORKFLOW):
        raise ValueError(f"WORKFLOW and the spec differ: {sorted(set(operations) ^ set(WORKFLOW))}")
    examples = []
    for operation_id in WORKFLOW:
        method, path, operation, params = operations[operation_id]
        parts = ["curl -sS"]
        if method != "get":
            parts.append(f"-X {method.upper()}")
        parts.append(f'"{_url(path, params)}"')
        secured = operation.get("security", spec.get("security"))
        if secured:
            staff = any("staff" in roles for requirement in secured for roles in requirement.values())
            token = "ADMIN_TOKEN" if staff else "TOKEN"
            parts.append(f'-H "Authorization: Bearer ${token}"')
        headers = {
            p["name"]: p["x-curl-example"] for p in params if p["in"] == "header" and "x-curl-example" in p
        }
        for name, value in {**headers, **operation.get("x-curl-headers", {})}.items():
            parts.append(f'-H "{name}: {value}"' if "$" in value else f"-H '{name}: {value}'")
        body = _body(spec, operation)
        if body is not None:
            parts.append("-H 'Content-Type: application/json'")
            # a heredoc for variables and for quotes a single-quoted argument cannot hold
            parts.append(f"-d @- <<EOF\n{body}\nEOF" if "$" in body or "'" in body else f"-d '{body}'")
        status = min(int(code) for code in operation["responses"] if code.startswith("2"))
        examples.append(
            Example(operation_id, method.upper(), path, operation["summary"], " ".join(parts), status)
        )
    return examples


def markdown(examples: list[Example]) -> str:
    blocks = [
        START,
        "<!-- Generated by `make docs` from openapi.yaml (contract_tests/curl_examples.py); do not edit. -->",
        "",
        "```bash",
        "BASE=http://127.0.0.1:8000",
        *PREAMBLE,
    ]
    for example in examples:
        blocks += [
            "",
            f"# {example.method} {example.path}: {example.summary} -> {example.status}",
            example.command,
        ]
    blocks += ["```", END]
    return "\n".join(blocks)


def updated_readme(text: str, examples: list[Example]) -> str:
    start, end = text.index(START), text.index(END) + len(END)
    return text[:start] + markdown(examples) + text[end:]


def _run_curl(command: str, env: dict[str, str], out: Path) -> tuple[int, bytes]:
    """Runs one example; returns its status and body. The `ETag` of an answer about the product is
    kept in env["ETAG"], about the order in env["ORDER_ETAG"], for the next change to send in
    `If-Match`."""
    instrumented = command.replace("curl -sS", f"curl -sS -o {out} -w '%{{http_code}} %header{{etag}}'", 1)
    result = subprocess.run(
        ["bash", "-c", instrumented], env=env, capture_output=True, timeout=30, check=True
    )
    status, _, etag = result.stdout.decode().partition(" ")
    if etag and "/api/products/$PRODUCT_ID/" in command:
        env["ETAG"] = etag
    if etag and "/api/orders/$ORDER_ID/" in command:
        env["ORDER_ETAG"] = etag
    return int(status), out.read_bytes()


RESET_LINK = re.compile(r"\(uid: ([A-Za-z0-9_-]+), token: ([A-Za-z0-9-]+)\)")
VERIFY_LINK = re.compile(r"\(token: ([A-Za-z0-9_:-]+)\)")


def wait_for_background_work(example: Example, env: dict[str, str], mail: Callable[[], str]) -> None:
    """What a reader waits for before three examples, as the work is done in the background
    (bounded): the order's invoice before reading the order, the verification e-mail (its token)
    and the reset e-mail (its uid and token, as a reader takes them from the link) before their
    confirmations.

    The invoice is awaited before `getOrder`, not just before the report: its link is part of the
    order, so it changes the order's ETag, and the shipping-address change after `getOrder` sends
    that tag in `If-Match`. Read before the invoice, the tag could go stale under the reader (a
    412, as CI once saw)."""
    from tests.helpers import wait_for  # only under pytest: `make docs` needs none of this

    if example.operation_id == "getOrder":
        url = f"{env['BASE']}/api/orders/{env['ORDER_ID']}/"
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {env['TOKEN']}"})

        def invoiced() -> bool:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.load(response)["report_url"] is not None

        wait_for(invoiced, timeout=60, what="the order's invoice")
    elif example.operation_id == "verifyEmail":
        found = wait_for(lambda: VERIFY_LINK.findall(mail()), timeout=60, what="the verification e-mail")
        env["VERIFY_TOKEN"] = found[-1]
    elif example.operation_id == "confirmPasswordReset":
        found = wait_for(lambda: RESET_LINK.findall(mail()), timeout=60, what="the password-reset e-mail")
        env["RESET_UID"], env["RESET_TOKEN"] = found[-1]


def replay(base_url: str, workdir: Path, *, mail: Callable[[], str]) -> None:
    """Runs the README's block as a reader would: the preamble, then every example in order with
    real curl, each taking its variables from earlier answers (and the reset link from `mail()`,
    the text of the e-mails sent so far). Raises AssertionError at the first example that does
    not answer its documented status."""
    env = {"PATH": "/usr/bin:/bin", "BASE": base_url}
    preamble = "\n".join([*PREAMBLE, 'printf "%s %s" "$ADMIN_TOKEN" "$PRODUCT_ID_2"'])
    result = subprocess.run(["bash", "-c", preamble], env=env, capture_output=True, timeout=30, check=True)
    env["ADMIN_TOKEN"], env["PRODUCT_ID_2"] = result.stdout.decode().split()
    out = workdir / "body"
    for example in render():
        wait_for_background_work(example, env, mail)
        status, body = _run_curl(example.command, env, out)
        assert status == example.status, f"{example.operation_id}: {status} {body[:500]!r}\n{example.command}"
        if example.operation_id in ("login", "refreshToken"):
            tokens = json.loads(body)
            env["TOKEN"], env["REFRESH"] = tokens["access"], tokens["refresh"]
        elif example.operation_id == "createProduct":
            env["PRODUCT_ID"] = str(json.loads(body)["id"])
        elif example.operation_id == "createAddress":
            env["ADDRESS_ID"] = str(json.loads(body)["id"])
        elif example.operation_id == "createOrder":
            env["ORDER_ID"] = str(json.loads(body)["id"])
        elif example.operation_id == "getOrderReport":
            assert body.startswith(b"%PDF"), body[:100]


def main(argv: list[str]) -> int:
    text = README.read_text()
    fresh = updated_readme(text, render())
    if "--write" in argv:
        README.write_text(fresh)
        return 0
    if fresh != text:
        print("README.md's curl examples are out of date: run `make docs`.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
