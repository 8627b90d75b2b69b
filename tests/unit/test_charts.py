"""The console's SVG charts: bars in proportion to their figures, negatives below zero when stacked, round axis steps,
labels escaped, and every bar's exact figure in its title."""

from __future__ import annotations

import re

import pytest

from prorata.entrypoints.console import charts

BAR = re.compile(
    r'<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" class="(s\d)"><title>([^<]*)</title>'
)


@pytest.mark.parametrize(("span", "step"), [(1.0, 0.5), (95.0, 50.0), (1234.0, 500.0), (0.0, 1.0), (10_000.0, 5000.0)])
def test_the_axis_step_is_one_two_or_five_times_a_power_of_ten(span: float, step: float) -> None:
    assert charts.nice_step(span) == step


def test_bars_stand_in_proportion_and_carry_their_exact_figure() -> None:
    svg = charts.bar_chart(["Jan", "Feb"], [charts.Series("MRR", [1000, 4000], "s0")], label="MRR",
                           currency="USD", exact=lambda v: f"${v / 100:.2f}")  # fmt: skip
    bars = BAR.findall(str(svg))
    assert [b[5] for b in bars] == ["Jan: MRR $10.00", "Feb: MRR $40.00"]
    assert float(bars[1][3]) == pytest.approx(4 * float(bars[0][3]), rel=0.01)
    assert 'role="img" aria-label="MRR"' in svg


def test_stacked_losses_hang_below_the_zero_line() -> None:
    svg = str(charts.bar_chart(["Jan"], [charts.Series("New", [300], "s1"), charts.Series("Churn", [-100], "s4")],
                               label="moves", stacked=True))  # fmt: skip
    zero = float(
        re.search(r'class="grid zero"', svg) and re.findall(r'y1="([\d.]+)" y2="[\d.]+" class="grid zero"', svg)[0]
    )
    (new, churn) = BAR.findall(svg)
    assert float(new[1]) + float(new[3]) == pytest.approx(zero, abs=0.2)  # ends at zero
    assert float(churn[1]) == pytest.approx(zero, abs=0.2)  # starts at zero
    assert float(new[3]) == pytest.approx(3 * float(churn[3]), rel=0.02)


def test_names_are_escaped_and_an_empty_chart_draws_no_bar() -> None:
    svg = str(charts.bars_across([("<b>Pro</b> & co", 5)], label='"x"'))
    assert "<b>" not in svg
    assert "&lt;b&gt;Pro&lt;/b&gt; &amp; co" in svg
    assert 'aria-label="&#34;x&#34;"' in svg
    assert BAR.findall(str(charts.bar_chart([], [], label="none"))) == []


def test_axis_labels_are_short_in_each_language() -> None:
    assert charts.compact(123_456_700, "PLN", "pl") == "1,2\u00a0mln"
    assert charts.compact(123_456_700, "USD", "en") == "1.2M"
    assert charts.compact(5, None, "en") == "5"
