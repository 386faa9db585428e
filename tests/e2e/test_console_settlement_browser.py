"""The console's settlement pages in a real browser (CONTRACT.md §7–9, §12 over §10):
headless Chromium against `billing web` over the demo store, with a policy, subsidies,
the service catalogue, an incentive credit and an approved authorization added by the
CLI. A partner confirms a statement, disputes another, tops up and submits a payment
application; an operator approves and pays it. What the pages show and what they
record is checked against the CLI; each page is saved as a screenshot."""

from __future__ import annotations

import json

import pytest

from tests import builders as b
from tests.browser_support import require_chromium, shot
from tests.web_server import billing_json, make_token, running_web
from testsupport.cli_runner import billing as run_billing

pytestmark = pytest.mark.browser

PARTNER, RESELLER, CUSTOMER, PERIOD = "dist-huabei", "rs-bj-yunfan", "c-00003", "2026-10"
CATALOG = {
    "service_types": [
        {"service_type": "ECS", "service_type_name": "弹性云服务器", "service_type_name_en": "Elastic Cloud Server"},
        {"service_type": "EVS", "service_type_name": "云硬盘", "service_type_name_en": "Elastic Volume Service"},
        {"service_type": "OBS", "service_type_name": "对象存储服务", "service_type_name_en": "Object Storage Service"},
        {"service_type": "RDS", "service_type_name": "云数据库", "service_type_name_en": "Relational Database Service"},
        {
            "service_type": "CDN",
            "service_type_name": "内容分发网络",
            "service_type_name_en": "Content Delivery Network",
        },
        {
            "service_type": "DCS",
            "service_type_name": "分布式缓存服务",
            "service_type_name_en": "Distributed Cache Service",
        },
        {"service_type": "CodeArts", "service_type_name": "软件开发生产线", "service_type_name_en": "CodeArts"},
    ]
}
POLICY = b.incentive_policy(
    rewards=[
        b.reward("consumption", "stepped", ("0", "0.02"), ("10000", "0.03")),
        b.reward("new_enterprise", "whole", ("1", "100")),
    ]
)


def billing(url: str, *args: str) -> None:
    finished = run_billing(None, "--store", url, *args, timeout=120)
    assert finished.returncode == 0, finished.stderr.decode()


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    """`billing web` over a demo store with §8, §9 and §12 data added by the CLI."""
    require_chromium()
    folder = tmp_path_factory.mktemp("settlement")
    url = f"sqlite:///{folder / 'billing.db'}"
    billing(url, "demo", "--customers", "150", "--out", str(folder / "demo.jsonl"))
    (folder / "catalog.json").write_text(json.dumps(CATALOG, ensure_ascii=False))
    (folder / "policy.json").write_text(json.dumps(POLICY))
    billing(url, "catalog", "load", str(folder / "catalog.json"))
    billing(url, "incentives", "load", str(folder / "policy.json"))
    billing(url, "transfer", "incentive", "--partner", PARTNER, "--amount", "5000.00", "--id", "inc-2026q3")
    billing(url, "transfer", "topup", "--partner", PARTNER, "--amount", "100000.00", "--id", "bank-0001")
    billing(url, "warn", "--partner", PARTNER, "--below", "1000")
    for milestone, planned in (("m-1", "2026-09-15"), ("m-2", "2026-10-20"), ("m-3", "2026-12-01")):
        billing(
            url,
            "subsidy",
            "plan",
            "--partner",
            PARTNER,
            "--deal",
            "deal-huabei-01",
            "--milestone",
            milestone,
            "--planned",
            planned,
            "--amount",
            "20000.00",
        )
    billing(url, "subsidy", "deliver", "--deal", "deal-huabei-01", "--milestone", "m-1", "--delivered", "2026-10-16")
    billing(url, "subsidy", "deliver", "--deal", "deal-huabei-01", "--milestone", "m-2", "--delivered", "2026-10-20")
    billing(
        url,
        "authorization",
        "request",
        "--partner",
        PARTNER,
        "--customer",
        CUSTOMER,
        "--reseller",
        RESELLER,
        "--id",
        "auth-0001",
    )
    billing(url, "authorization", "approve", "--id", "auth-0001")
    tokens = {"operator": make_token(url, "operator"), "partner": make_token(url, "partner", "--partner", PARTNER)}
    with running_web(url, folder / "web.log") as base:
        yield Console(base, url, tokens)


