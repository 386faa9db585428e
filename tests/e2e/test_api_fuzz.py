"""The API fuzzed from its own OpenAPI document (schemathesis): whatever the generated
requests hold, `billing web` never answers 500, and every answer conforms to the
document (status codes, bodies). Bounded: a fixed number of examples per endpoint.

The store holds every feature's data (`tests.web_support.settle`: a closed period with
statements, accounts, a policy, subsidies, the catalogue, an authorization), and the
writes are fuzzed too: an operator's generated requests close periods, move money and
answer applications, a partner's act on its own account, a reseller's are refused."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import negative_data_rejection, positive_data_acceptance

from commands.bootstrap import open_engine
from commands.settings import Settings
from commands.tokens import create_token
from tests.web_server import running_web
from tests.web_support import NOW, settle
from web.openapi_export import CHECKED_IN

EXAMPLES_PER_ENDPOINT = 40


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    url = f"sqlite:///{folder / 'billing.db'}"
    with open_engine(Settings(store_url=url, now=NOW), create=True) as engine:
        settle(engine)
        tokens = {
            "operator": create_token(engine, "operator").token,
            "partner": create_token(engine, "partner", "p-1").token,
            "reseller": create_token(engine, "reseller", "p-1", indirect_partner_id="r-1").token,
        }
    with running_web(url, folder / "web.log") as base:
        yield base, tokens


# The checked-in document: the drift test keeps it equal to what the server serves.
schema = schemathesis.openapi.from_path(str(CHECKED_IN))
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES_PER_ENDPOINT,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def _answer_is_documented_and_no_server_error(case, base: str, token: str) -> None:
    response = case.call(base_url=base, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code < 500, (case.path, case.query, response.text)
    # Every check but two. "Schema-valid data is accepted": a schema cannot say every
    # rule (an RFC 3339 time's month is 01..12), and such a request is answered 400, as
    # it should. "Schema-violating data is rejected": in a query string every value is
    # text, so a "violating" value schemathesis makes (`deal=false` from a boolean) is a
    # valid optional id once sent, and answering it is right.
    case.validate_response(response, excluded_checks=[positive_data_acceptance, negative_data_rejection])


@schema.parametrize()
@FUZZ_SETTINGS
def test_no_generated_request_of_an_operator_gets_a_server_error_or_an_undocumented_answer(case, served):
    base, tokens = served
    _answer_is_documented_and_no_server_error(case, base, tokens["operator"])


@schema.parametrize()
@FUZZ_SETTINGS
def test_no_generated_request_of_a_reseller_gets_a_server_error_or_an_undocumented_answer(case, served):
    base, tokens = served
    _answer_is_documented_and_no_server_error(case, base, tokens["reseller"])


@schema.parametrize()
@FUZZ_SETTINGS
def test_no_generated_request_of_a_partner_gets_a_server_error_or_an_undocumented_answer(case, served):
    base, tokens = served
    _answer_is_documented_and_no_server_error(case, base, tokens["partner"])
