"""`python -m bench` builds one parser from every benchmark's arguments: a clash would break the whole suite."""

from __future__ import annotations

import pytest

from bench.__main__ import main


def test_the_benchmark_suite_parses_its_arguments():
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0


def test_only_takes_names_repeated_or_comma_separated(capsys):
    from bench.__main__ import BENCHMARKS, _benchmark_names, benchmark_name

    known = [benchmark_name(__import__(name, fromlist=["_"])) for name in BENCHMARKS]
    assert _benchmark_names("rerender, segment_speed", known) == ["rerender", "segment_speed"]
    with pytest.raises(SystemExit) as done:
        main(["--only", "rerender,no_such_bench"])
    assert done.value.code == 2
    assert "unknown benchmark no_such_bench" in capsys.readouterr().err
