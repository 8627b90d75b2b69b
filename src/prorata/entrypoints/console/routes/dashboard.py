"""The dashboard: the business at a glance, one currency at a time (amounts are never added across currencies).

Monthly recurring revenue and its movements, active subscriptions and licenses, revenue invoiced and collected, failed
payments and the dunning funnel, overdue accounts and the credit balance outstanding, for a range of months. The
figures are the ones ``prorata metrics refresh`` keeps (``adapters/db/metrics.py``; their definitions are in
``domain/metrics.py``, and on the page as its legend), read in a few milliseconds whatever the books' size; the
dunning funnel and the overdue accounts are read live. Every chart has its figures in a table and as CSV.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import fields
from datetime import date

from babel.dates import format_date
from babel.lists import format_list
from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup

from prorata.adapters.db.metrics import Dashboard, FunnelStage, MonthRow, ProductRow, read_dashboard, refresh_metrics
from prorata.domain.catalog import Catalog
from prorata.domain.errors import InvalidInput, ProrataError
from prorata.domain.metrics import month_of
from prorata.entrypoints.console import charts
from prorata.entrypoints.console.pages import PREFIX, Desk, operator_desk, posted, render
from prorata.entrypoints.console.refusals import message_of
from prorata.entrypoints.portal import i18n
from prorata.entrypoints.web.forms import Form, redirect
from prorata.services.formatting import LOCALES

router = APIRouter()
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
RANGE = 12  # months shown unless the operator chooses others


def _month(text: str, field: str) -> date:
    found = _MONTH.fullmatch(text.strip())
    if found is None or not 1 <= int(found.group(2)) <= 12 or int(found.group(1)) < 1970:
        raise InvalidInput("period.out_of_range", f"{field}: a month written YYYY-MM", field=field)
    return date(int(found.group(1)), int(found.group(2)), 1)


def _months_back(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 - count
    return date(index // 12, index % 12 + 1, 1)


def _chosen(found: Desk, first: str, last: str) -> tuple[date, date, dict[str, str]]:
    """The range asked for, or the last twelve months with the error that made it so."""
    current = month_of(found.app.clock.now())
    try:
        last_month = _month(last, "last_month") if last else current
        first_month = _month(first, "first_month") if first else _months_back(last_month, RANGE - 1)
        if last_month < first_month:
            raise InvalidInput("period.empty", "last_month: before the first month", field="last_month")
        return first_month, last_month, {}
    except ProrataError as error:
        return _months_back(current, RANGE - 1), current, {error.field or "first_month": message_of(error)}


def _read(found: Desk, currency: str, first: date, last: date) -> tuple[Dashboard, str | None]:
    app = found.app
    everything = read_dashboard(app.engine, currency=None, first_month=first, last_month=last, now=app.clock.now(),
                                dunning=app.dunning)  # fmt: skip
    chosen = currency.upper() if currency.upper() in everything.currencies else None
    if chosen is None and everything.currencies:
        chosen = everything.currencies[0]
    if chosen is None:
        return everything, None
    return read_dashboard(app.engine, currency=chosen, first_month=first, last_month=last,
                          now=app.clock.now(), dunning=app.dunning), chosen  # fmt: skip


def month_label(month: date, language: str) -> str:
    return str(format_date(month, "LLL yyyy", locale=LOCALES[language]))


@router.get("/", response_model=None)
def dashboard(request: Request, currency: str = "", first: str = "", last: str = "") -> Response:
    found = operator_desk(request)
    first_month, last_month, errors = _chosen(found, first[:10], last[:10])
    board, chosen = _read(found, currency[:3], first_month, last_month)
    rows = board.series(chosen) if chosen else ()
    language = found.language
    labels = [month_label(row.month, language) for row in rows]
    pictures = _pictures(board, rows, labels, chosen, found) if rows and chosen else {}
    latest = rows[-1] if rows else None
    overdue = next((o for o in board.overdue if o.currency == chosen), None)
    dunning = found.app.dunning  # rule I8: the legend says the installation's own schedule
    retry_days = format_list([str(day) for day in dunning.retry_after_days], locale=LOCALES[language])
    return render(found, "dashboard.html", 400 if errors else 200, errors=errors, board=board, chosen=chosen,
                  dunning=dunning, retry_days=retry_days,
                  rows=rows, labels=labels, pictures=pictures, latest=latest, overdue=overdue,
                  first_month=first_month, last_month=last_month, zip_rows=zip_rows, funnel_rows=funnel_rows,
                  product_rows=lambda products, currency: product_rows(products, currency, found.app.catalog,
                                                                      language),
                  csv_query=f"currency={chosen or ''}&first={first_month:%Y-%m}&last={last_month:%Y-%m}")  # fmt: skip


COUNTS = frozenset(
    {
        "customers",
        "new_customers",
        "reactivated_customers",
        "churned_customers",
        "subscriptions",
        "licenses",
        "failed_payments",
        "cancelled_accounts",
    }
)  # the figures that are not money


def zip_rows(labels: list[str], rows: tuple[MonthRow, ...], names: list[str], currency: str) -> list[list[str]]:
    """A chart's table: one row per month, its figures formatted (money in the page's language)."""
    return [[label, *(str(getattr(row, n)) if n in COUNTS else i18n.money(getattr(row, n), currency)
                      for n in names)] for label, row in zip(labels, rows, strict=True)]  # fmt: skip


def product_rows(products: tuple[ProductRow, ...], currency: str, catalog: Catalog, language: str) -> list[list[str]]:
    return [[catalog.products[p.product].name(language) if p.product in catalog.products else p.product,
             i18n.money(p.mrr, currency), str(p.subscriptions), str(p.quantity)] for p in products]  # fmt: skip


def funnel_rows(stages: tuple[FunnelStage, ...], currency: str) -> list[list[str]]:
    return [[_funnel_label(s.failed_attempts), str(s.invoices), i18n.money(s.amount_due, currency)] for s in stages]


def _pictures(board: Dashboard, rows: tuple[MonthRow, ...], labels: list[str], currency: str,
              found: Desk) -> dict[str, Markup]:  # fmt: skip
    """The page's charts, each labelled with what it shows; exact figures in each bar's title."""
    _ = i18n.gettext_
    language = found.language

    def money(value: int) -> str:
        return i18n.money(value, currency, language)

    def months(series: list[charts.Series], label: str, *, stacked: bool = False, amounts: bool = True) -> Markup:
        return charts.bar_chart(labels, series, label=label, stacked=stacked, currency=currency if amounts else None,
                                language=language, exact=money if amounts else str)  # fmt: skip

    def each(css: str, name: str, values: list[int]) -> charts.Series:
        return charts.Series(name, values, css)

    mrr = [each("s0", _("MRR"), [r.mrr for r in rows])]
    movements = [
        each("s1", _("New"), [r.new for r in rows]),
        each("s2", _("Reactivation"), [r.reactivation for r in rows]),
        each("s0", _("Expansion"), [r.expansion for r in rows]),
        each("s3", _("Contraction"), [-r.contraction for r in rows]),
        each("s4", _("Churn"), [-r.churn for r in rows]),
    ]
    revenue = [
        each("s0", _("Invoiced"), [r.invoiced for r in rows]),
        each("s1", _("Collected after refunds"), [r.net_collected for r in rows]),
    ]
    failed = [each("s4", _("Failed payments"), [r.failed_payments for r in rows])]
    pictures = {
        "mrr": months(mrr, _("Monthly recurring revenue at each month's end")),
        "movements": months(movements, _("MRR movements per month"), stacked=True),
        "revenue": months(revenue, _("Revenue invoiced and collected per month")),
        "failed": months(failed, _("Failed payment attempts per month"), amounts=False),
    }
    catalog = found.app.catalog
    products = [(catalog.products[p.product].name(language) if p.product in catalog.products else p.product, p.mrr)
                for p in board.products]  # fmt: skip
    if products:
        pictures["products"] = charts.bars_across(products, label=_("MRR by plan and add-on"), exact=money)
    funnel = [(_funnel_label(stage.failed_attempts), stage.invoices) for stage in board.funnel]
    if funnel:
        pictures["funnel"] = charts.bars_across(funnel, label=_("Open invoices by failed payment attempts"), css="s3")
    return pictures


def _funnel_label(failed: int) -> str:
    if failed == 0:
        return i18n.gettext_("No failed attempt yet")
    return i18n.ngettext_("%(num)d failed attempt", "%(num)d failed attempts", failed)


@router.get("/dashboard.csv", response_model=None)
def dashboard_csv(request: Request, currency: str = "", first: str = "", last: str = "",
                  table: str = "months") -> Response:  # fmt: skip
    """The dashboard's figures as CSV, amounts in minor units of the row's currency (as the API gives them)."""
    found = operator_desk(request)
    first_month, last_month, errors = _chosen(found, first[:10], last[:10])
    if errors:
        return Response("; ".join(errors.values()), status_code=400, media_type="text/plain; charset=utf-8")
    board, chosen = _read(found, currency[:3], first_month, last_month)
    out = io.StringIO()
    writer = csv.writer(out)
    if table == "products":
        writer.writerow(["currency", "month", "product", "mrr", "subscriptions", "quantity"])
        for p in board.products:
            writer.writerow([p.currency, f"{board.products_month:%Y-%m}", p.product, p.mrr, p.subscriptions,
                             p.quantity])  # fmt: skip
    elif table == "funnel":
        writer.writerow(["currency", "failed_attempts", "invoices", "amount_due"])
        for s in board.funnel:
            writer.writerow([s.currency, s.failed_attempts, s.invoices, s.amount_due])
    else:
        names = [f.name for f in fields(MonthRow)]
        writer.writerow(names)
        for row in board.series(chosen) if chosen else ():
            writer.writerow([f"{row.month:%Y-%m}" if n == "month" else getattr(row, n) for n in names])
    name = f"prorata-{table if table in ('products', 'funnel') else 'months'}-{chosen or 'none'}.csv"
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


@router.post("/metrics/refresh", response_model=None)
def refresh_now(request: Request, form: Form) -> Response:
    """Compute the figures again now, as ``prorata metrics refresh`` does."""
    found = posted(request, form)
    refresh_metrics(found.app.engine, found.app.catalog, now=found.app.clock.now())
    with found.app.uow() as tx:
        tx.audit(None, found.actor, "metrics.refreshed", {}, found.app.clock.now())
    return redirect(f"{PREFIX}/")
