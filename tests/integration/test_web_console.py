"""The console's pages in process (the browser tests drive them in Chromium): sign-in,
the session cookie, the pages' access rules and their answers to bad input."""

from __future__ import annotations

import pytest
from litestar.testing import TestClient

from commands.bootstrap import open_engine
from commands.settings import Settings
from commands.tokens import create_token, revoke_token
from tests.conftest import record
from tests.integration.test_scoped_views import switching_customer_events
from web.app import create_app
from web.console import SESSION_COOKIE, csrf_token


@pytest.fixture
def site(tmp_path):
    with open_engine(Settings(store_url=f"sqlite:///{tmp_path / 'billing.db'}"), create=True) as engine:
        record(engine, switching_customer_events())
        partner = create_token(engine, "partner", "p-1")
        operator = create_token(engine, "operator")
        with TestClient(create_app(engine), base_url="http://127.0.0.1") as client:
            yield client, engine, partner, operator.token


def signed_in(client, token: str):
    response = client.post("/signin", data={"token": token, "next": "/bills"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/bills"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
    return client


def test_pages_send_a_visitor_without_a_session_to_sign_in_and_back(site):
    client, *_ = site
    response = client.get("/performance?period=2026-10", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=%2Fperformance%3Fperiod%3D2026-10"


def test_a_bad_token_is_401_on_the_sign_in_page_and_sets_no_cookie(site):
    client, *_ = site
    response = client.post("/signin", data={"token": "bt_wrong"}, follow_redirects=False)
    assert response.status_code == 401 and "set-cookie" not in response.headers


def test_a_signed_in_partner_reads_its_pages_and_not_another_partners(site):
    client, _engine, partner, _operator = site
    signed_in(client, partner.token)
    for path in ("/", "/bills?period=2026-10", "/performance?period=2026-10"):
        page = client.get(path)
        assert page.status_code == 200 and "p-1" in page.text, path
    assert "c-3" not in client.get("/bills?period=2026-10").text  # no partner: not p-1's
    assert client.get("/performance?partner=p-2").status_code == 403


@pytest.mark.parametrize("query", ["period=2026-13", "period=x", "page=abc", "page=0", "customer=" + "c" * 65])
def test_bad_input_on_a_page_is_a_400_page_never_a_500(site, query):
    client, _engine, _partner, operator = site
    signed_in(client, operator)
    response = client.get(f"/bills?{query}")
    assert response.status_code == 400 and "text/html" in response.headers["content-type"]


def test_signing_out_needs_the_forms_token_and_a_revoked_token_ends_the_session(site):
    client, engine, partner, _operator = site
    signed_in(client, partner.token)
    assert client.post("/signout", data={"csrf": "forged"}, follow_redirects=False).status_code == 403
    assert client.get("/").status_code == 200
    revoke_token(engine, partner.token_id)
    assert client.get("/", follow_redirects=False).status_code == 303


def test_signing_out_clears_the_session(site):
    client, _engine, partner, _operator = site
    signed_in(client, partner.token)
    response = client.post("/signout", data={"csrf": csrf_token(partner.token)}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/signin"
    assert f'{SESSION_COOKIE}=""' in response.headers["set-cookie"] or "Max-Age=0" in response.headers["set-cookie"]


def test_the_sign_in_page_only_returns_to_a_path_of_this_site(site):
    client, _engine, partner, _operator = site
    response = client.post("/signin", data={"token": partner.token, "next": "//evil.example/x"}, follow_redirects=False)
    assert response.headers["location"] == "/"


def test_nav_shows_only_the_features_that_exist(site):
    client, _engine, partner, _operator = site
    signed_in(client, partner.token)
    page = client.get("/").text
    assert 'data-nav="bills"' in page and 'data-nav="performance"' in page
    assert 'data-nav="statements"' in page and 'data-nav="account"' in page
