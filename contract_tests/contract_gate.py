"""The breaking-change gate: `openapi.yaml` against the contract last published.

    python contract_tests/contract_gate.py            # `make contract-gate`, part of `make spec-lint`

Published contracts are files `contract_tests/released/openapi-<version>.yaml`; `CHANGELOG.md`
has a `## <version>` section for each. The rules (semantic versioning on `info.version`):

- `info.version` is never lower than the newest released version;
- a released contract is frozen: while `info.version` names a released version, `openapi.yaml`
  must be that file (any change needs a new version);
- Optic (`optic diff --check`, its breaking-change rules) compares `openapi.yaml` with the
  newest release before `info.version`; a breaking change needs a higher major version, and
  is itself a release: the new released copy must come with it;
- every version, released or on its way, has its `CHANGELOG.md` section.

Exit status 0 when the gate holds, 1 with the reasons otherwise.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
NODE_BIN = REPO / "contract_tests" / "node_modules" / ".bin"
RELEASED = re.compile(r"^openapi-(\d+)\.(\d+)\.(\d+)\.yaml$")
Version = tuple[int, int, int]


def parse_version(text: str) -> Version:
    match = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", str(text).strip())
    if not match:
        raise ValueError(f"info.version {text!r} is not MAJOR.MINOR.PATCH")
    return tuple(int(part) for part in match.groups())  # type: ignore[return-value]


def show(version: Version) -> str:
    return ".".join(map(str, version))


def released_copies(folder: Path) -> dict[Version, Path]:
    copies = {}
    for path in folder.glob("openapi-*.yaml"):
        match = RELEASED.match(path.name)
        if match:
            copies[tuple(int(part) for part in match.groups())] = path
    return copies


def changelog_versions(changelog: Path) -> set[Version]:
    if not changelog.is_file():
        return set()
    found = re.findall(r"^##\s+\[?(\d+\.\d+\.\d+)\]?", changelog.read_text(), flags=re.MULTILINE)
    return {parse_version(version) for version in found}


@dataclass
class Diff:
    breaking: bool
    output: str


def optic_diff(before: Path, after: Path) -> Diff:
    """Optic's classification of the change from `before` to `after` (exit 1: a breaking change).
    Optic lets any change through a major version; the versions are this gate's business, so
    Optic sees `after` under `before`'s version and says what breaks."""
    env = {**os.environ, "OPTIC_TELEMETRY_LEVEL": "off", "NO_UPDATE_NOTIFIER": "1", "CI": "true"}
    document = yaml.safe_load(after.read_text())
    document["info"]["version"] = yaml.safe_load(before.read_text())["info"]["version"]
    with tempfile.TemporaryDirectory() as folder:
        candidate = Path(folder) / after.name
        candidate.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
        result = subprocess.run(
            [str(NODE_BIN / "optic"), "diff", str(before), str(candidate), "--check", "--severity", "error"],
            capture_output=True,
            text=True,
            env=env,
            cwd=folder,
            timeout=300,
        )
    output = result.stdout + result.stderr
    if result.returncode == 0:
        return Diff(False, output)
    if "breaking change" in output.lower():
        return Diff(True, output)
    raise RuntimeError(f"optic diff failed (exit {result.returncode}):\n{output}")


def check(spec: Path, released: Path, changelog: Path) -> list[str]:
    """The reasons the gate refuses `spec`; empty when it holds."""
    document = yaml.safe_load(spec.read_text())
    current = parse_version(document["info"]["version"])
    copies = released_copies(released)
    if not copies:
        return [f"no released contract in {released} (expected openapi-<version>.yaml)"]
    problems = []
    newest = max(copies)
    if current < newest:
        problems.append(f"info.version {show(current)} is lower than the released {show(newest)}")
    documented = changelog_versions(changelog)
    for version in sorted({*copies, current} - documented):
        problems.append(f"{changelog.name} has no '## {show(version)}' section")
    own = copies.get(current)
    if own is not None and yaml.safe_load(own.read_text()) != document:
        problems.append(
            f"{spec.name} differs from the released {own.name}: a released contract is frozen; "
            "set info.version to the next version (a minor one for additions, a major one for "
            "breaking changes) and describe the change in the changelog"
        )
    earlier = [version for version in copies if version < current]
    if earlier:
        previous = max(earlier)
        diff = optic_diff(copies[previous], spec)
        if diff.breaking and current[0] <= previous[0]:
            problems.append(
                f"breaking change against the released {show(previous)} without a new major version "
                f"(info.version is {show(current)}):\n{diff.output}"
            )
        elif diff.breaking and own is None:
            problems.append(
                f"breaking change released as {show(current)} without its released copy "
                f"({released.name}/openapi-{show(current)}.yaml):\n{diff.output}"
            )
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--spec", type=Path, default=REPO / "openapi.yaml")
    parser.add_argument("--released", type=Path, default=REPO / "contract_tests" / "released")
    parser.add_argument("--changelog", type=Path, default=REPO / "CHANGELOG.md")
    args = parser.parse_args(argv)
    problems = check(args.spec.resolve(), args.released.resolve(), args.changelog.resolve())
    for problem in problems:
        print(f"contract gate: {problem}", file=sys.stderr)
    if not problems:
        print(f"contract gate: {args.spec.name} keeps the released contract's promises")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
