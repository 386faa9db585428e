"""Fixtures of the end-to-end tests beyond tests/conftest.py."""

# Headless Chromium and its pages (the console's browser tests).
from tests.browser_support import browser, new_page  # noqa: F401
