"""The bodies of the credit-note and refund routes (rules I2, R1, R2); what they answer."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from prorata.entrypoints.api.schemas import _PRINTABLE, Currency, MinorUnits, Out, RefundOut, Strict

Destination = Literal["credit_balance", "original_method"]
Reason = Annotated[str, Field(max_length=500, pattern=_PRINTABLE)]


class CreditNoteIn(Strict):
    lines: Annotated[list[Annotated[int, Field(ge=1, le=10_000)]], Field(min_length=1, max_length=500)] | None = Field(
        default=None, description="The positions of the invoice lines to credit; absent with `void`"
    )
    void: bool = Field(default=False, description="Void the whole invoice (every line not yet credited)")
    reason: Reason | None = Field(default=None, description="Why, kept with the credit note")
    refund: Destination = Field(
        default="credit_balance",
        description="Where what a paid invoice gives back goes: the credit balance, or the original payment method "
        "through the gateway (rule R2; within 30 days of the invoice, rule R1)",
    )
    requested_by: Literal["customer", "operator"] = Field(default="operator", description="Who asked for it")
    override_reason: Reason | None = Field(
        default=None, description="Rule R1: the operator's reason to refund to the payment method after 30 days"
    )


class CreditNoteOut(Out):
    number: str = Field(description="The credit note's number")
    corrects: str = Field(description="The number of the invoice it corrects")
    total: MinorUnits = Field(description="Negative: what the note reverses, tax included")
    to_balance: MinorUnits = Field(description="What went to the credit balance")
    invoice_status: Literal["open", "paid", "void"]
    invoice_amount_due: MinorUnits
    currency: Currency
    refund: RefundOut | None = Field(description="The refund to the original payment method, when there is one")


class RetryIn(Strict):
    to: Destination = Field(
        default="original_method",
        description="original_method: a new attempt at the gateway; credit_balance: the amount to the balance instead",
    )
