"""A newcomer's first hour, as a test: from a fresh copy of the repository (what git tracks, plus
new files it does not ignore), `make run` installs, migrates, loads the demo data and serves; the
README's curl block is replayed against it with real curl; then `make run` starts again on the same
database and still answers, with the demo credentials it prints."""

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from contract_tests import curl_examples
from contract_tests.stack import REPO, free_port

# The project's own variables, as CI exports them: `make run` must work without any of them.
PROJECT_VARIABLES = (
    "DATABASE_",
    "MEMCACHED_",
    "CELERY_",
    "DJANGO_",
    "EMAIL_",
    "EXTERNAL_API_",
    "THROTTLE_",
    "CORS_",
    "ACCOUNT_",
)
OTHER_VARIABLES = {"REQUIRE_SERVICES", "PYTHON", "VIRTUAL_ENV", "OPENAPI_SPEC_PATH", "LOG_LEVEL"}


def fresh_copy(target: Path) -> Path:
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for name in filter(None, (f.decode() for f in files)):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def newcomer_environment() -> dict[str, str]:
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(PROJECT_VARIABLES)
        and name not in OTHER_VARIABLES
        and not name.startswith("COV_")
    }


class MakeRun:
    def __init__(self, checkout: Path, port: int, log: Path) -> None:
        self.base_url = f"http://127.0.0.1:{port}"
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                ["make", "run", f"PORT={port}"],
                cwd=checkout,
                env=newcomer_environment(),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_until_it_answers(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"make run exited:\n{self.log.read_text()[-3000:]}"
            try:
                with urllib.request.urlopen(self.base_url + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
        pytest.fail(f"make run did not answer in {timeout}s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs the curl command")
def test_make_run_serves_the_readme_and_starts_again(tmp_path):
    checkout = fresh_copy(tmp_path / "shop")
    log = tmp_path / "make-run.log"
    first = MakeRun(checkout, free_port(), log)
    try:
        first.wait_until_it_answers(timeout=420)  # creates .venv and installs on the first run
        curl_examples.replay(first.base_url, tmp_path, mail=log.read_text)  # e-mails print to its log
    finally:
        first.stop()
    second = MakeRun(checkout, free_port(), log)
    try:
        second.wait_until_it_answers(timeout=120)
        # The replay changed the demo customer's password (twice: changed, then reset); the second
        # start set it back to the one it prints.
        login = urllib.request.Request(
            second.base_url + "/api/auth/login/",
            data=json.dumps({"username": "customer", "password": "demo-customer-pass"}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(login, timeout=10) as response:
            assert response.status == 200 and json.load(response)["access"]
        # `make demo-ui`'s storefront, on its own origin, may call `make run`'s API
        preflight = urllib.request.Request(
            second.base_url + "/api/auth/login/",
            method="OPTIONS",
            headers={"Origin": "http://127.0.0.1:4173", "Access-Control-Request-Method": "POST"},
        )
        with urllib.request.urlopen(preflight, timeout=10) as response:
            assert response.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:4173"
    finally:
        second.stop()
    output = log.read_text()
    assert output.count("Demo data ready") == 2
    assert "username=customer password=demo-customer-pass" in output
    assert "Traceback" not in output
