"""The backup payment method (rule BM1) and the extra notice addresses (rule N1) of an account.

Included before ``billing``, whose ``/payment-methods/{payment_method_id}`` would otherwise take ``backup`` for an id.
Each change is a ``PUT`` or a ``DELETE``: asked again, it answers the same and changes nothing more (a swap names the
method that becomes the default), so none needs an Idempotency-Key.
"""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Response

from prorata.adapters.db.notice_store import notice_addresses_of
from prorata.adapters.db.queries import payment_method_views
from prorata.entrypoints.api.auth import AppDep, ScopeDep
from prorata.entrypoints.api.billing_info_schemas import (
    BackupMethodIn,
    DefaultMethodIn,
    NoticeAddressesIn,
    NoticeAddressesOut,
)
from prorata.entrypoints.api.schemas import PaymentMethodOut
from prorata.services.backup_method import SetBackupMethod, SwapWithBackup, set_backup_method, swap_with_backup
from prorata.services.notice_addresses import MAX_NOTICE_ADDRESSES, SetNoticeAddresses, set_notice_addresses

router = APIRouter(tags=["billing"])


def _methods(app: AppDep, account_id: int) -> list[PaymentMethodOut]:
    with app.engine.connect() as conn:
        views = payment_method_views(conn, account_id)
    return [PaymentMethodOut(**asdict(v)) for v in views]


@router.put(
    "/accounts/{account_id}/payment-methods/backup",
    summary="Make a saved method the backup, charged only when a renewal's charge on the default one is declined",
    description="Rule BM1: one backup per account, never the default method (`payment_method.backup_is_default`). "
    "The billing run charges it in the same payment attempt, after a decline of the default method (not after a "
    "processing error or a charge waiting for the customer); orders and payments made by the customer use the "
    "default method only. Answers the payment methods with their roles.",
)
def put_backup_method(body: BackupMethodIn, scope: ScopeDep, app: AppDep) -> list[PaymentMethodOut]:
    set_backup_method(SetBackupMethod(scope.account_id, body.payment_method_id, actor=scope.caller.actor),
                      uow=app.uow, clock=app.clock)  # fmt: skip
    return _methods(app, scope.account_id)


@router.delete(
    "/accounts/{account_id}/payment-methods/backup",
    status_code=204,
    summary="Have no backup method; the method stays saved (rule BM1)",
)
def delete_backup_method(scope: ScopeDep, app: AppDep) -> Response:
    set_backup_method(SetBackupMethod(scope.account_id, None, actor=scope.caller.actor), uow=app.uow, clock=app.clock)
    return Response(status_code=204)


@router.put(
    "/accounts/{account_id}/payment-methods/default",
    summary="Swap the backup method with the default one (rule BM1)",
    description="Name the backup: it becomes the default, and the default becomes the backup. Naming the default "
    "changes nothing (a retry after the swap); any other method is refused (`payment_method.not_backup`). Answers "
    "the payment methods with their roles.",
)
def put_default_method(body: DefaultMethodIn, scope: ScopeDep, app: AppDep) -> list[PaymentMethodOut]:
    swap_with_backup(SwapWithBackup(scope.account_id, body.payment_method_id, actor=scope.caller.actor), uow=app.uow,
                     clock=app.clock)  # fmt: skip
    return _methods(app, scope.account_id)


def _notices(app: AppDep, account_id: int) -> NoticeAddressesOut:
    with app.engine.connect() as conn:
        found = notice_addresses_of(conn, (account_id,))[account_id]
    return NoticeAddressesOut(addresses=found, limit=MAX_NOTICE_ADDRESSES)


@router.get(
    "/accounts/{account_id}/notice-addresses",
    summary="The extra notice addresses, which receive new-invoice e-mails only (rule N1)",
)
def get_notice_addresses(scope: ScopeDep, app: AppDep) -> NoticeAddressesOut:
    return _notices(app, scope.account_id)


@router.put(
    "/accounts/{account_id}/notice-addresses",
    summary="Replace the extra notice addresses (rule N1)",
    description="At most 5 valid e-mail addresses, each once; every address at fault is named at once "
    "(`notice_address.invalid`, `notice_address.duplicate` at `addresses[i]`, `notice_address.limit` at "
    "`addresses`, rule N1) and nothing changes. The Sold-To and Bill-To contacts receive every billing e-mail; these "
    "addresses receive an order's confirmation and every receipt, each with its invoice attached, never dunning.",
)
def put_notice_addresses(body: NoticeAddressesIn, scope: ScopeDep, app: AppDep) -> NoticeAddressesOut:
    set_notice_addresses(SetNoticeAddresses(scope.account_id, tuple(body.addresses), actor=scope.caller.actor),
                         uow=app.uow, clock=app.clock)  # fmt: skip
    return _notices(app, scope.account_id)
