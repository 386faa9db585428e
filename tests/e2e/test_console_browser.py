"""The web console in a real browser (CONTRACT.md §10): headless Chromium from Debian
(/usr/bin/chromium) driven by Playwright against `billing web` over the demo store.

The figures on the pages are compared with what the `billing` CLI prints. Every page
is saved as a screenshot under tests/artifacts/screenshots/ (look at them)."""

from __future__ import annotations

import pytest

from tests.browser_support import require_chromium, shot
from tests.web_server import billing_json, make_token, running_web
from testsupport.cli_runner import billing

pytestmark = pytest.mark.browser

PARTNER, RESELLER, PERIOD = "dist-huabei", "rs-bj-yunfan", "2026-10"
COUNT_KEYS = ["total_customers", "association_count", "consuming_customers", "new_enterprise_customers_quarter"]


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    """`billing web` over a demo store, with a token of each role."""
    require_chromium()
    folder = tmp_path_factory.mktemp("console")
    url = f"sqlite:///{folder / 'billing.db'}"
    demo = billing(None, "--store", url, "demo", "--customers", "150", "--out", str(folder / "demo.jsonl"), timeout=300)
    assert demo.returncode == 0, demo.stderr.decode()
    manager = billing_json(url, "performance", "--partner", PARTNER, "--period", PERIOD)["by_account_manager"][0]
    tokens = {
        "operator": make_token(url, "operator"),
        "partner": make_token(url, "partner", "--partner", PARTNER),
        "reseller": make_token(url, "reseller", "--partner", PARTNER, "--reseller", RESELLER),
        "manager": make_token(
            url, "account_manager", "--partner", PARTNER, "--account-manager", manager["account_manager_id"]
        ),
    }
    with running_web(url, folder / "web.log") as base:
        yield Console(base, url, tokens, manager["account_manager_id"])


class Console:
    def __init__(self, base, url, tokens, manager):
        self.base, self.url, self.tokens, self.manager = base, url, tokens, manager


def sign_in(page, console: Console, role: str) -> None:
    page.goto(console.base + "/")
    assert "/signin" in page.url
    page.get_by_test_id("token").fill(console.tokens[role])
    page.get_by_test_id("signin").click()
    page.wait_for_url(console.base + "/")


def page_counts(page) -> dict[str, int]:
    return {key: int(page.get_by_test_id(key).inner_text()) for key in COUNT_KEYS}


def test_a_bad_token_stays_on_the_sign_in_page_with_a_message(console, new_page):
    page = new_page("en-US")
    page.goto(console.base + "/bills")
    shot(page, "01-sign-in")
    page.get_by_test_id("token").fill("bt_not-a-real-token")
    page.get_by_test_id("signin").click()
    assert page.get_by_test_id("signin-error").is_visible()
    assert "/signin" in page.url or page.url.endswith("/signin")
    shot(page, "02-sign-in-refused")


def test_a_partners_dashboard_shows_the_counts_the_cli_prints_for_each_scope(console, new_page):
    page = new_page()
    sign_in(page, console, "partner")
    page.goto(f"{console.base}/?period={PERIOD}")
    expected = billing_json(console.url, "customers", "--partner", PARTNER, "--period", PERIOD)
    assert page_counts(page) == {key: expected[key] for key in COUNT_KEYS}
    shot(page, "10-partner-dashboard-zh")
    page.select_option("select[name=reseller]", RESELLER)
    page.get_by_role("button", name="查询").click()
    scoped = billing_json(console.url, "customers", "--partner", PARTNER, "--period", PERIOD, "--reseller", RESELLER)
    assert page_counts(page) == {key: scoped[key] for key in COUNT_KEYS}
    assert page_counts(page) != {key: expected[key] for key in COUNT_KEYS}
    shot(page, "11-partner-dashboard-reseller-scope-zh")