class Console:
    def __init__(self, base, url, tokens):
        self.base, self.url, self.tokens = base, url, tokens

    def cli(self, *args: str):
        return billing_json(self.url, *args)


def sign_in(page, console: Console, role: str) -> None:
    page.goto(console.base + "/signin")
    page.get_by_test_id("token").fill(console.tokens[role])
    page.get_by_test_id("signin").click()
    page.wait_for_url(console.base + "/")


def notice(page) -> str:
    return page.get_by_test_id("notice").inner_text()


def test_a_partner_confirms_its_statement_and_the_cli_reads_it_confirmed(console, new_page):
    page = new_page()
    sign_in(page, console, "partner")
    page.click("[data-nav=statements]")
    page.select_option("select[name=status]", "pending_confirmation")
    page.get_by_role("button", name="查询").click()
    page.wait_for_url("**status=pending_confirmation**")
    listed = console.cli("statements", "--partner", PARTNER, "--status", "pending_confirmation")["statements"]
    assert page.locator("[data-testid=statements] tbody tr").count() == len(listed)
    shot(page, "50-partner-statements-zh")
    page.get_by_test_id(f"open-{PARTNER}-{PERIOD}").click()
    expected = console.cli("statement", "--partner", PARTNER, "--period", PERIOD)
    assert page.get_by_test_id("total_settled_amount").inner_text() == expected["total_settled_amount"]
    shot(page, "51-partner-statement-pending-zh")
    page.get_by_test_id("confirm").click()
    page.wait_for_url(f"**/statements/{PARTNER}/{PERIOD}?done=statement_confirmed")
    assert notice(page) == "已确认对账单"
    assert page.locator("h1 .badge").get_attribute("data-status") == "confirmed"
    assert page.get_by_test_id("confirm").count() == 0
    shot(page, "52-partner-statement-confirmed-zh")
    confirmed = console.cli("statement", "--partner", PARTNER, "--period", PERIOD)
    assert [step["status"] for step in confirmed["history"]] == ["pending_confirmation", "confirmed"]
    account = console.cli("account", "--partner", PARTNER)
    assert float(account["prepaid"]["balance"]) == pytest.approx(100000 - float(expected["total_settled_amount"]))


def test_a_partner_disputes_a_statement_with_a_reason(console, new_page):
    earlier = next(
        s
        for s in console.cli("statements", "--partner", PARTNER)["statements"]
        if s["status"] == "pending_confirmation"
    )
    page = new_page("en-US")
    sign_in(page, console, "partner")
    page.goto(f"{console.base}/statements/{PARTNER}/{earlier['period']}")
    page.get_by_test_id("dispute-reason").fill("Customer c-00001 left us before this month")
    page.get_by_test_id("dispute").click()
    page.wait_for_url("**?done=statement_disputed")
    assert (
        page.locator("[data-testid=history] tbody tr")
        .last.inner_text()
        .endswith("Customer c-00001 left us before this month")
    )
    shot(page, "53-partner-statement-disputed-en")
    assert console.cli("statement", "--partner", PARTNER, "--period", earlier["period"])["status"] == "disputed"


def test_a_partner_tops_up_its_account_and_sees_the_balance_the_cli_reads(console, new_page):
    page = new_page()
    sign_in(page, console, "partner")
    page.click("[data-nav=account]")
    before = console.cli("account", "--partner", PARTNER)["prepaid"]["available"]
    shot(page, "60-partner-account-zh")
    page.get_by_test_id("topup-amount").fill("1234.56")
    page.get_by_test_id("topup-submit").click()
    page.wait_for_url("**done=topup_recorded")
    after = console.cli("account", "--partner", PARTNER)["prepaid"]
    assert float(after["available"]) == pytest.approx(float(before) + 1234.56)
    assert page.get_by_test_id("prepaid-available").inner_text() == after["available"]
    assert page.locator("[data-testid=transfers] tbody tr").first.locator("td.num").inner_text() == "1234.56"
    shot(page, "61-partner-account-topped-up-zh")
    page.get_by_test_id("withdrawal-amount").fill("99999999")
    page.get_by_test_id("withdrawal-submit").click()
    assert page.get_by_test_id("problem").inner_text().startswith("insufficient_funds")
    shot(page, "62-partner-withdrawal-refused-zh")


