"""The SVG charts' geometry: bars scale to the largest value, labels are thinned and cut."""

from __future__ import annotations

from penpress.admin import charts


def test_columns_scale_to_the_tallest_and_label_every_nth_from_the_end() -> None:
    chart = charts.columns("c", [("a", 0), ("b", 5), ("c", 10)], tick_every=2, short=str.upper)
    heights = [bar.height for bar in chart.bars]
    assert heights[0] == 0
    assert heights[2] == charts.HEIGHT - charts.TOP - charts.BOTTOM
    assert heights[1] == heights[2] / 2
    assert [bar.tick for bar in chart.bars] == ["A", "", "C"]
    assert all(
        bar.x >= charts.LEFT and bar.x + bar.width <= chart.width - charts.LEFT
        for bar in chart.bars
    )
    assert (chart.total, chart.empty) == (15, False)


def test_an_all_zero_series_is_empty() -> None:
    assert charts.columns("c", [("a", 0), ("b", 0)]).empty
    assert charts.rows("r", []).empty


def test_rows_cut_long_names_and_keep_them_in_the_label() -> None:
    name = "A very long title that would not fit beside its bar"
    (bar,) = charts.rows("r", [(name, 7)]).bars
    assert bar.label == name
    assert len(bar.tick) == charts.TICK_CHARS
    assert bar.tick.endswith("…")
