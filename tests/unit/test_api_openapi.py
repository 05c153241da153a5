"""secdns.ops.api.openapi: the OpenAPI 3 document is valid and describes every route the API serves, and only those."""

from __future__ import annotations

import json

from openapi_spec_validator import validate

from secdns.ops.api import all_routes
from secdns.ops.api.context import Api
from secdns.ops.api.errors import CODES
from secdns.ops.api.openapi import document, document_bytes


def test_the_document_is_valid_openapi_3():
    validate(document())
    assert json.loads(document_bytes()) == document()


def _spec_path(pattern: tuple[str, ...]) -> str:
    names = {"{zone}": "{zoneNameOrId}", "{key}": "{tsigKeyId}"}
    return "/" + "/".join(names.get(part, part) for part in pattern)


def test_every_route_is_described_and_nothing_else():
    """The routes and the document's operations are the same set, with the same operationIds."""
    routes = {(_spec_path(r.pattern), r.method.lower(), r.operation) for r in all_routes(Api(lambda: None))}
    described = {
        (path, method, operation["operationId"])
        for path, operations in document()["paths"].items()
        for method, operation in operations.items()
    }
    assert routes == described


def test_every_operation_describes_its_errors():
    """Each operation has a default error answer in the {code, message} shape, whose codes are the API's."""
    for operations in document()["paths"].values():
        for operation in operations.values():
            assert operation["responses"]["default"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert set(CODES) >= {"InvalidParameter", "NotAuthenticated", "NotAuthorizedOrNotFound", "Conflict", "PreconditionFailed"}