def test_a_partner_submits_a_payment_application_and_an_operator_approves_and_pays_it(console, new_page):
    page = new_page()
    sign_in(page, console, "partner")
    page.click("[data-nav=payments]")
    page.get_by_test_id("payment-amount").fill("800.00")
    page.get_by_test_id("payment-id").fill("pay-web-0001")
    page.get_by_test_id("payment-submit").click()
    page.wait_for_url("**done=payment_submitted")
    assert page.get_by_test_id("incentive-available").inner_text() == "4200.00"
    shot(page, "70-partner-payment-submitted-zh")
    review = new_page("en-US")
    sign_in(review, console, "operator")
    review.goto(f"{console.base}/payments?status=under_review")
    shot(review, "71-operator-payments-review-en")
    review.get_by_test_id("approve-pay-web-0001").click()
    review.wait_for_url("**done=payment_approve")
    assert console.cli("payments", "--partner", PARTNER)["payments"][0]["status"] == "approved"
    review.get_by_test_id("pay-pay-web-0001").click()
    review.wait_for_url("**done=payment_pay")
    shot(review, "72-operator-payment-paid-en")
    payment = console.cli("payments", "--partner", PARTNER)["payments"][0]
    assert [step["status"] for step in payment["history"]] == ["under_review", "approved", "paid"]


def test_the_incentive_dashboard_shows_the_clis_report_and_a_supervisors_breakdown(console, new_page):
    page = new_page()
    sign_in(page, console, "partner")
    page.goto(f"{console.base}/incentives?period={PERIOD}")
    report = console.cli("incentives", "--partner", PARTNER, "--period", PERIOD)
    assert page.get_by_test_id("incentive-total").inner_text() == report["total"]
    assert page.locator("[data-testid=breakdown] tbody tr").count() >= 1
    shot(page, "80-partner-incentives-zh")
    supervisor = page.locator("[data-testid=breakdown] tbody tr").first.get_attribute("data-scope")
    page.locator("[data-testid=breakdown] tbody tr a").first.click()
    scoped = console.cli("incentives", "--partner", PARTNER, "--period", PERIOD, "--supervisor", supervisor)
    assert page.get_by_test_id("incentive-total").inner_text() == scoped["total"]
    shot(page, "81-partner-incentives-supervisor-zh")


def test_subsidies_resources_and_the_operators_pages_are_saved_as_screenshots(console, new_page):
    page = new_page()
    sign_in(page, console, "partner")
    page.click("[data-nav=subsidies]")
    payable = {s["milestone"]: s["payable_amount"] for s in console.cli("subsidies", "--partner", PARTNER)["subsidies"]}
    assert page.locator("tr[data-milestone=m-1] [data-testid=payable]").inner_text() == payable["m-1"]
    shot(page, "90-partner-subsidies-zh")
    page.goto(f"{console.base}/resources?customer={CUSTOMER}&reseller={RESELLER}")
    resources = console.cli("resources", "--customer", CUSTOMER)["resources"]
    assert page.locator("[data-testid=resources] tbody tr").count() == len(resources)
    assert "弹性云服务器" in page.locator("[data-testid=resources]").inner_text()
    shot(page, "91-partner-resources-zh")
    page.get_by_test_id("authorization-customer").fill("c-00001")
    page.get_by_test_id("authorization-reseller").fill(RESELLER)
    page.get_by_test_id("authorization-submit").click()
    page.wait_for_url("**done=authorization_requested")
    shot(page, "92-partner-authorization-requested-zh")
    operator = new_page("en-US")
    sign_in(operator, console, "operator")
    for path, name in (
        (f"/statements?partner={PARTNER}", "93-operator-statements-en"),
        (f"/account?partner={PARTNER}", "94-operator-account-ledger-en"),
        (f"/incentives?partner={PARTNER}&period={PERIOD}", "95-operator-incentives-en"),
        ("/resources?customer=c-00001", "96-operator-resources-en"),
    ):
        operator.goto(console.base + path)
        assert operator.locator("h1").count() == 1
        shot(operator, name)
    operator.goto(f"{console.base}/bills?period={PERIOD}&customer={CUSTOMER}")
    operator.locator("[data-testid=bills] summary").first.click()
    assert "Elastic Cloud Server" in operator.locator("table.lines").first.inner_text()
    shot(operator, "97-operator-bill-lines-with-names-en")
    assert operator.get_by_test_id("ledger-total").count() == 0  # on the account page only
    operator.goto(f"{console.base}/account?partner={PARTNER}")
    assert operator.get_by_test_id("ledger-total").inner_text() == console.cli("ledger")["total"]
