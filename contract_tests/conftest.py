"""Contract tests run against the live stack (contract_tests/stack.py), started once per session.
They need PostgreSQL, Redis and Memcached: missing ones skip the tests with a reason naming them,
or fail them when REQUIRE_SERVICES=1 (CI)."""

import os
from pathlib import Path

import pytest

from contract_tests.node_tools import compile_ts, generate_ts_types
from contract_tests.stack import live_stack, reachable

IN_PROCESS = {"bench/test_app.py"}  # run like the server's tests: no stack, no Node


def pytest_collection_modifyitems(items):
    """Every contract test is `live` but the few that run in-process: `make check` skips them."""
    here = Path(__file__).parent
    for item in items:
        path = Path(item.fspath)
        if here in path.parents and path.relative_to(here).as_posix() not in IN_PROCESS:
            item.add_marker(pytest.mark.live)


SERVICES = {
    "PostgreSQL": ("127.0.0.1", 5432),
    "Redis": ("127.0.0.1", 6379),
    "Memcached": ("127.0.0.1", 11211),
}


def require_services() -> None:
    """Skips the test naming the missing services, or fails it when REQUIRE_SERVICES=1 (CI)."""
    missing = [name for name, address in SERVICES.items() if not reachable(*address)]
    if missing:
        message = f"needs {', '.join(missing)} on localhost for the live stack"
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"REQUIRE_SERVICES=1 and this test {message}", pytrace=False)
        pytest.skip(message)


@pytest.fixture(scope="module")
def stack():
    """A fresh stack per test module: fuzzing and scenarios must not see each other's data."""
    require_services()
    with live_stack() as running:
        yield running


@pytest.fixture(scope="session")
def compiled_ts():
    """The contract's TypeScript types generated (`make client-ts`) and contract_tests/typescript/
    type-checked and compiled against them, once for every test that runs it; the folder of the
    compiled tests."""
    generate_ts_types()
    return compile_ts()
