"""The README's curl examples: generated from the spec, up to date, and each one run with real
curl against the live stack, in order, answering its documented status."""

import json
import shutil
import subprocess
import time

import pytest
import requests

from contract_tests import curl_examples


def test_the_readme_has_the_current_examples():
    assert curl_examples.main(["--check"]) == 0, "run `make docs`"


def test_every_operation_has_an_example():
    examples = curl_examples.render()
    assert [e.operation_id for e in examples] == curl_examples.WORKFLOW
    assert all(e.command.startswith("curl ") for e in examples)


def run_curl(command: str, env: dict[str, str], out) -> tuple[int, bytes]:
    instrumented = command.replace("curl -sS", f"curl -sS -o {out} -w '%{{http_code}}'", 1)
    result = subprocess.run(
        ["bash", "-c", instrumented], env=env, capture_output=True, timeout=30, check=True
    )
    return int(result.stdout.decode()), out.read_bytes()


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs the curl command")
def test_every_example_answers_its_documented_status(stack, tmp_path):
    env = {"PATH": "/usr/bin:/bin", "BASE": stack.base_url, "ADMIN_TOKEN": stack.tokens["admin"]}
    second = requests.post(
        stack.url("/api/products/"),
        json={"name": "Second product", "price": "29.90", "stock": 10, "category": "books"},
        headers=stack.auth("admin"),
        timeout=10,
    )
    env["PRODUCT_ID_2"] = str(second.json()["id"])
    out = tmp_path / "body"
    for example in curl_examples.render():
        if example.operation_id == "getOrderReport":  # the worker makes it; wait (bounded) for it
            deadline = time.monotonic() + 60
            while (
                requests.get(
                    stack.url(f"/api/orders/{env['ORDER_ID']}/"),
                    headers={"Authorization": f"Bearer {env['TOKEN']}"},
                    timeout=10,
                ).json()["report_url"]
                is None
            ):
                assert time.monotonic() < deadline, "no invoice after 60 s"
                time.sleep(0.5)
        status, body = run_curl(example.command, env, out)
        assert status == example.status, f"{example.operation_id}: {status} {body[:500]!r}\n{example.command}"
        if example.operation_id in ("login", "refreshToken"):
            tokens = json.loads(body)
            env["TOKEN"], env["REFRESH"] = tokens["access"], tokens["refresh"]
        elif example.operation_id == "createProduct":
            env["PRODUCT_ID"] = str(json.loads(body)["id"])
        elif example.operation_id == "createOrder":
            env["ORDER_ID"] = str(json.loads(body)["id"])
        elif example.operation_id == "getOrderReport":
            assert body.startswith(b"%PDF")
