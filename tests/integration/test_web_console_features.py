"""The console's pages of statements, the account, payments, incentives, subsidies and
resources in process (the browser tests drive them in Chromium): who sees which page,
what their forms record, and how refusals and bad input are answered."""

from __future__ import annotations

import pytest

from web.console import csrf_token

PAGES = [
    "/statements",
    "/statements/p-1/2026-10",
    "/account",
    "/payments",
    "/incentives?period=2026-10",
    "/subsidies",
    "/resources?customer=c-2&reseller=r-2",
]


@pytest.fixture
def site(settled_api):
    return settled_api


def sign_in(site, role: str):
    site.client.cookies.clear()
    response = site.client.post("/signin", data={"token": site.tokens[role]}, follow_redirects=False)
    assert response.status_code == 303
    return csrf_token(site.tokens[role])


def send(site, path: str, csrf: str, **fields):
    return site.client.post(path, data={"csrf": csrf, **fields}, follow_redirects=False)


def problem_of(response) -> str:
    return response.text.split('data-testid="problem">', 1)[1].split("<", 1)[0]


@pytest.mark.parametrize("role", ["partner", "operator", "auditor"])
def test_readers_of_settlement_data_open_every_page(site, role):
    sign_in(site, role)
    for path in PAGES:
        page = site.client.get(path)
        assert page.status_code == 200, (path, page.text[-2000:])
        assert "text/html" in page.headers["content-type"]


@pytest.mark.parametrize("role", ["reseller", "manager"])
def test_scoped_readers_get_a_403_page_and_no_nav_entry_for_them(site, role):
    sign_in(site, role)
    for path in PAGES:
        assert site.client.get(path).status_code == 403, path
    home = site.client.get("/").text
    assert 'data-nav="bills"' in home and 'data-nav="statements"' not in home and 'data-nav="account"' not in home


def test_a_partners_nav_lists_every_feature_page(site):
    sign_in(site, "partner")
    home = site.client.get("/").text
    for key in ("statements", "account", "payments", "incentives", "subsidies", "resources"):
        assert f'data-nav="{key}"' in home, key


def test_a_partner_sees_its_own_data_only(site):
    sign_in(site, "partner")
    assert 'data-partner="p-2"' not in site.client.get("/statements").text
    assert site.client.get("/statements/p-2/2026-10").status_code == 403
    assert site.client.get("/account?partner=p-2").status_code == 403
    assert site.client.get("/payments?partner=p-2").status_code == 403
    assert 'data-deal="deal-2"' not in site.client.get("/subsidies").text


def test_a_partner_confirms_a_statement_with_the_form_and_the_cli_shows_it_confirmed(site, capsys):
    csrf = sign_in(site, "partner")
    response = send(site, "/statements/p-1/2026-10/confirm", csrf)
    assert response.status_code == 303
    assert response.headers["location"] == "/statements/p-1/2026-10?done=statement_confirmed"
    page = site.client.get(response.headers["location"]).text
    assert 'data-testid="notice"' in page and 'data-testid="confirm"' not in page
    assert site.cli(capsys, "statement", "--partner", "p-1", "--period", "2026-10")["status"] == "confirmed"


def test_a_refused_action_shows_its_page_again_with_the_code_and_records_nothing(site, capsys):
    csrf = sign_in(site, "partner")
    send(site, "/statements/p-1/2026-10/confirm", csrf)
    again = send(site, "/statements/p-1/2026-10/dispute", csrf, reason="too late")
    assert again.status_code == 409 and problem_of(again).startswith("invalid_state:")
    too_much = send(site, "/account/transfers", csrf, kind="withdrawal", amount="9999.00", id="w-1")
    assert too_much.status_code == 409 and problem_of(too_much).startswith("insufficient_funds:")
    assert "w-1" not in [t["id"] for t in site.cli(capsys, "transfers")["transfers"]]


@pytest.mark.parametrize(
    "path, fields, field",
    [
        ("/account/transfers", {"kind": "topup", "amount": "1.001", "id": "x"}, "amount"),
        ("/account/transfers", {"kind": "topup", "amount": "1.00", "id": ""}, "id"),
        ("/account/warning", {"below": "abc"}, "below"),
        ("/payments", {"amount": "", "id": "p"}, "amount"),
        ("/statements/p-1/2026-10/dispute", {"reason": ""}, "reason"),
        ("/authorizations", {"customer_id": "c-2", "id": "x" * 65}, "id"),
    ],
)
def test_a_malformed_field_shows_the_page_again_as_a_400_naming_it(site, capsys, path, fields, field):
    csrf = sign_in(site, "partner")
    response = send(site, path, csrf, **fields)
    assert response.status_code == 400 and problem_of(response).startswith(field)
    assert len(site.cli(capsys, "transfers")["transfers"]) == 3


