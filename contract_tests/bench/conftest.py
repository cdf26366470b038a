"""The bench app's tests run in-process like the server's tests, with their fixtures."""

from tests.conftest import *  # noqa: F403
