"""The contract's Node tools (contract_tests/package.json, installed by `npm ci`: `make node`), as
the Makefile runs them, for the tests to call."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
NODE_BIN = HERE / "node_modules" / ".bin"
TS_TYPES = REPO / "build" / "client-ts" / "schema.d.ts"
TS_PROJECT = HERE / "typescript"


def node_tool(name: str, *args: str | Path, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
    """Runs a tool from contract_tests/node_modules/.bin; fails with its output if it is missing."""
    tool = NODE_BIN / name
    if not tool.exists():
        raise RuntimeError(f"{tool} is missing: run `make node` (npm ci in contract_tests/)")
    return subprocess.run(
        [str(tool), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=kwargs.pop("cwd", REPO),
        env={**os.environ, "NO_UPDATE_NOTIFIER": "1", **kwargs.pop("env", {})},
        **kwargs,
    )


def generate_ts_types(spec: Path = REPO / "openapi.yaml", out: Path = TS_TYPES) -> Path:
    """`make client-ts`: the TypeScript types of the contract (openapi-typescript). A field with a
    default is optional in a request (--default-non-nullable=false), as the server treats it."""
    result = node_tool("openapi-typescript", spec, "--default-non-nullable=false", "-o", out)
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def compile_ts() -> Path:
    """Type-checks and compiles contract_tests/typescript/ against the generated types; a type
    error fails (noEmitOnError). Returns the folder of the compiled tests."""
    result = node_tool("tsc", "-p", TS_PROJECT / "tsconfig.json")
    assert result.returncode == 0, f"tsc found type errors:\n{result.stdout}{result.stderr}"
    return TS_PROJECT / "dist" / "contract_tests" / "typescript"


def node_test(test_file: Path, env: dict[str, str], timeout: float = 180) -> subprocess.CompletedProcess:
    """Runs one compiled test file with Node's built-in test runner."""
    return subprocess.run(
        ["node", "--test", "--test-reporter=tap", str(test_file)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=TS_PROJECT,
        env={**os.environ, **env},
    )


STOREFRONT = HERE / "storefront"
STOREFRONT_BUILD = REPO / "build" / "storefront"


def build_storefront(out: Path = STOREFRONT_BUILD) -> Path:
    """`make storefront`: the storefront's TypeScript type-checked against the contract's generated
    types (tsc), bundled with openapi-fetch into one ES module (esbuild), beside its page and
    style. Returns the folder to serve."""
    generate_ts_types()
    checked = node_tool("tsc", "-p", STOREFRONT / "tsconfig.json")
    assert checked.returncode == 0, f"tsc found type errors:\n{checked.stdout}{checked.stderr}"
    out.mkdir(parents=True, exist_ok=True)
    bundled = node_tool(
        "esbuild",
        STOREFRONT / "src" / "app.ts",
        "--bundle",
        "--format=esm",
        "--target=es2022",
        f"--outfile={out / 'app.js'}",
    )
    assert bundled.returncode == 0, bundled.stdout + bundled.stderr
    for name in ("index.html", "style.css"):
        (out / name).write_bytes((STOREFRONT / name).read_bytes())
    return out


if __name__ == "__main__":
    print(build_storefront())
