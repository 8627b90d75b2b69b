"""Generated input against every form the portal draws and every id in its paths (rule X4), on SQLite and
PostgreSQL: no answer is a server error, and a refused form changes nothing in the database.

The forms are found as a customer finds them: by following the portal's links from Current Plans and reading each
page's ``<form method="post">`` with its fields, so a form added later is fuzzed without editing this file. The API's
operations are fuzzed by ``test_fuzz_api.py``, from the OpenAPI document.
"""

from __future__ import annotations

import hashlib
import html
import os
import re
from urllib.parse import quote, urlsplit

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from prorata.adapters.db.schema import metadata
from tests.e2e.conftest import Visitor

EXAMPLES = int(os.environ.get("PRORATA_FUZZ_EXAMPLES", "100"))
FORM = re.compile(r'<form method="post" action="([^"]+)"[^>]*>(.*?)</form>', re.S)
TAG = re.compile(r"<(?:input|select|textarea|button)\b([^>]*)>", re.S)
ATTRIBUTE = re.compile(r'\b(name|value|type)="([^"]*)"')
LINK = re.compile(r'href="(/[^"#]*)"')
SKIP_LINKS = ("/signout", "/language/", "/static/", "/api/")
UNCHANGED_WHEN = {400, 403, 404, 422}  # refusals of the input (not a declined card, 402, which records its attempt)
# the visitor's own session (its cart, its CSRF token) is not the books; the sign-in throttle counts every wrong
# password, which is what a refused password change must record
IGNORED_TABLES = {"web_sessions", "sign_in_throttle"}

EDGES = st.sampled_from(
    [
        "",
        "0",
        "1",
        "-1",
        "2",
        "12",
        "9" * 25,
        "1e3",
        "NaN",
        "pl",
        "card",
        "paypal",
        "all",
        "take",
        "assign",
        "unassign",
        "month",
        "year",
        "on",
        "business",
        "pro",
        "large_meetings_500",
        "/billing",
        "//evil.test",
        "<script>x</script>",
        "' OR 1=1 --",
        "\x00",
        "ą" * 300,
    ]
)
VALUES = st.one_of(
    EDGES,  # the values that broke forms before, and the words the forms expect
    st.text(max_size=40),
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x20), min_size=1, max_size=5),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.text(min_size=150, max_size=600),
)  # fmt: skip


def fields(body: str) -> dict[str, str]:
    """A form's fields with the values the page filled in (the first of a radio group, a ticked box as "on")."""
    found: dict[str, str] = {}
    for attributes in TAG.findall(body):
        attribute = dict(ATTRIBUTE.findall(attributes))
        name = html.unescape(attribute.get("name", ""))
        if name and name not in found:
            default = "on" if attribute.get("type") == "checkbox" else ""
            found[name] = html.unescape(attribute.get("value", default))
    return found


def crawl(visitor: Visitor, limit: int = 40) -> dict[str, dict[str, str]]:
    """Every post form reachable by links from Current Plans: action -> its fields as the page filled them."""
    forms: dict[str, dict[str, str]] = {}
    seen: set[str] = set()
    queue = ["/billing", "/billing/upgrade", "/billing/contacts", "/billing/payment", "/users", "/cart"]
    while queue and len(seen) < limit:
        path = queue.pop(0)
        if path in seen or path.startswith(SKIP_LINKS):
            continue
        seen.add(path)
        page = visitor.get(path)
        if page.status_code != 200 or "text/html" not in page.headers.get("content-type", ""):
            continue
        for action, body in FORM.findall(page.text):
            if action != "/signout":
                forms.setdefault(html.unescape(action), {}).update(fields(body))
        queue += [urlsplit(link).path for link in LINK.findall(page.text)]
    return forms


def fingerprint(visitor: Visitor) -> str:
    digest = hashlib.sha256()
    with visitor.app.engine.connect() as conn:
        for table in metadata.sorted_tables:
            if table.name in IGNORED_TABLES:
                continue
            for row in conn.execute(select(table).order_by(*table.primary_key.columns)):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def test_generated_form_input_never_crashes_the_portal_and_a_refusal_changes_nothing(visitor: Visitor) -> None:
    visitor.sign_in("owner@demo-business.test")
    # something in the cart, so that the cart's own forms (Remove, "Add Discount") are drawn and fuzzed too
    visitor.post("/billing/edit", {"licenses": "14", "interval": "month"})
    forms = crawl(visitor)
    assert {"/billing/contacts", "/billing/payment", "/billing/invoices/pay", "/users/assignments",
            "/billing/cancel", "/billing/discount", "/cart/discount", "/cart/remove"} <= set(forms)  # fmt: skip
    # a form is drawn as often as it has fields: the contacts' twenty-two fields get their share of the examples
    actions = [action for action in sorted(forms) for _ in range(max(1, len(forms[action]) - 1))]
    answered: dict[int, int] = {}

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
    @given(data=st.data())
    def post_one(data: st.DataObject) -> None:
        action = data.draw(st.sampled_from(actions), label="action")
        names = sorted(set(forms[action]) - {"csrf"})
        # the form as the page filled it (so that the checks behind the first refusal are reached too), with some
        # of its fields changed to generated values and some left out
        changed = data.draw(
            st.lists(st.sampled_from(names), unique=True, max_size=2) if names else st.just([]), label="changed"
        )
        dropped = data.draw(
            st.lists(st.sampled_from(names), unique=True, max_size=1) if names else st.just([]), label="dropped"
        )
        form = {name: value for name, value in forms[action].items() if name not in dropped}
        form.update({name: data.draw(VALUES, label=name) for name in changed})
        if data.draw(st.booleans(), label="address_checked"):  # as from the address suggestion the form leads to
            form["address_checked"] = "1"
        form["csrf"] = visitor.csrf
        before = fingerprint(visitor)
        answer = visitor.client.post(action, data=form)
        answered[answer.status_code] = answered.get(answer.status_code, 0) + 1
        assert answer.status_code < 500, f"{action} {form!r} -> {answer.status_code}"
        if answer.status_code in UNCHANGED_WHEN:
            assert fingerprint(visitor) == before, f"{action} {form!r} was refused but changed the database"
        found = re.search(r'name="csrf" value="([^"]+)"', answer.text)
        if found:
            visitor.csrf = found.group(1)

    post_one()
    assert sum(answered.values()) >= EXAMPLES
    assert any(status >= 400 for status in answered)  # the generated input was refused, not only accepted


def test_generated_ids_in_paths_are_not_found_never_a_crash(visitor: Visitor) -> None:
    visitor.sign_in("owner@demo-business.test")
    paths = ["/billing/invoices/{}", "/billing/invoices/{}/pdf", "/checkout/done/{}", "/billing/addons/{}/edit",
             "/billing/upgrade/{}", "/billing/addons/add/{}"]  # fmt: skip
    segment = st.one_of(
        st.integers(min_value=-(2**80), max_value=2**80).map(str),
        st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30),
    )  # fmt: skip

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
    @given(path=st.sampled_from(paths), value=segment)
    def get_one(path: str, value: str) -> None:
        url = path.format(quote(value, safe=""))  # as a browser sends it: percent-encoded
        answer = visitor.client.get(url)
        assert answer.status_code < 500, f"{url!r} -> {answer.status_code}"

    get_one()
