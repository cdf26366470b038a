"""A TypeScript client (openapi-typescript types, openapi-fetch calls) drives the live stack through
the Python client's scenario; its generated types compile with `tsc --noEmit`. Nothing generated
is committed: it is generated here, every run."""

from contract_tests.node_tools import TS_TYPES, node_test, node_tool


def test_the_generated_types_compile_on_their_own(compiled_ts):
    result = node_tool("tsc", "--noEmit", "--strict", "--skipLibCheck", "false", TS_TYPES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_whole_scenario_through_the_typescript_client(compiled_ts, stack):
    result = node_test(
        compiled_ts / "scenario.test.js",
        {"SHOP_BASE_URL": stack.base_url, "SHOP_ADMIN_TOKEN": stack.tokens["admin"]},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "# pass 2" in result.stdout and "# fail 0" in result.stdout, result.stdout
