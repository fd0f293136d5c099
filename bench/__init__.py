"""``python -m bench``: regionpaint's benchmarks. Each module in :data:`bench.__main__.BENCHMARKS` provides
``NAME``, ``DESCRIPTION``, ``add_arguments(parser)`` (optional) and ``run(args) -> list[dict]`` (table rows)."""
