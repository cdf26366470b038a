from django.apps import AppConfig


class BenchConfig(AppConfig):
    """What `make bench` needs in the stack it measures, and nothing the product loads: the
    ceilings, the plain DRF comparison, the data loader (contract_tests/bench/settings.py)."""

    name = "contract_tests.bench.app"
    label = "bench"
