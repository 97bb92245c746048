"""The load benchmark behind ``make bench`` (``python -m bench.run``); see BENCHMARKS.md."""
