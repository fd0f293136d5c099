"""Run the benchmarks and print one table per benchmark.

    python -m bench                        # everything, on --device auto
    python -m bench --only train_speed     # one benchmark
    python -m bench --device cpu --json    # rows as JSON lines
    python -m bench --quick --json out.json   # the quick subset; one JSON document (rows, re-render times, machine)
    python -m bench --gpu-check [--json [FILE]]   # GPU readiness: parity, fast quality, speed (bench/gpu_check.py)

A benchmark is a module listed in :data:`BENCHMARKS`. It provides ``NAME``, ``DESCRIPTION``, an optional
``add_arguments(group)`` and ``run(args) -> list[dict]`` (one dict per table row). Modules written as
``run(device=..., repeats=...) -> (title, header, rows)`` are adapted (``bench.render_speed``).
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import logging
import sys
from collections.abc import Sequence
from types import ModuleType

BENCHMARKS: list[str] = [
    "bench.engine_speed",
    "bench.side_by_side",
    "bench.rerender",
    "bench.band_share",
    "bench.winograd",
    "bench.kernel_choices",
    "bench.fast_quality",
    "bench.fast_refs",
    "bench.render_speed",
    "bench.train_speed",
    "bench.composite_quality",
    "bench.batch_speed",
    "bench.segment_speed",
    "bench.smart_fill_accuracy",
    "bench.editor_startup",
]
# --quick: engine x mode side by side (old vs new), the band shares and the editor's start-up; about 11 minutes
# on 2 idle cores.
QUICK: tuple[str, ...] = ("engine_speed", "band_share", "winograd", "fast_quality", "fast_refs", "editor_startup")


def benchmark_name(module: ModuleType) -> str:
    return getattr(module, "NAME", module.__name__.rsplit(".", 1)[-1])


def run_benchmark(module: ModuleType, args: argparse.Namespace) -> tuple[str, list[dict]]:
    """(title, rows as dicts) of one benchmark, whichever of the two protocols it follows."""
    if hasattr(module, "NAME"):
        return f"{module.NAME}: {module.DESCRIPTION}", module.run(args)
    accepted = inspect.signature(module.run).parameters
    kwargs = {key: value for key, value in (("device", args.device), ("repeats", args.repeats)) if key in accepted}
    if kwargs.get("device") == "auto":
        from regionpaint.engines.device import resolve_device

        kwargs["device"] = str(resolve_device("auto"))
    title, header, rows = module.run(**kwargs)
    return title, [dict(zip(header, row, strict=False)) for row in rows]


def format_table(rows: Sequence[dict]) -> str:
    """Rows of dicts as an aligned text table (columns in first-seen order)."""
    if not rows:
        return "(no rows)"
    columns: list[str] = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    cells = [[_cell(row.get(col)) for col in columns] for row in rows]
    widths = [max(len(col), *(len(line[i]) for line in cells)) for i, col in enumerate(columns)]
    lines = ["  ".join(col.ljust(w) for col, w in zip(columns, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in cells]
    return "\n".join(lines)


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def standalone_main(module: ModuleType, argv: Sequence[str] | None = None) -> int:
    """``python -m bench.<name>``: one benchmark on its own, with its arguments, as a table or JSON lines."""
    name = benchmark_name(module)
    spec = getattr(module, "__spec__", None)  # run with -m, the module is "__main__"; its spec keeps the name
    parser = argparse.ArgumentParser(
        prog=f"python -m {spec.name if spec else module.__name__}", description=module.DESCRIPTION
    )
    if hasattr(module, "add_arguments"):
        module.add_arguments(parser.add_argument_group(name))
    parser.add_argument("--quick", action="store_true", help="the benchmark's quick subset, where it has one")
    parser.add_argument("--json", action="store_true", help="rows as JSON lines")
    args = parser.parse_args(argv)
    rows = module.run(args)
    if args.json:
        for row in rows:
            print(json.dumps(row))
    else:
        print(f"{module.NAME}: {module.DESCRIPTION}")
        print(format_table(rows))
    return 0


def _benchmark_names(text: str, known: list[str]) -> list[str]:
    """``--only``'s value: one name or a comma-separated list, each a known benchmark."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown benchmark {', '.join(unknown) or repr(text)} (known: {', '.join(known)})"
        )
    return names


def main(argv: Sequence[str] | None = None) -> int:
    modules = [importlib.import_module(name) for name in BENCHMARKS]
    parser = argparse.ArgumentParser(prog="python -m bench", description="regionpaint benchmarks")
    names = [benchmark_name(m) for m in modules]
    parser.add_argument(
        "--only",
        action="extend",
        type=lambda text: _benchmark_names(text, names),
        metavar="NAME[,NAME...]",
        help=f"run only these (repeat or separate with commas): {', '.join(names)}",
    )
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats where a benchmark takes them")
    parser.add_argument(
        "--json",
        nargs="?",
        const="-",
        metavar="FILE",
        help="write one JSON document (rows, re-render times, machine) to FILE; without FILE print rows as JSON lines",
    )
    parser.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)} (a quick subset)")
    parser.add_argument(
        "--gpu-check",
        action="store_true",
        help="GPU readiness: reference parity and fast quality on CUDA, speed per engine and mode, one table "
        "(without CUDA: the same on the CPU at a small size); exit 1 when a check fails",
    )
    parser.add_argument(
        "--gpu-check-budget",
        type=float,
        default=420.0,
        metavar="S",
        help="--gpu-check starts no speed row after S seconds (default 420: done within 8 minutes)",
    )
    for module in modules:
        if hasattr(module, "add_arguments"):
            module.add_arguments(parser.add_argument_group(benchmark_name(module)))
    args = parser.parse_args(argv)
    if args.gpu_check:
        from bench import gpu_check

        logging.basicConfig(level=logging.WARNING, format="bench: %(message)s")
        return gpu_check.main(args)
    if args.quick and args.repeats == parser.get_default("repeats"):
        args.repeats = 2
    logging.basicConfig(level=logging.WARNING, format="bench: %(message)s")
    from bench.report import document, machine

    selected = args.only or (list(QUICK) if args.quick else None)
    results: dict[str, list[dict]] = {}
    print(f"machine: {machine(args.device)}", file=sys.stderr if args.json == "-" else sys.stdout, flush=True)
    for module in modules:
        name = benchmark_name(module)
        if selected and name not in selected:
            continue
        title, rows = run_benchmark(module, args)
        results[name] = rows
        if args.json == "-":
            for row in rows:
                print(json.dumps({"benchmark": name, **row}, default=str), flush=True)
        else:
            print(title)
            print(format_table(rows))
            print(flush=True)
    if args.json and args.json != "-":
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(document(results, args), out, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
