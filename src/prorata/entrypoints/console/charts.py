"""The dashboard's charts, drawn here as SVG: nothing is loaded from elsewhere and no script runs in the browser.

A chart is a picture of figures the page also gives in a table (and as CSV), so it is one ``role="img"`` with a
label saying what it shows; each bar carries its exact figure as a ``<title>`` for a pointer. Colours come from the
console's stylesheet by class (``s0`` ... ``s5``), as the Content-Security-Policy allows no inline style. Pixel
positions are floats; the figures themselves stay integers of minor units, formatted only for the labels.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from babel.numbers import format_compact_decimal
from markupsafe import Markup, escape

from prorata.domain.money import currency_exponent
from prorata.services.formatting import LOCALES

WIDTH, HEIGHT = 440, 230
LEFT, RIGHT, TOP, BOTTOM = 58, 8, 12, 28


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    values: Sequence[int]  # one per label: minor units (or counts)
    css: str  # the stylesheet's class for its colour: s0 ... s5


def compact(value: int, currency: str | None, language: str) -> str:
    """An axis label: minor units as a short number of major units (``1,2 tys.``, ``12K``); counts as they are."""
    amount = Decimal(value).scaleb(-currency_exponent(currency)) if currency else Decimal(value)
    return str(format_compact_decimal(amount, locale=LOCALES[language], fraction_digits=1))


def nice_step(span: float, ticks: int = 4) -> float:
    """A round step (1, 2 or 5 times a power of ten) that divides ``span`` into about ``ticks`` parts."""
    if span <= 0:
        return 1.0
    raw = span / ticks
    power = 10.0 ** math.floor(math.log10(raw))
    return float(next(f * power for f in (1, 2, 5, 10) if f * power >= raw))


def _range(series: Sequence[Series], stacked: bool) -> tuple[float, float]:
    count = max((len(s.values) for s in series), default=0)
    if stacked:
        high = max((sum(max(0, s.values[i]) for s in series) for i in range(count)), default=0)
        low = min((sum(min(0, s.values[i]) for s in series) for i in range(count)), default=0)
    else:
        high = max((v for s in series for v in s.values), default=0)
        low = min((v for s in series for v in s.values), default=0)
    return float(min(0, low)), float(max(0, high))


def bar_chart(labels: Sequence[str], series: Sequence[Series], *, label: str, stacked: bool = False,
              currency: str | None = None, language: str = "en",
              exact: Callable[[int], str] = str) -> Markup:  # fmt: skip
    """Vertical bars, one group per label: side by side, or stacked (positives up, negatives down from zero)."""
    low, high = _range(series, stacked)
    step = nice_step(high - low or 1.0)
    low, high = math.floor(low / step) * step, math.ceil(high / step) * step or step
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def y(value: float) -> float:
        return TOP + (high - value) / (high - low) * plot_h

    parts = [f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(label)}" class="chart-svg">']
    tick = low
    while tick <= high + step / 2:
        at = y(tick)
        kind = "grid zero" if tick == 0 else "grid"
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{at:.1f}" y2="{at:.1f}" class="{kind}"/>')
        text = escape(compact(round(tick), currency, language))
        parts.append(f'<text x="{LEFT - 6}" y="{at + 4:.1f}" class="tick" text-anchor="end">{text}</text>')
        tick += step
    groups = max(len(labels), 1)
    group_w = plot_w / groups
    bars = 1 if stacked else max(len(series), 1)
    bar_w = max(2.0, group_w * 0.7 / bars)
    for i, name in enumerate(labels):
        left = LEFT + i * group_w + group_w * 0.15
        up = down = 0.0
        for k, one in enumerate(series):
            value = one.values[i] if i < len(one.values) else 0
            if stacked:
                base = up if value >= 0 else down
                top, bottom = (base + value, base) if value >= 0 else (base, base + value)
                if value >= 0:
                    up += value
                else:
                    down += value
                x = left
            else:
                top, bottom = max(value, 0), min(value, 0)
                x = left + k * bar_w
            height = max(0.0, y(bottom) - y(top))
            title = escape(f"{name}: {one.name} {exact(value)}")
            parts.append(f'<rect x="{x:.1f}" y="{y(top):.1f}" width="{bar_w:.1f}" height="{height:.1f}" '
                         f'class="{one.css}"><title>{title}</title></rect>')  # fmt: skip
        centre = LEFT + (i + 0.5) * group_w
        parts.append(
            f'<text x="{centre:.1f}" y="{HEIGHT - 10}" class="tick" text-anchor="middle">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def bars_across(items: Sequence[tuple[str, int]], *, label: str, css: str = "s0",
                exact: Callable[[int], str] = str) -> Markup:  # fmt: skip
    """Horizontal bars, one per item, longest first as given, each with its figure written at its end."""
    row_h, name_w, figure_w = 26, 150, 110
    height = max(1, len(items)) * row_h + 6
    most = max((value for _name, value in items), default=0) or 1
    span = WIDTH - name_w - figure_w
    parts = [f'<svg viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(label)}" class="chart-svg">']
    for i, (name, value) in enumerate(items):
        top = 3 + i * row_h
        width = max(1.0, span * max(value, 0) / most)
        parts.append(f'<text x="{name_w - 8}" y="{top + 17}" class="tick" text-anchor="end">{escape(name)}</text>')
        parts.append(f'<rect x="{name_w}" y="{top + 3}" width="{width:.1f}" height="{row_h - 8}" class="{css}">'
                     f"<title>{escape(name)}: {escape(exact(value))}</title></rect>")  # fmt: skip
        parts.append(f'<text x="{name_w + width + 6:.1f}" y="{top + 17}" class="tick">{escape(exact(value))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
