"""`make bench` and `make bench-instructions`. The stack they measure runs with the bench's own
settings (contract_tests/bench/settings.py: production's plus the bench app), found through
`ENV`; the product's settings never load any of it."""

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

ENV = {
    "DJANGO_SETTINGS_MODULE": "contract_tests.bench.settings",
    "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "server")]),
}
