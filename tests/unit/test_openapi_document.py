"""The API's OpenAPI document is checked in (schemas/openapi.json) and never drifts."""

from __future__ import annotations

import json

from web import openapi_export


def test_the_checked_in_openapi_document_equals_what_the_routes_give():
    assert openapi_export.CHECKED_IN.read_bytes() == openapi_export.generate(), (
        "schemas/openapi.json is stale: run python -m web.openapi_export"
    )


def test_check_exits_1_for_a_stale_copy_and_0_for_a_fresh_one(tmp_path):
    stale = tmp_path / "openapi.json"
    stale.write_text("{}\n")
    assert openapi_export.main(["--check", "--path", str(stale)]) == 1
    assert openapi_export.main(["--path", str(stale)]) == 0
    assert openapi_export.main(["--check", "--path", str(stale)]) == 0


def test_every_endpoint_answers_errors_in_the_error_shape_and_needs_a_bearer_token():
    document = json.loads(openapi_export.generate())
    assert document["components"]["securitySchemes"]["bearer"] == {"scheme": "bearer", "type": "http"}
    assert document["security"] == [{"bearer": []}]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            statuses = ("400", "401", "403", "409") if method != "get" else ("400", "401", "403")
            for status in statuses:
                assert responses[status]["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/ErrorBody"
                }, (path, method, status)


def test_every_write_documents_its_body_and_a_repeatable_one_answers_201_or_200():
    document = json.loads(openapi_export.generate())
    paths = document["paths"]
    for path in ("/api/v1/transfers", "/api/v1/payments", "/api/v1/authorizations"):
        responses = paths[path]["post"]["responses"]
        assert responses["201"]["content"] == responses["200"]["content"], path
        assert paths[path]["post"]["requestBody"]["required"] is True
    assert "requestBody" in paths["/api/v1/accounts/{partner}/warning"]["put"]
    assert "requestBody" not in paths["/api/v1/statements/{partner}/{period}/confirm"]["post"]
