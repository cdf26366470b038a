"""schemathesis fuzzes the live stack from openapi.yaml with every check, as customers and admin."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPEC = HERE.parent / "openapi.yaml"


def test_the_live_stack_honours_the_contract(stack, tmp_path):
    wfc = tmp_path / "auth.json"
    wfc.write_text(
        json.dumps(
            {
                "auth": [
                    {
                        "name": name,
                        "fixedHeaders": [{"name": "Authorization", "value": f"Bearer {stack.tokens[name]}"}],
                    }
                    for name in ("alice", "bob", "admin")
                ]
            }
        )
    )
    report = tmp_path / "report"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "--config-file",
            str(HERE / "schemathesis.toml"),
            "run",
            str(SPEC),
            "--url",
            stack.base_url,
            "--checks",
            "all",
            "--report",
            "junit",
            "--report-dir",
            str(report),
        ],
        env={**os.environ, "SHOP_WFC_AUTH": str(wfc), "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=1800,
    )
    summary = result.stdout[result.stdout.rfind("SUMMARY") - 40 :]
    print(summary)
    assert result.returncode == 0, result.stdout[-20000:]
    closing = summary.strip().splitlines()[-1]
    assert "failure" not in closing and "error" not in closing, closing
    cases = re.search(r"(\d+) generated, (\d+) passed", summary)
    assert cases and cases[1] == cases[2] and int(cases[1]) > 1000, summary