def test_a_reseller_reads_its_scopes_dashboard_and_bills_only(console, new_page):
    page = new_page("en-US")
    sign_in(page, console, "reseller")
    page.goto(f"{console.base}/?period={PERIOD}")
    expected = billing_json(console.url, "customers", "--partner", PARTNER, "--period", PERIOD, "--reseller", RESELLER)
    assert page_counts(page) == {key: expected[key] for key in COUNT_KEYS}
    assert page.locator("input[disabled]").first.input_value() == PARTNER
    shot(page, "20-reseller-dashboard-en")
    page.goto(f"{console.base}/bills?period={PERIOD}")
    performance = billing_json(console.url, "performance", "--partner", PARTNER, "--period", PERIOD)
    mine = next(row for row in performance["by_reseller"] if row["indirect_partner_id"] == RESELLER)
    assert page.locator("[data-testid=bills] tr[data-customer]").count() == mine["customers"]
    shot(page, "21-reseller-bills-en")
    page.goto(f"{console.base}/?reseller=rs-someone-else")
    assert page.get_by_test_id("error-message").is_visible()
    shot(page, "22-reseller-other-scope-forbidden-en")


def test_the_performance_page_shows_the_cli_figures_and_a_chart_of_settled_per_period(console, new_page):
    page = new_page()
    sign_in(page, console, "partner")
    page.goto(f"{console.base}/performance?period={PERIOD}")
    expected = billing_json(console.url, "performance", "--partner", PARTNER, "--period", PERIOD)
    assert page.get_by_test_id("settled_amount").inner_text() == expected["settled_amount"]
    assert page.get_by_test_id("payable_amount").inner_text() == expected["payable_amount"]
    bar = page.locator(f"svg.chart rect[data-period='{PERIOD}']")
    assert bar.get_attribute("data-amount") == expected["settled_amount"]
    assert page.locator("[data-testid=details] tbody tr").count() == expected["customers"]
    shot(page, "12-partner-performance-zh")


def test_an_operator_reads_every_page_and_each_is_saved_as_a_screenshot(console, new_page):
    page = new_page("en-US")
    sign_in(page, console, "operator")
    shot(page, "30-operator-dashboard-en")
    page.goto(f"{console.base}/bills?period={PERIOD}")
    expected = billing_json(console.url, "bills", "--period", PERIOD)["bills"]
    first = page.locator("[data-testid=bills] tbody.bill").first
    assert first.locator("tr[data-customer]").get_attribute("data-customer") == expected[0]["customer_id"]
    first.locator("summary").click()
    shot(page, "31-operator-bills-en")
    page.goto(f"{console.base}/performance?partner={PARTNER}&period={PERIOD}")
    shot(page, "32-operator-performance-en")
    page.goto(f"{console.base}/lang/zh")
    page.goto(f"{console.base}/performance?partner={PARTNER}&period={PERIOD}")
    assert page.locator("h1").inner_text() == "业绩"
    shot(page, "33-operator-performance-zh")


def test_an_account_manager_sees_its_customers_only_and_signing_out_ends_the_session(console, new_page):
    page = new_page()
    sign_in(page, console, "manager")
    page.goto(f"{console.base}/?period={PERIOD}")
    expected = billing_json(
        console.url, "customers", "--partner", PARTNER, "--period", PERIOD, "--account-manager", console.manager
    )
    assert page_counts(page) == {key: expected[key] for key in COUNT_KEYS}
    page.goto(f"{console.base}/performance?period={PERIOD}")
    performance = billing_json(console.url, "performance", "--partner", PARTNER, "--period", PERIOD)
    mine = next(row for row in performance["by_account_manager"] if row["account_manager_id"] == console.manager)
    assert page.get_by_test_id("settled_amount").inner_text() == mine["settled_amount"]
    shot(page, "40-account-manager-performance-zh")
    page.get_by_role("button", name="退出").click()
    page.wait_for_url("**/signin")
    page.goto(f"{console.base}/bills")
    assert "/signin" in page.url
