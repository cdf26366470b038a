import pytest

from contract_tests.services import memcached


@pytest.fixture
def server():
    """A Memcached server of the test's own, on a free port, that the test may stop and start."""
    daemon = memcached()
    daemon.start()
    yield daemon
    daemon.stop()
