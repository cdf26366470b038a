"""The settings of the stack `make bench` measures: production's, plus the bench app (its
ceilings, the plain DRF comparison and the data loader). The product never loads them."""

from config.settings.production import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "contract_tests.bench.app"]  # noqa: F405
ROOT_URLCONF = "contract_tests.bench.app.urls"
