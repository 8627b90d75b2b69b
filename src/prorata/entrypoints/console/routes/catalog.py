"""The catalog and the tax rates as this installation loaded them, read-only, with where each product is used now."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from prorata.adapters.db.console_queries import product_use
from prorata.entrypoints.console.pages import operator_desk, render

router = APIRouter()


@router.get("/catalog", response_model=None)
def catalog_page(request: Request) -> Response:
    found = operator_desk(request)
    app = found.app
    with app.engine.connect() as conn:
        used = product_use(conn)
    catalog = app.catalog
    products = [*catalog.plans(), *sorted(catalog.addons(), key=lambda p: (p.family or p.code, p.size, p.code))]
    currencies = sorted({currency for p in products for _interval, currency in p.prices})
    rates = sorted(app.tax.rates.items())
    return render(found, "catalog.html", catalog=catalog, products=products, used=used, currencies=currencies,
                  rates=rates, seller=app.tax.seller)  # fmt: skip
