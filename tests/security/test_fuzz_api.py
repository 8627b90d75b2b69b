"""Generated input against every operation of the REST API (rule X4), on SQLite and PostgreSQL: no answer is a server
error, every refusal is problem+json naming its code, and a refused request changes nothing in the database.

The operations are read from the app's own OpenAPI document, so an operation added later is fuzzed without editing
this file. Each request is built from the document's schemas (path and query parameters, headers, the JSON body) as a
client would build it, with the ids of rows that exist, and then some of its values are made hostile: out-of-range
and negative integers, NUL and other control characters, lone surrogates, very long strings, wrong types, missing and
unknown fields. Each request is sent with an operator key and with an account's key.

``tests/e2e/test_api_schema.py`` checks with schemathesis that the answers match the document. This test needs the
hostile values inside otherwise well-formed requests, so that they get past the first check and reach the services
and the database; a small generator over the document's schemas (``$ref``, ``oneOf``/``anyOf``, the quote document's
``if``/``then`` branches) gives that control.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, Table, select

from prorata.adapters.db.schema import (
    accounts,
    invoices,
    metadata,
    payment_methods,
    subscriptions,
    users,
)
from prorata.entrypoints.api.body_limit import LARGER
from tests.e2e.api_client import TERMS, Api

EXAMPLES = int(os.environ.get("PRORATA_FUZZ_EXAMPLES", "100"))
PROBLEM_JSON = "application/problem+json"
# a declined payment records its attempt and the answer to its Idempotency-Key (rules K7, X3), though what the account
# holds stays as it was (tests/e2e/test_api_orders.py); every other refusal changes nothing at all
CHANGED_WHEN_REFUSED = {402}
ROWS_OF = {"account_id": accounts, "invoice_id": invoices, "subscription_id": subscriptions, "user_id": users,
           "payment_method_id": payment_methods}  # fmt: skip

# ------------------------------------------------------------------------------------------------- hostile values
HOSTILE_TEXT = [
    "", " ", "0", "-1", "1e3", "NaN", "null", "true", "9" * 40, "\x00", "a\x00b", "\x1b[31m", "line\nbreak", "\t",
    "\u202eevil", "\ufeff", "\ud800", "😀" * 50, "ą" * 1000, "x" * 100_000, "' OR 1=1 --", "<script>x</script>",
    "../../etc/passwd", "2026-02-30T00:00:00Z", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59+23:59",
    "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00",  # valid, but outside the calendar in UTC
    "2026-11-15T10:00:00", "2026-11-15", "99999-01-01", "Mars/Olympus", "default", "business", "pro",
]  # fmt: skip
HOSTILE_NUMBERS = [0, -1, 1.5, -0.0, 1e308, -1e308, 2**31, 2**53 + 1, 2**63 - 1, 2**63, -(2**63) - 1, 2**64, 10**40,
                   -(10**40), float("nan"), float("inf")]  # fmt: skip
HOSTILE = st.one_of(
    st.sampled_from(HOSTILE_TEXT),
    st.sampled_from(HOSTILE_NUMBERS),
    st.sampled_from([True, False, None, [], {}, [None], {"": None}, [[[[[]]]]]]),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.text(max_size=30),
    st.text(alphabet=st.characters(max_codepoint=0x1F), min_size=1, max_size=5),
)  # fmt: skip
# in a URL, whose length a client limits: the long texts shortened
IN_URL = st.one_of(st.sampled_from([text[:2000] for text in HOSTILE_TEXT]), st.sampled_from(HOSTILE_NUMBERS).map(str),
                   st.text(max_size=30))  # fmt: skip
# a path segment as a client may send it: an id out of range, not a number, or not text at all
SEGMENTS = st.one_of(
    st.sampled_from(["0", "-1", "+1", " 1", "1.0", "1e3", "0x10", "٣", "１", "²", "9" * 40, str(2**63 - 1),
                     str(2**63), str(-(2**63) - 1), "null", "\x00", "..", "a/b",
                     "%"]),  # "%": sent as bytes that are not UTF-8 (NOT_UTF8)
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.text(alphabet=st.characters(exclude_categories=("Cs",)), min_size=1, max_size=30),
)  # fmt: skip
HEADER_VALUES = st.one_of(
    st.sampled_from(["", " ", "a b", "x" * 101, "\x00", "\x7f", "key\tkey"]),
    st.text(min_size=1, max_size=20).map(str.encode),  # any bytes a client may send as UTF-8
)


JSON_TYPES: dict[str, type] = {"string": str, "integer": int, "number": float, "boolean": bool, "array": list,
                               "object": dict}  # fmt: skip


def encoded(value: str) -> str:
    """Percent-encoded UTF-8, dots too (``..`` must reach the API as a value, not leave /api/v1 as a dot segment); a
    lone surrogate goes as the bytes a careless encoder writes for it, which are not UTF-8."""
    return quote(value.encode("utf-8", "surrogatepass"), safe="").replace(".", "%2E")


# bytes that are not UTF-8 in a path segment
NOT_UTF8 = st.sampled_from(["%FF", "%C0%AF", "%ED%A0%80", "%00"])


# ------------------------------------------------------------------------------------- values from the schemas
@dataclass
class Schemas:
    """Strategies for the values the document's schemas describe, with words and ids that reach past the checks."""

    components: dict[str, Any]
    words: dict[str, list[Any]] = field(default_factory=dict)
    made: dict[str, st.SearchStrategy[Any]] = field(default_factory=dict)

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            target = self.components[schema["$ref"].rsplit("/", 1)[1]]
            schema = {**target, **{key: value for key, value in schema.items() if key != "$ref"}}
        return schema

    def merge(self, *parts: dict[str, Any]) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for part in parts:
            part = self.resolve(part)
            for key, value in part.items():
                if key == "properties":
                    props = dict(merged.get("properties", {}))
                    for name, sub in value.items():
                        props[name] = {**self.resolve(props.get(name, {})), **self.resolve(sub)}
                    merged["properties"] = props
                elif key == "required":
                    merged["required"] = sorted({*merged.get("required", []), *value})
                else:
                    merged[key] = value
        return merged

    def values(self, schema: dict[str, Any], name: str = "") -> st.SearchStrategy[Any]:
        """Built once for each schema and name: a request is drawn from the same strategies every time."""
        key = json.dumps([schema, name], sort_keys=True)
        if key not in self.made:
            self.made[key] = self._values(schema, name)
        return self.made[key]

    def _values(self, schema: dict[str, Any], name: str) -> st.SearchStrategy[Any]:
        component = str(schema.get("$ref", "")).rsplit("/", 1)[-1]
        schema = self.resolve(schema)
        drawn = self._from_schema(schema, name)
        kind = JSON_TYPES.get(str(schema.get("type")))
        # a body's words are whole requests known to be accepted, under the schema's title: its hostile values then
        # sit inside a request that gets past every other check
        said = self.words.get(name or component or str(schema.get("title", "")), [])
        known = [word for word in said if kind is not None and type(word) is kind]
        return st.one_of(st.sampled_from(known), drawn) if known else drawn

    def _from_schema(self, schema: dict[str, Any], name: str) -> st.SearchStrategy[Any]:
        if "const" in schema:
            return st.just(schema["const"])
        if "enum" in schema:
            return st.sampled_from(schema["enum"])
        for key in ("oneOf", "anyOf"):
            if key in schema:
                base = {k: v for k, v in schema.items() if k not in (key, "discriminator")}
                return st.one_of([self.values(self.merge(base, option), name) for option in schema[key]])
        if any("then" in part for part in schema.get("allOf", [])):
            # the quote document's "if the type is X then the schema of X": one branch, with its condition
            base = {k: v for k, v in schema.items() if k != "allOf"}
            branches = [self.merge(base, part.get("if", {}), part["then"]) for part in schema["allOf"]]
            return st.one_of([self.values(branch, name) for branch in branches])
        kind = schema.get("type")
        if isinstance(kind, list):
            return st.one_of([self.values({**schema, "type": one}, name) for one in kind])
        if kind == "object" or "properties" in schema:
            return self.objects(schema)
        if kind == "array":
            low = int(schema.get("minItems", 0))
            high = min(int(schema.get("maxItems", low + 3)), low + 3)
            return st.lists(self.values(schema.get("items", {}), name), min_size=low, max_size=high)
        if kind == "string":
            return self.strings(schema, name)
        if kind == "integer":
            low = int(schema.get("minimum", -3))
            high = int(schema.get("maximum", schema.get("exclusiveMaximum", low + 1_000_001) - 1))
            near = st.integers(min_value=low, max_value=min(high, low + 12))
            return st.one_of(near, st.sampled_from([low, high]))
        if kind == "number":
            low = float(schema.get("minimum", -1e6))
            high = float(schema.get("maximum", 1e6))
            return st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False)
        if kind == "boolean":
            return st.booleans()
        if kind == "null":
            return st.none()
        return st.one_of(st.none(), st.booleans(), st.integers(-3, 12), st.text(max_size=10))  # any JSON value

    def objects(self, schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
        properties = schema.get("properties", {})
        required = set(schema.get("required", []))
        extra = schema.get("additionalProperties")
        if not properties and isinstance(extra, dict):  # a map, e.g. an inline catalog's products by code
            keys = st.sampled_from(self.words.get("product", ["x"])) | st.text(min_size=1, max_size=10)
            low = int(schema.get("minProperties", 0))
            return st.dictionaries(keys, self.values(extra), min_size=low, max_size=low + 2)
        return st.fixed_dictionaries(
            {key: self.values(sub, key) for key, sub in properties.items() if key in required},
            optional={key: self.values(sub, key) for key, sub in properties.items() if key not in required},
        )

    def strings(self, schema: dict[str, Any], name: str) -> st.SearchStrategy[str]:
        low = int(schema.get("minLength", 0))
        high = int(schema.get("maxLength", 40))
        options: list[st.SearchStrategy[str]] = []
        if schema.get("examples"):
            options.append(st.sampled_from(schema["examples"]))
        if "pattern" in schema:
            pattern = st.from_regex(schema["pattern"], fullmatch=True)
            options.append(pattern.filter(lambda text: low <= len(text) <= high))
        else:
            options.append(st.text(min_size=low, max_size=min(high, low + 20)))
        return st.one_of(options)


# -------------------------------------------------------------------------------------------------- mutations
def places(value: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a JSON value, the value itself first."""
    yield at
    if isinstance(value, dict):
        for key, item in value.items():
            yield from places(item, (*at, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from places(item, (*at, index))


def put(value: Any, at: tuple[Any, ...], new: Any) -> Any:
    if not at:
        return new
    parent = value
    for step in at[:-1]:
        parent = parent[step]
    parent[at[-1]] = new
    return value


def made_hostile(data: st.DataObject, body: Any) -> Any:
    """The body with up to three of its values made hostile: replaced, left out, or joined by an unknown field."""
    body = copy.deepcopy(body)
    for _ in range(data.draw(st.integers(min_value=0, max_value=3), label="mutations")):
        where = list(places(body))
        how = data.draw(st.sampled_from(["replace", "leave out", "add"]), label="how")
        at = data.draw(st.sampled_from(where), label="at")
        parent = body
        for step in at:
            parent = parent[step]
        if how == "leave out" and isinstance(parent, dict) and parent:
            del parent[data.draw(st.sampled_from(sorted(parent)), label="left out")]
        elif how == "add" and isinstance(parent, dict):
            name = data.draw(st.sampled_from(["", "id", "\x00", "ą" * 3]) | st.text(max_size=8), label="unknown")
            parent[name] = copy.deepcopy(data.draw(HOSTILE, label="hostile"))
        else:  # a copy: the next mutation may change what it put
            body = put(body, at, copy.deepcopy(data.draw(HOSTILE, label="hostile")))
    return body


# ----------------------------------------------------------------------------------------------- the database
def fingerprint(engine: Engine) -> dict[str, tuple[int, str]]:
    """Each table's row count and a hash of its rows in key order: names the table that changed. This runs after
    every refusal, so it is one statement: on PostgreSQL each table's rows are hashed by the server (``md5`` of the
    rows as text, in key order); on SQLite, in process, the rows are read as the driver returns them, which costs a
    third of reading them through SQLAlchemy's result processing."""
    with engine.connect() as conn:
        cursor = conn.connection.cursor()
        cursor.execute(statement(engine))
        if engine.dialect.name == "postgresql":
            found = {table: (int(count), digest) for table, count, digest in cursor.fetchall()}
        else:
            rows: dict[str, list[tuple[Any, ...]]] = {table.name: [] for table in metadata.sorted_tables}
            for row in cursor.fetchall():
                rows[row[0]].append(row[2:])
            found = {table: (len(held), hashlib.sha256(repr(held).encode()).hexdigest()[:16])
                     for table, held in rows.items()}  # fmt: skip
        cursor.close()
    return found


_STATEMENTS: dict[str, str] = {}


def statement(engine: Engine) -> str:
    """Every table in one ``UNION ALL``: per table its name, row count and digest on PostgreSQL; its rows, each
    tagged with its table and position, on SQLite (whose rows differ in width, so each is its columns quoted)."""
    name = engine.dialect.name
    if name not in _STATEMENTS:
        parts = []
        q = engine.dialect.identifier_preparer.quote
        for position, table in enumerate(metadata.sorted_tables):
            keys = ", ".join(f"t.{q(column.name)}" for column in table.primary_key.columns)
            if name == "postgresql":
                parts.append(f"SELECT '{table.name}', count(*), coalesce(md5(string_agg(CAST(t AS TEXT), chr(10) "
                             f"ORDER BY {keys})), '') FROM {q(table.name)} AS t")  # fmt: skip
            else:
                columns = " || ',' || ".join(f"quote(t.{q(column.name)})" for column in table.columns)
                parts.append(f"SELECT * FROM (SELECT '{table.name}', {position}, {columns} FROM {q(table.name)} AS t "
                             f"ORDER BY {keys})")  # fmt: skip
        _STATEMENTS[name] = "\nUNION ALL ".join(parts)
    return _STATEMENTS[name]


def ids(engine: Engine, table: Table) -> list[int]:
    with engine.connect() as conn:
        return [int(row_id) for row_id in conn.execute(select(table.c.id).order_by(table.c.id)).scalars()]


# ------------------------------------------------------------------------------------------------- the requests
@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    spec: dict[str, Any]

    @property
    def examples(self) -> int:
        """Its share of ``EXAMPLES``: a body takes most (its fields are where services are reached), a parameter a
        twentieth; an operation with nothing to generate (only the keys vary) two."""
        share = len(self.spec.get("parameters", [])) * EXAMPLES // 20 + (EXAMPLES * 2 // 5 if self.body else 0)
        return max(2, share)

    @property
    def body(self) -> dict[str, Any] | None:
        content = self.spec.get("requestBody", {}).get("content", {})
        found = content.get("application/json")
        return None if found is None else dict(found.get("schema", {}))


@dataclass(frozen=True)
class Call:
    method: str
    url: str
    query: str
    headers: dict[str, str | bytes]
    content: bytes | None

    def __str__(self) -> str:
        shown = (self.content or b"")[:600]
        return f"{self.method} {self.url}?{self.query} headers={self.headers!r} body={shown!r}"


def operations(document: dict[str, Any]) -> list[Operation]:
    return [
        Operation(method.upper(), "/api/v1" + path, spec)
        for path, item in sorted(document["paths"].items())
        for method, spec in sorted(item.items())
        if method in {"get", "put", "post", "patch", "delete"}
    ]


def call(data: st.DataObject, operation: Operation, schemas: Schemas) -> Call:
    url = operation.path
    params: list[tuple[str, str]] = []
    headers: dict[str, str | bytes] = {}
    for parameter in operation.spec.get("parameters", []):
        name, place, schema = parameter["name"], parameter["in"], parameter.get("schema", {})
        hostile = data.draw(st.integers(min_value=0, max_value=3), label=f"{name} hostile") == 0
        if place == "path":
            known = [str(row_id) for row_id in schemas.words.get(name, [])]
            value = data.draw(
                SEGMENTS if hostile else (st.sampled_from(known) if known else schemas.values(schema, name).map(str)),
                label=name,
            )
            url = url.replace("{" + name + "}", data.draw(NOT_UTF8) if value == "%" else encoded(value))
        elif place == "query":
            if not data.draw(st.booleans(), label=f"{name} given"):
                continue
            drawn = IN_URL if hostile else schemas.values(schema, name)
            value = data.draw(drawn, label=name)
            if value is not None:
                params.append((name, json.dumps(value) if isinstance(value, (list, dict, bool)) else str(value)))
        elif place == "header":
            if hostile:
                headers[name] = data.draw(HEADER_VALUES, label=name)
            elif parameter.get("required") or data.draw(st.booleans(), label=f"{name} given"):
                headers[name] = data.draw(schemas.values(schema, name), label=name)
    if data.draw(st.integers(min_value=0, max_value=5), label="unknown query") == 0:
        unknown = data.draw(st.text(min_size=1, max_size=8), label="unknown name")
        params.append((unknown, data.draw(IN_URL, label="unknown value")))
    content = None
    if operation.body is not None:
        body = made_hostile(data, data.draw(schemas.values(operation.body), label="body"))
        # Python's JSON: NaN and Infinity as tokens, a lone surrogate as \ud800, as a careless client may send them
        content = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    query = "&".join(f"{encoded(name)}={encoded(value)}" for name, value in params)
    return Call(operation.method, url, query, headers, content)


# ---------------------------------------------------------------------------------------------------- the test
@dataclass
class Seeded:
    client: TestClient
    engine: Engine
    keys: dict[str, dict[str, str]]
    schemas: Schemas
    operations: list[Operation]
    state: dict[str, tuple[int, str]] | None = None  # the database as last fingerprinted, while nothing changed it


@pytest.fixture(autouse=True)
def no_rate_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two keys send thousands of requests in a minute here: past the default limit of 600 a minute, the operations
    fuzzed last would be answered 429 only and never reach their checks. The limit has tests of its own
    (``test_api_keys.py``)."""
    monkeypatch.setenv("PRORATA_API_RATE_LIMIT", "off")


@pytest.fixture
def seeded(api: Api) -> Seeded:
    """Two accounts with plans, users, cards, an invoice and an assigned license; an operator key and acme's."""
    acme = api.open_account("acme")
    api.open_account("globex")
    assert acme.order({"type": "change_plan", "product": "pro", "licenses": 2}, key="buy").status_code == 201
    member = acme.add_user("member@acme.test")
    subscription = acme.get("/subscriptions").json()[0]["id"]
    assigned = api.client.put(f"{acme.url}/subscriptions/{subscription}/users/{member}", headers=acme.headers)
    assert assigned.status_code == 204, assigned.text
    acme.add_card("5555555555554444")  # a second saved method, which may become the backup (rule BM1)
    welcome = {"code": "WELCOME20", "duration": "repeating", "periods": 3, "percent": "20"}  # rules DC1, DC2
    created = api.client.post("/api/v1/discount-codes", json=welcome, headers={**api.operator, "Idempotency-Key": "w"})
    assert created.status_code == 201, created.text
    # the app under test answers a server error as the server would, rather than raising it into the test
    client = TestClient(api.client.app, raise_server_exceptions=False)
    document = client.get("/api/v1/openapi.json").json()
    engine = api.app.engine
    words: dict[str, list[Any]] = {name: ids(engine, table) for name, table in ROWS_OF.items()}
    # the words that get a request past the first check, by field name (used where the field's type is theirs)
    words["user"] = words["user_id"]
    words["invoice_ids"] = [words["invoice_id"], *([row_id] for row_id in words["invoice_id"])]
    words["subscription"] = [str(row_id) for row_id in words["subscription_id"]]
    words["product"] = sorted(api.app.catalog.products)
    words["until"] = words["since"] = ["2026-11-15", "2026-11-15T10:00:00Z", "2026-12-16T00:00:00+01:00"]
    for instant in ("at", "period_start", "period_end", "anchor", "effective", "start", "end"):
        words[instant] = ["2026-11-15T10:00:00Z", "2026-11-15T00:00:00Z", "2026-12-15T00:00:00Z"]
    words["account"] = ["acme", "globex", "initech"]
    words["code"] = [*words["account"], "WELCOME20", "welcome20"]  # an account's code, or a discount code (DC2)
    words["currency"], words["country"] = ["USD", "PLN"], ["US", "PL"]
    words["time_zone"] = ["UTC", "Europe/Warsaw"]
    words["licenses"] = words["total"] = words["quantity"] = [2, 3, 10]
    words["terms_accepted"], words["terms_version"] = [True], ["2026-01"]
    words["card_number"] = ["4242424242424242", "4000 0000 0000 0002"]
    words["exp_month"], words["exp_year"] = [12], [2030]
    words["email"] = words["paypal_email"] = ["new@acme.test", "owner@acme.test"]
    cart = [{"type": "set_licenses", "total": 3}], [{"type": "add_addon", "product": "large_meetings_500"}]
    # the quotes' carts are not the orders', which the orders before them may have placed already
    words["CartIn"] = [{"changes": [{"type": "set_licenses", "total": 7}]},
                       {"changes": [{"type": "change_plan", "product": "business", "licenses": 10}]}]  # fmt: skip
    words["OrderIn"] = [{"changes": changes, **TERMS} for changes in cart]
    at, plan = "2026-11-15T10:00:00Z", {"type": "change_plan", "product": "pro", "licenses": 2}
    words["QuoteRequest"] = [{"account": {"currency": "USD"}, "at": at, "changes": [plan]}]
    contact = {"name": "Ada", "email": "ada@acme.test", "address_line1": "1 Main St", "city": "Kraków",
               "postal_code": "30-001", "country": "PL"}  # fmt: skip
    words["ContactsIn"] = [{"sold_to": contact}, {"sold_to": contact, "bill_to": {**contact, "name": "Bob"}}]
    words["CardIn"] = [{"kind": "card", "card_number": "4242424242424242", "exp_month": 12, "exp_year": 2030}]
    words["PayPalIn"] = [{"kind": "paypal", "paypal_email": "ada@acme.test"}]
    words["AccountIn"] = [{"code": "initech", "name": "Initech", "currency": "PLN", "time_zone": "Europe/Warsaw",
                           "country": "PL"}]  # fmt: skip
    words["UserIn"] = [{"email": "new@acme.test", "name": "New", "role": "admin"}]
    words["BillingRunIn"] = [{"until": "2026-11-15"}, {"until": "2026-12-20", "bill_in_advance": True, "wait": 1}]
    words["VerificationIn"] = [{"account": "acme"}, {"since": "2026-11-01"}]
    # rules DC1, DC2: codes as an operator creates them, and the one seeded, entered by an account or with its order
    words["DiscountCodeIn"] = [{"code": "SPRING", "duration": "once", "percent": "12.5"},
                               {"code": "FIVE-OFF", "duration": "repeating", "periods": 3, "amounts": {"USD": 500},
                                "products": ["pro"], "expires_at": "2027-01-31", "max_redemptions": 5}]  # fmt: skip
    words["RedeemIn"] = [{"code": "WELCOME20"}]
    words["discount_code"] = ["WELCOME20", "welcome20"]
    words["percent"], words["periods"], words["max_redemptions"] = ["20", "12.5"], [1, 3], [1, 100]
    words["amounts"], words["products"] = [{"USD": 500, "PLN": 2000}], [["pro"], []]
    words["expires_at"] = ["2027-01-31", "2027-01-31T00:00:00Z"]
    words["NoticeAddressesIn"] = [{"addresses": ["billing@acme.test", "archive@acme.test"]}, {"addresses": []}]
    schemas = Schemas(document["components"]["schemas"], words)
    return Seeded(client, engine, {"operator": api.operator, "account": acme.headers}, schemas, operations(document))


def assert_answered_within_the_rules(seeded: Seeded, request: Call, who: str) -> int:
    before = seeded.state if seeded.state is not None else fingerprint(seeded.engine)
    answer = seeded.client.request(
        request.method, f"{request.url}?{request.query}" if request.query else request.url, content=request.content,
        headers={**request.headers, **seeded.keys[who]},
    )  # fmt: skip
    where = f"{request} as {who} -> {answer.status_code} {answer.text[:300]}"
    assert answer.status_code < 500, where
    seeded.state = None  # an accepted request may have changed anything
    if 400 <= answer.status_code < 500:
        assert answer.headers["content-type"] == PROBLEM_JSON, where
        problem = answer.json()
        assert isinstance(problem.get("code"), str), where
        assert problem["code"], where
        assert problem["status"] == answer.status_code, where
        if answer.status_code not in CHANGED_WHEN_REFUSED:
            after = fingerprint(seeded.engine)
            changed = sorted(name for name in after if after[name] != before[name])
            if request.url.startswith("/api/v1/express-pay"):
                # rule EP1: every try is counted before anything is looked up, a refused one too, as sign-in counts
                changed = [name for name in changed if name != "sign_in_throttle"]
            assert not changed, f"{where}: refused, but changed {changed}"
            seeded.state = after
    return answer.status_code


def fuzz(seeded: Seeded, operation: Operation, answered: dict[str, set[int]]) -> None:
    statuses = answered.setdefault(f"{operation.method} {operation.path}", set())

    @settings(max_examples=operation.examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(data=st.data())
    def send(data: st.DataObject) -> None:
        request = call(data, operation, seeded.schemas)
        for who in ("operator", "account"):
            statuses.add(assert_answered_within_the_rules(seeded, request, who))

    send()


def test_generated_input_never_crashes_an_api_operation_and_a_refusal_changes_nothing(seeded: Seeded) -> None:
    assert len(seeded.operations) >= 25
    answered: dict[str, set[int]] = {}
    for operation in seeded.operations:
        fuzz(seeded, operation, answered)
    assert len(answered) == len(seeded.operations)
    with_input = {f"{op.method} {op.path}" for op in seeded.operations if op.body or op.spec.get("parameters")}
    refused = {name for name, statuses in answered.items() if any(400 <= s < 500 for s in statuses)}
    assert with_input <= refused  # every operation that takes input met input it refused
    accepted = [name for name, statuses in answered.items() if any(s < 300 for s in statuses)]
    assert len(accepted) >= len(answered) // 2  # and many took generated input too: the checks were passed


MALFORMED: list[tuple[str, dict[str, str], Any, set[int]]] = [
    # (what, headers, content, the answers it may have)
    ("not JSON", {"Content-Type": "application/json"}, b"{not json", {422}),
    ("not UTF-8", {"Content-Type": "application/json"}, b'{"name": "\xff\xfe"}', {422}),
    ("empty", {"Content-Type": "application/json"}, b"", {422}),
    ("an array nested too deeply", {"Content-Type": "application/json"}, b"[" * 100_000 + b"]" * 100_000, {422}),
    ("an object nested too deeply", {"Content-Type": "application/json"}, b'{"a":' * 5_000 + b"1" + b"}" * 5_000,
     {422}),
    ("too large", {"Content-Type": "application/json"}, b'{"name": "' + b"x" * (2 << 20) + b'"}', {413}),
    ("too large, sent in chunks without a length", {"Content-Type": "application/json"},
     lambda: (b"x" * 65_536 for _ in range(40)), {413}),
    ("JSON as text/plain", {"Content-Type": "text/plain"}, b'{"name": "x"}', {415}),
    ("JSON without a Content-Type", {}, b'{"name": "x"}', {415}),
    ("a form", {"Content-Type": "application/x-www-form-urlencoded"}, b"name=x&email=a%40b.cd", {415}),
]  # fmt: skip


def test_a_body_that_is_not_json_too_deep_too_large_or_of_another_type_is_a_problem_never_a_crash(
    seeded: Seeded,
) -> None:
    with_body = [operation for operation in seeded.operations if operation.body is not None]
    assert len(with_body) >= 8
    before = fingerprint(seeded.engine)
    for what, headers, content, answers in MALFORMED:
        for operation in with_body:
            url = operation.path.replace("{account_id}", str(seeded.schemas.words["account_id"][0]))
            url = url.replace("{number}", "INV-2026-000001").replace("{refund_id}", "1").replace("{endpoint_id}", "1")
            sent = {**headers, **seeded.keys["operator"], "Idempotency-Key": "malformed"}
            answer = seeded.client.request(operation.method, url, content=content() if callable(content) else content,
                                           headers=sent)  # fmt: skip
            where = f"{what}: {operation.method} {url} -> {answer.status_code} {answer.text[:300]}"
            # a route that takes a file reads more (a certificate, rule TE1; a bank statement, NT1): 2 MB is within
            # its limit, so the body is read and refused as the wrong document it is
            larger = what.startswith("too large") and operation.path.endswith(tuple(LARGER))
            assert answer.status_code in ({422} if larger else answers), where
            assert answer.headers["content-type"] == PROBLEM_JSON, where
            assert answer.json()["code"], where
            if answer.status_code == 413 or what.startswith(("not", "an ", "empty")):
                assert answer.json()["field"] in {"body", "document"}, where
            if answer.status_code == 415:
                assert answer.json()["code"] == "request.unsupported_media_type", where
                assert answer.json()["field"] == "Content-Type", where
    assert fingerprint(seeded.engine) == before