def test_a_form_without_its_token_or_of_a_role_that_may_not_is_a_403_and_records_nothing(site, capsys):
    sign_in(site, "partner")
    assert send(site, "/account/transfers", "forged", kind="topup", amount="1", id="f-1").status_code == 403
    csrf = sign_in(site, "partner")
    assert (
        send(site, "/account/transfers", csrf, kind="topup", amount="1", id="f-2", partner_id="p-2").status_code == 403
    )
    assert send(site, "/account/transfers", csrf, kind="incentive", amount="1", id="f-3").status_code == 403
    assert send(site, "/payments/x/approve", csrf).status_code == 403
    assert send(site, "/periods/close", csrf, period="2026-11").status_code == 403
    auditor = sign_in(site, "auditor")
    assert send(site, "/statements/p-1/2026-10/confirm", auditor).status_code == 403
    ids = [t["id"] for t in site.cli(capsys, "transfers")["transfers"]]
    assert not any(i.startswith("f-") for i in ids)


def test_a_partner_tops_up_submits_a_payment_and_an_operator_approves_and_pays_it(site, capsys):
    csrf = sign_in(site, "partner")
    assert send(site, "/account/transfers", csrf, kind="topup", amount="20.00", id="web-t").status_code == 303
    assert send(site, "/account/transfers", csrf, kind="topup", amount="20.00", id="web-t").status_code == 303
    assert site.cli(capsys, "account", "--partner", "p-1")["prepaid"]["balance"] == "520.00"
    assert send(site, "/account/warning", csrf, below="600").status_code == 303
    submitted = send(site, "/payments", csrf, amount="12.00", id="pay-web")
    assert submitted.headers["location"] == "/payments?done=payment_submitted"
    operator = sign_in(site, "operator")
    assert send(site, "/payments/pay-web/approve", operator).status_code == 303
    assert send(site, "/payments/pay-web/pay", operator).status_code == 303
    (payment,) = site.cli(capsys, "payments", "--partner", "p-1")["payments"]
    assert [h["status"] for h in payment["history"]] == ["under_review", "approved", "paid"]
    assert site.cli(capsys, "account", "--partner", "p-1")["warn_below"] == "600.00"


def test_authorizations_are_asked_for_by_the_partner_and_answered_by_an_operator(site, capsys):
    csrf = sign_in(site, "partner")
    asked = send(site, "/authorizations", csrf, customer_id="c-2", reseller="r-2", id="auth-web")
    assert asked.status_code == 303 and asked.headers["location"].startswith("/resources?customer=c-2")
    refused = send(site, "/authorizations", csrf, customer_id="c-2", id="auth-web-2")
    assert refused.status_code == 409 and problem_of(refused).startswith("reseller_required")
    operator = sign_in(site, "operator")
    assert send(site, "/authorizations/auth-web/reject", operator, reason="客户不同意").status_code == 303
    assert send(site, "/authorizations/auth-1/revoke", operator).status_code == 303
    statuses = {a["id"]: a["status"] for a in site.cli(capsys, "authorizations")["authorizations"]}
    assert statuses == {"auth-1": "revoked", "auth-web": "rejected"}
    sign_in(site, "partner")
    page = site.client.get("/resources?customer=c-2&reseller=r-2")
    assert page.status_code == 409 and problem_of(page).startswith("not_authorized")


def test_an_operator_closes_a_period_from_the_statements_page(site):
    operator = sign_in(site, "operator")
    refused = send(site, "/periods/close", operator, period="2026-11")
    assert refused.status_code == 409 and problem_of(refused).startswith("period_not_ended")
    assert send(site, "/periods/close", operator, period="2026-1").status_code == 400


def test_resource_pages_name_service_types_from_the_catalogue(site):
    sign_in(site, "operator")
    page = site.client.get("/resources?customer=c-2").text
    assert "弹性云服务器" in page and 'data-resource="i-2"' in page
    site.client.get("/lang/en", headers={"referer": "/resources"})
    english = site.client.get("/bills?period=2026-10").text
    assert "Elastic Cloud Server" in english


@pytest.mark.parametrize(
    "path",
    [
        "/statements?status=open",
        "/statements?issued_from=2026-13-01",
        "/statements?issued_to=0001-01-01",
        "/statements?period=2026",
        "/statements/p-1/2026-13",
        "/account?partner=" + "p" * 65,
        "/payments?status=x",
        "/incentives?period=x",
        "/incentives?account_manager=a-1&supervisor=sv-1",
        "/subsidies?deal=" + "d" * 65,
        "/resources?customer=c-2&period=2026-00",
        "/resources?status=granted",
    ],
)
def test_bad_input_on_a_feature_page_is_a_400_page_never_a_500(site, path):
    sign_in(site, "operator")
    response = site.client.get(path)
    assert response.status_code == 400, response.text[-1500:]


def test_the_statement_filter_takes_every_day_it_offers_in_the_billing_time_zone(site):
    sign_in(site, "operator")
    every = site.client.get("/statements?issued_from=1900-01-01&issued_to=9998-12-31")  # 1900: Shanghai's LMT offset
    none = site.client.get("/statements?issued_to=2026-11-04")  # the close was at 2026-11-05T00:00:00Z
    assert every.status_code == 200 and 'data-partner="p-1"' in every.text
    assert none.status_code == 200 and 'data-testid="no-statements"' in none.text


def test_an_unknown_statement_or_no_policy_is_said_on_the_page(site):
    sign_in(site, "operator")
    assert site.client.get("/statements/p-9/2026-10").status_code == 409
    no_policy = site.client.get("/incentives?partner=p-1&period=2026-09")
    assert no_policy.status_code == 409 and problem_of(no_policy).startswith("no_policy")
