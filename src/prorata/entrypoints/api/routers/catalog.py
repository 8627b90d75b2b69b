"""The catalog, the stateless quote (the engine and document format of ``prorata quote``) and the caller's key."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from prorata.domain.catalog import Catalog
from prorata.domain.errors import InvalidInput
from prorata.entrypoints.api.auth import AppDep, CallerDep
from prorata.entrypoints.api.schemas import QUOTE_REQUEST_REF, QUOTE_RESPONSE, CatalogOut, KeyOut, PriceOut, ProductOut
from prorata.entrypoints.quote_document import parse_json, price_document

router = APIRouter(tags=["catalog"])


def catalog_out(catalog: Catalog) -> CatalogOut:
    return CatalogOut(
        name=catalog.name,
        granularity=catalog.granularity.value,
        downgrade_policy=catalog.downgrade_policy.value,
        products=[
            ProductOut(
                code=p.code, kind=p.kind.value, name=p.name(), names=dict(p.names), unit=p.unit.value, rank=p.rank,
                free=p.free, sales_only=p.sales_only, min_licenses=p.min_quantity, max_licenses=p.max_quantity,
                family=p.family, size=p.size, downgrade_to=list(p.downgrade_to), suggest_addons=list(p.suggest_addons),
                trial_days=p.trial_days, trial_requires_card=p.trial_requires_card,
                prices=[
                    PriceOut(interval=interval.value, currency=currency, unit_amount=amount)
                    for (interval, currency), amount in sorted(p.prices.items())
                ],
            )
            for p in catalog.products.values()
        ],
    )  # fmt: skip


@router.get("/catalog", summary="The plans and add-ons with their prices")
def get_catalog(_who: CallerDep, app: AppDep) -> CatalogOut:
    return catalog_out(app.catalog)


@router.get("/key", summary="The API key in use: its account (null for an operator key) and its scope")
def get_key(who: CallerDep) -> KeyOut:
    key = who.key
    return KeyOut(id=key.id, name=key.name, prefix=key.prefix, account_id=key.account_id, scope=key.scope)


@router.post(
    "/quote",
    summary="Price a described account and cart without touching any account (the `prorata quote` document)",
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {
        "$ref": QUOTE_REQUEST_REF}}}}},
    responses={200: QUOTE_RESPONSE},
)  # fmt: skip
async def post_quote(request: Request, _who: CallerDep, app: AppDep) -> JSONResponse:
    # pure computation, no I/O: on the event loop rather than a worker thread; the answer is JSON-ready already
    body = await request.body()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:  # JSON is UTF-8 (RFC 8259): another encoding would be read as other words
        raise InvalidInput("document.malformed_json", f"document: not UTF-8 (byte {error.start})",
                           field="document") from None  # fmt: skip
    document = parse_json(text)
    return JSONResponse(price_document(document, catalog=app.catalog))
