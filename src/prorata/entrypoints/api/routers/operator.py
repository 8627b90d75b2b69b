"""The operator's routes: the billing run up to an instant (rules C7, I1, I6, I8). Opening accounts is in
``accounts.py``, beside the account routes."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta

from fastapi import APIRouter

from prorata.domain.errors import InvalidInput
from prorata.entrypoints.api.auth import AppDep, OperatorDep
from prorata.entrypoints.api.schemas import BillingRunIn, BillingRunOut
from prorata.services.renew_due import RenewDue, renew_due

router = APIRouter(tags=["operator"])

# One request renews date after date up to ``until``; a year ahead is already more than any schedule needs, and a
# bound keeps a mistyped year from occupying the server for minutes
AHEAD = timedelta(days=400)


@router.post(
    "/operator/billing-runs",
    summary="Renew what is due by `until`, collect open invoices, follow up unpaid ones",
)
def post_billing_run(body: BillingRunIn, _operator: OperatorDep, app: AppDep) -> BillingRunOut:
    if body.until > app.clock.now() + AHEAD:
        raise InvalidInput(
            "billing_run.too_far", f"until: at most {AHEAD.days} days after now ({app.clock.now().isoformat()})",
            field="until",
        )  # fmt: skip
    report = renew_due(
        RenewDue(body.until), uow=app.uow, clock=app.clock, gateway=app.gateway, catalog=app.catalog, tax=app.tax
    )
    fields = asdict(report)
    return BillingRunOut(**{name: fields[name] for name in BillingRunOut.model_fields})
