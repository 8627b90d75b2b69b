"""Benchmark: invoice PDFs rendered per second (the issue's target: at least 50 per second on two cores).

What it measures. ``--n`` invoices (default 1,000) are built in memory before any timing, each a different one: a
Polish buyer with a Bill-To contact, 2-6 lines (credits for unused time and prorated charges, Polish and English
product names), 23 % tax, a card payment. Only ``render_pdf`` is timed, with the wall clock around the whole batch:
in ``--processes`` worker processes (default 2, one per core here), each rendering its share, the font registered
once per process before the clock starts. Half of the documents are printed in Polish, half in English. The PDFs are
kept in memory only. It prints PDFs per second, the mean size of a PDF, the peak resident memory of the busiest
worker (``ru_maxrss``), and the ratio to the target and to django-silver (about 13 per second, quoted, not measured).

Run it with ``.venv/bin/python bench/documents.py`` (``--n``, ``--processes``, ``--seed``).
"""

from __future__ import annotations

import argparse
import multiprocessing
import platform
import random
import resource
import time
from datetime import UTC, datetime, timedelta

from prorata.adapters.documents.pdf import render_pdf
from prorata.catalogs import default_catalog, default_tax_rules
from prorata.domain.documents import DocumentLine, DocumentPayment, InvoiceDocument, Party
from prorata.domain.periods import Period
from prorata.domain.tax import line_tax

TARGET = 50.0
DJANGO_SILVER = 13.0


def invoices(n: int, seed: int) -> list[tuple[InvoiceDocument, str]]:
    rng = random.Random(seed)
    catalog = default_catalog()
    rules = default_tax_rules()
    products = [p for p in catalog.products.values() if any(key[1] == "PLN" for key in p.prices)]
    out = []
    for index in range(n):
        start = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(days=rng.randrange(28))
        end = datetime(2026, 12, 1, tzinfo=UTC)
        used = (end - start).days
        lines = []
        for _ in range(rng.randint(2, 6)):
            product = rng.choice(products)
            unit = next(amount for (_, currency), amount in product.prices.items() if currency == "PLN")
            quantity = rng.randint(1, 40)
            amount = (quantity * unit * used * 2 + 30) // 60  # half up, as the engine rounds
            credit = rng.random() < 0.3
            signed = -amount if credit else amount
            lines.append(
                DocumentLine("credit" if credit else "charge", product.code, product.names, quantity,
                             None if credit else unit, Period(start, end), used, 30, signed, 2300,
                             line_tax(signed, 2300))
            )  # fmt: skip
        subtotal = sum(line.amount for line in lines)
        tax = sum(line.tax for line in lines)
        sold_to = Party(f"Łucja Świątek {index}", "lucja@acme.pl", ("ul. Żółta 5", "80-001 Gdańsk"), "PL",
                        "Zażółć gęślą jaźń Sp. z o.o.", "1234563218")  # fmt: skip
        bill_to = Party("Jan Kowalski", "faktury@acme.pl", ("ul. Długa 1", "90-001 Łódź"), "PL")
        document = InvoiceDocument(
            f"INV-2026-{index + 1:06d}", "invoice", "paid", start, start, "PLN", rules.seller, sold_to, bill_to,
            tuple(lines), subtotal, tax, subtotal + tax, 0, max(subtotal + tax, 0), "Europe/Warsaw",
            payments=(DocumentPayment(start, max(subtotal + tax, 0), "Visa •••• 4242"),),
        )  # fmt: skip
        out.append((document, "pl" if index % 2 else "en"))
    return out


def _work(share: list[tuple[InvoiceDocument, str]]) -> tuple[int, int, float]:
    """Render a share; (documents, bytes, peak resident MiB of this worker)."""
    size = sum(len(render_pdf(document, language)) for document, language in share)
    return len(share), size, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _warm(_: int) -> None:
    render_pdf(invoices(1, 0)[0][0])  # registers the font in this worker before timing


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    documents = invoices(args.n, args.seed)
    shares = [documents[i :: args.processes] for i in range(args.processes)]
    with multiprocessing.get_context("fork").Pool(args.processes) as pool:
        pool.map(_warm, range(args.processes), chunksize=1)
        began = time.perf_counter()
        results = pool.map(_work, shares, chunksize=1)
        elapsed = time.perf_counter() - began
    count = sum(r[0] for r in results)
    rate = count / elapsed
    print(f"machine: {platform.machine()}, {multiprocessing.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"{count:,} invoice PDFs in {elapsed:.2f} s with {args.processes} processes: {rate:,.0f} PDFs/s")
    print(f"mean size {sum(r[1] for r in results) / count / 1024:.1f} KiB; peak memory of a worker "
          f"{max(r[2] for r in results):.0f} MiB")  # fmt: skip
    versus = f"django-silver ~{DJANGO_SILVER:.0f}/s: x{rate / DJANGO_SILVER:.0f}"
    print(f"target {TARGET:.0f}/s: x{rate / TARGET:.1f}; {versus}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
