import pytest


@pytest.fixture(autouse=True)
def _ingest_writer(writer_connection_closed):
    """Every customer-data test may go through /v1/ (its writer thread): close it after each."""
