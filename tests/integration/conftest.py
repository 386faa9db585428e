"""Fixtures of the integration tests beyond tests/conftest.py."""

# The settlement store with the app over it and a token per role (the web API and console tests).
from tests.web_support import settled_api  # noqa: F401
