"""No answer is a 500 for bad input (rule X4): each input found to crash the portal or the API is refused as the API
refuses it (a 4xx naming the code and the field, or a 404 for an id that cannot exist), and nothing is stored. On
SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Table, func, select

from prorata.adapters.db.schema import contacts, license_assignments, payments
from tests.e2e.api_client import Api
from tests.e2e.conftest import PAY_KEY, Visitor, account_id
from tests.e2e.test_api_access import assert_problem

CONTACT = {"name": "Anna Nowak", "company": "Demo", "email": "anna@example.test", "address_line1": "ul. Prosta 1",
           "city": "Warszawa", "postal_code": "00-001", "country": "PL"}  # fmt: skip
HUGE = "99999999999999999999"  # beyond a 64-bit integer
JSON = {"Content-Type": "application/json"}


def contacts_form(**changed: str) -> dict[str, str | list[str]]:
    form: dict[str, str | list[str]] = {f"{kind}.{name}": value for kind in ("sold_to", "bill_to")
                                        for name, value in CONTACT.items()}  # fmt: skip
    form.update(changed)
    form["next"] = "/billing/information"
    return form


def stored_contacts(visitor: Visitor) -> list[dict[str, object]]:
    with visitor.app.engine.connect() as conn:
        found = conn.execute(
            select(contacts).where(contacts.c.account_id == account_id(visitor.app, "demo-business"))
            .order_by(contacts.c.kind)
        ).mappings()  # fmt: skip
        return [dict(row) for row in found]


def rows(visitor: Visitor, table: Table) -> int:
    with visitor.app.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("bill_to.company", "x" * 1000),  # longer than its column
        ("bill_to.name", "Anna\x00Nowak"),  # NUL
        ("bill_to.postal_code", "0" * 21),  # a postal code over 20 characters
        ("bill_to.region", "Mazo\x0bwieckie"),  # a vertical tab: KSeF could never export the invoices after it
        ("sold_to.city", "War\x1bszawa"),  # another control character
    ],
)
def test_a_contact_field_too_long_or_holding_a_control_character_is_refused_at_its_field(
    visitor: Visitor, field: str, value: str
) -> None:
    visitor.sign_in("owner@demo-business.test")
    before = stored_contacts(visitor)
    assert before  # the demo account has its contacts

    refused = visitor.post("/billing/contacts", contacts_form(**{field: value}))

    assert refused.status_code == 400
    kind, name = field.split(".")
    assert f'id="error-{kind}-{name}"' in refused.text
    assert stored_contacts(visitor) == before


@pytest.mark.parametrize(
    ("method", "path", "form"),
    [
        ("get", f"/billing/invoices/{HUGE}", None),
        ("get", f"/billing/invoices/{HUGE}/pdf", None),
        ("get", f"/checkout/done/{HUGE}", None),
        ("get", f"/billing/addons/{HUGE}/edit", None),
        ("post", f"/billing/addons/{HUGE}/edit", {"quantity": "2"}),
        ("post", f"/billing/payment/{HUGE}/remove", {}),
    ],
)
def test_an_id_out_of_range_in_a_path_is_not_found(
    visitor: Visitor, method: str, path: str, form: dict[str, str] | None
) -> None:
    visitor.sign_in("owner@demo-business.test")
    visitor.get("/billing")
    answer = visitor.get(path) if method == "get" else visitor.post(path, form)
    assert answer.status_code == 404


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/billing/invoices/pay", {"pay_one": "abc"}),
        ("/billing/invoices/pay", {"pay_one": HUGE}),
        ("/billing/invoices/pay", {"invoice": ["1", "abc"]}),
        ("/users/assignments", {"user": "1", "subscription": HUGE, "action": "assign"}),
        ("/users/assignments", {"user": HUGE, "subscription": "1", "action": "assign"}),
        ("/users/assignments", {"user": "x", "subscription": "²", "action": "unassign"}),
    ],
)
def test_a_form_id_that_is_not_a_number_or_out_of_range_is_refused_not_a_crash(
    visitor: Visitor, path: str, form: dict[str, str | list[str]]
) -> None:
    visitor.sign_in("owner@demo-business.test")
    page = visitor.get("/billing/invoices")
    key = PAY_KEY.search(page.text)
    assert key is not None
    before = rows(visitor, payments), rows(visitor, license_assignments)
    answer = visitor.post(path, {**form, "key": key.group(1)})
    assert answer.status_code == 400
    assert (rows(visitor, payments), rows(visitor, license_assignments)) == before
    assert "The page was out of date" in answer.text or "Choose the invoices to pay" in answer.text


# ---------------------------------------------------------------------------------------------------------- the API
@pytest.mark.parametrize("deep", ["[" * 100_000 + "]" * 100_000, '{"a":' * 5_000 + "1" + "}" * 5_000])
def test_a_quote_document_nested_too_deeply_is_refused_at_the_document(api: Api, deep: str) -> None:
    # Python's JSON reader recurses once per level: the stateless quote, which reads its body itself, crashed
    before = api.snapshot()
    refused = assert_problem(api.client.post("/api/v1/quote", content=deep, headers={**api.operator, **JSON}), 422,
                             "document.too_deep")  # fmt: skip
    assert refused["field"] == "document"
    assert api.snapshot() == before


@pytest.mark.parametrize("instant", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_an_instant_whose_utc_time_falls_outside_the_calendar_is_refused_at_its_field(api: Api, instant: str) -> None:
    # valid ISO 8601 with an offset, but in UTC before the year 1 or after 9999: converting it overflowed
    before = api.snapshot()
    sent = [
        ("/api/v1/operator/billing-runs", {"until": instant}, "until"),
        ("/api/v1/operator/verifications", {"since": instant}, "since"),
        ("/api/v1/quote", {"account": {"currency": "USD"}, "at": instant,
                           "changes": [{"type": "change_plan", "product": "pro", "licenses": 2}]}, "at"),
    ]  # fmt: skip
    for path, body, field in sent:
        refused = assert_problem(api.client.post(path, json=body, headers=api.operator), 422, "time.out_of_range")
        assert refused["field"] == field
    assert api.snapshot() == before


@pytest.mark.parametrize("path", ["/api/v1/accounts/%0A", "/api/v1/accounts/1%0A/users", "/api/v1/%0A"])
def test_an_api_path_holding_a_newline_is_answered_by_the_api_as_a_problem(api: Api, path: str) -> None:
    # the mount's pattern stopped at the newline, and the portal answered its HTML not-found page
    answer = api.client.get(path, headers=api.operator)
    assert answer.status_code in {404, 422}
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"]
