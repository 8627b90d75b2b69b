"""The installation's billing configuration as the API answers it (``GET /operator/configuration``)."""

from __future__ import annotations

from pydantic import Field

from prorata.entrypoints.api.schemas import Out


class DunningOut(Out):
    retry_after_days: list[int] = Field(
        description="Rule I8: the days after a renewal invoice's issue date on which a failed payment is tried again "
        "(PRORATA_DUNNING_RETRY_DAYS)"
    )
    attempts: int = Field(description="The issue date's attempt and each retry; after the last the account is overdue")
    cancel_after_overdue_days: int = Field(
        description="The days an account stays overdue before its subscriptions end (PRORATA_DUNNING_CANCEL_AFTER_DAYS)"
    )


class BankAccountOut(Out):
    iban: str = Field(description="In its electronic form: upper case, no spaces")
    swift: str | None = Field(description="SWIFT/BIC, when configured")
    bank_name: str | None


class LogoOut(Out):
    media_type: str = Field(description="image/png or image/jpeg")
    width: int = Field(description="Pixels")
    height: int


class SellerOut(Out):
    country: str
    name: str
    address: list[str]
    tax_id: str
    email: str
    time_zone: str = Field(description="The seller's dates (issue dates, the year of invoice numbers) are in it")
    bank: BankAccountOut | None = Field(description="Printed on invoices and credit notes; null when not configured")
    footer: dict[str, str] = Field(description="The footer text of documents and e-mails, by language (en, pl)")
    logo: LogoOut | None = Field(description="The logo documents draw; null when not configured")


class ConfigurationOut(Out):
    dunning: DunningOut
    seller: SellerOut = Field(description="The seller the documents issued from now on name (rule I2)")
