"""The predictions tests use the engine tests' recording email executor and template resolver."""

from tests.engine.conftest import fake_email  # noqa: F401 (a fixture)
