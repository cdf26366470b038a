"""The lock files pin, with hashes, every dependency pyproject.toml names: an install from them
(make install, the Docker image) is reproducible. `make lock` rewrites them."""

import re
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _pins(lock: str) -> dict[str, str]:
    text = (REPO / lock).read_text()
    return {m[1].lower(): m[2] for m in re.finditer(r"^([A-Za-z0-9_.-]+)==(\S+)", text, re.MULTILINE)}


@pytest.mark.parametrize(
    ("lock", "requirements"),
    [
        ("requirements.lock", PYPROJECT["project"]["dependencies"]),
        (
            "requirements-dev.lock",
            PYPROJECT["project"]["dependencies"] + PYPROJECT["project"]["optional-dependencies"]["dev"],
        ),
        (
            "deploy/requirements.lock",
            [
                line
                for line in (REPO / "deploy" / "requirements.in").read_text().splitlines()
                if line.strip() and not line.startswith("#")
            ],
        ),
    ],
)
def test_every_dependency_is_pinned_with_hashes(lock, requirements):
    pins = _pins(lock)
    missing = sorted(_name(r) for r in requirements if _name(r) not in pins)
    assert missing == [], f"run `make lock`: {missing} not in {lock}"
    entries = re.split(r"\n(?=[A-Za-z0-9])", (REPO / lock).read_text().split("\n", 2)[2])
    assert all("--hash=sha256:" in entry for entry in entries if "==" in entry)


def test_the_runtime_lock_pins_the_same_versions_as_the_dev_lock():
    runtime, dev = _pins("requirements.lock"), _pins("requirements-dev.lock")
    assert {name: dev.get(name) for name in runtime} == runtime
