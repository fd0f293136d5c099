"""`python -m bench` builds one parser from every benchmark's arguments: a clash would break the whole suite."""

from __future__ import annotations

import pytest

from bench.__main__ import main


def test_the_benchmark_suite_parses_its_arguments():
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
