"""The OpenAPI 3.1 document: FastAPI's, with the quote document's JSON Schemas as components and the problem shape.

The quote request and response schemas (``prorata/schemas/*.schema.json``) are JSON Schema 2020-12, which OpenAPI
3.1 embeds as they are: their ``$defs`` become components named ``Quote.<name>``, so the cart of an account quote
and of an order is described by the very schema ``prorata quote`` documents.
"""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

from fastapi import FastAPI

from prorata.entrypoints.api.auth import reads_only

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details, with the refusal's stable code, the rule it cites and the field",
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string", "description": "urn:prorata:problem:<code>"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "description": "Stable machine code, e.g. licenses.below_assigned"},
        "rule": {"type": ["string", "null"], "description": "The rule of the product, e.g. L4"},
        "field": {"type": ["string", "null"], "description": "The field at fault, e.g. changes[0].total"},
        "errors": {
            "type": "array",
            "description": "Every field at fault, all at once (rule X4); the first is the problem's own code and field",
            "items": {
                "type": "object",
                "required": ["field", "code", "detail", "message"],
                "properties": {
                    "field": {"type": "string", "description": "e.g. sold_to.tax_id, changes[0].total"},
                    "code": {"type": "string", "description": "Stable machine code, e.g. contact.too_long"},
                    "detail": {"type": "string", "description": "The field and what is wrong with it"},
                    "message": {"type": "string"},
                    "rule": {"type": ["string", "null"]},
                    "type": {"type": "string", "description": "For request.invalid: the schema check that failed"},
                },
            },
        },
    },
}
PROBLEM_REF = "#/components/schemas/Problem"


def problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {"schema": {"$ref": PROBLEM_REF}}}}


# Every operation may answer these; the routes that charge add 402
PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: problem("No API key, or an unknown or revoked one"),
    403: problem("The key or the user may not do this (operator routes, a read-only key, rule P6)"),
    404: problem("No such account or row, or one of another account"),
    409: problem("The account's state refuses it (overdue I6, an order in progress X3 ...)"),
    422: problem("Malformed input or a refusal by a rule; `field` names where (rule X4)"),
    429: problem("The key made more requests than its rate limit allows; `Retry-After` says when to try again"),
}
TOO_LARGE = problem("The body is larger than the API reads (1 MiB); nothing was read further or changed")
NOT_JSON = problem("The body is not declared JSON (Content-Type: application/json); nothing was read or changed")
PAYMENT_FAILED: dict[int | str, dict[str, Any]] = {
    402: problem("The payment failed; nothing was changed (rules K7, K8)")
}


def _rename_refs(node: Any, prefix: str) -> Any:
    if isinstance(node, dict):
        return {
            key: (
                f"#/components/schemas/{prefix}{value.removeprefix('#/$defs/')}"
                if key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/")
                else _rename_refs(value, prefix)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rename_refs(item, prefix) for item in node]
    return node


def _embed(components: dict[str, Any], filename: str, name: str) -> None:
    schema = json.loads(files("prorata.schemas").joinpath(filename).read_text(encoding="utf-8"))
    for key in ("$schema", "$id"):  # an $id would move the base of every $ref below it
        schema.pop(key, None)
    for def_name, definition in schema.pop("$defs", {}).items():
        components[f"Quote.{def_name}"] = _rename_refs(definition, "Quote.")
    components[name] = _rename_refs(schema, "Quote.")


def install_openapi(api: FastAPI) -> None:
    generate = api.openapi

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is not None:
            return api.openapi_schema
        schema = generate()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["Problem"] = PROBLEM_SCHEMA
        _embed(components, "quote-request.schema.json", "QuoteRequest")
        _embed(components, "quote-response.schema.json", "QuoteResponse")
        for unused in ("HTTPValidationError", "ValidationError"):
            components.pop(unused, None)
        for path, item in schema.get("paths", {}).items():
            for method, operation in item.items():
                operation["x-read-only-key"] = reads_only(method, path)  # whether a read-only key may call it
                if "requestBody" in operation:  # the body limit (body_limit.py) answers before the operation
                    operation["responses"]["413"] = TOO_LARGE
                    operation["responses"]["415"] = NOT_JSON
        api.openapi_schema = schema
        return schema

    api.openapi = openapi  # type: ignore[method-assign]
