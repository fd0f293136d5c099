"""``manifest.jsonl``: one JSON record per rendered output, beside the outputs (torch-free).

A record holds the output's key and path, the engine, the checkpoint (and a stamp of its files), the
settings (``render`` flags, see :mod:`regionpaint.app.batch.styles`), stamps of the input files, the SHA-256 of the
written image, and ``render``: the command line that reproduces it. A rerun skips an output when its latest
record has the same *fingerprint* (engine, checkpoint stamp, settings, input stamps) and the file on disk
still has the recorded SHA-256, so a changed input, setting, checkpoint or a damaged output renders again.

While a batch runs, each rank appends to its own ``manifest.rank<R>.jsonl.part`` (no two processes write
one file); at the end rank 0 merges them into ``manifest.jsonl`` (latest record per output, written
atomically). Parts left by a killed run are read as well and merged by the next run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from regionpaint import untrusted

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.jsonl"
SCHEMA_VERSION = 1

# What a record promises about its image (docs/batch.md, "What the manifest promises"):
# * ``sha256`` is the checksum of the file this run wrote: reruns compare it to detect a damaged or replaced
#   output. It is not a replay target.
# * Rendering the same settings again (``render``, a rerun, another ``--batch-size``, other neighbours in a
#   batch, another number of processes, another CPU or a GPU in float32) gives every channel of every pixel
#   within this many levels of 255 of the recorded image, in exact mode. Why 1 holds by construction: the
#   outputs are ``trunc((x + 1) / 2 * 255)`` of a float32 tanh output x; two runs whose kernels differ only
#   in summation order (oneDNN picks kernels by batch size and CPU, e.g. AMX Xeons vs AMD EPYC; Winograd or
#   direct convolutions; thread counts) agree in x to ~1e-5, far below the 2 / 255 = 7.8e-3 that a
#   difference of 2 levels would need. Bit-identical bytes come only from identical kernels, which nothing
#   can promise across batch compositions, machines or library versions.
# Fast mode (``--fast``: bfloat16/float16 kernels, which differ more between CPUs) has no per-pixel bound;
# its renders stay >= 40 dB PSNR of exact ones (docs/performance.md, tests/test_fast_mode.py).
REPLAY_TOLERANCE_LEVELS = 1


def file_stamp(path: str | Path | None) -> list[Any] | None:
    """[resolved path, size, mtime_ns] of a file: cheap, and changes when the file is replaced."""
    if path is None:
        return None
    p = Path(path)
    try:
        stat = p.stat()
    except OSError:
        return [str(p), None, None]
    return [str(p.resolve()), stat.st_size, stat.st_mtime_ns]


def checkpoint_stamp(checkpoint: str | Path) -> list[Any]:
    """Stamps of the files a checkpoint is made of (a folder: its weight, option and feature files)."""
    path = Path(checkpoint)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".pth", ".safetensors", ".json", ".npy", ".txt"))
    else:
        files = [path, path.with_suffix(".json")]
    return [file_stamp(p) for p in files if p.exists()]


def settings_inputs(settings: Mapping[str, Any]) -> list[str]:
    """Every file a settings dict reads (label, instance, style photos and labels, z, mean-style folder)."""
    from regionpaint.app.render_spec import parse_style_arg

    paths = [settings.get("label"), settings.get("instance"), settings.get("z")]
    for spec in settings.get("style") or []:
        _, image, label = parse_style_arg(spec)
        paths += [image, label]
    return [str(p) for p in paths if p]


def fingerprint(engine: str, checkpoint: list[Any], settings: Mapping[str, Any]) -> str:
    """What an output depends on, hashed: same fingerprint, same image."""
    payload = {
        "engine": engine,
        "checkpoint": checkpoint,
        "settings": dict(settings),
        "inputs": [file_stamp(p) for p in settings_inputs(settings)],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def sha256_file(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _read_lines(path: Path) -> Iterable[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return
    for line in text.splitlines():
        try:
            record = untrusted.loads_json(line, str(path))
        except untrusted.UntrustedFileError:
            continue  # a line cut short by a killed run (or too deep, or with absurd numbers): not a record
        if isinstance(record, dict) and "key" in record and "fingerprint" in record:
            yield record


def part_files(out_dir: Path) -> list[Path]:
    return sorted(out_dir.glob("manifest.rank*.jsonl.part"))


def read_records(out_dir: str | Path) -> dict[str, dict[str, Any]]:
    """{output key: latest record} from ``manifest.jsonl`` and any part files beside it."""
    out_dir = Path(out_dir)
    records: dict[str, dict[str, Any]] = {}
    for path in [out_dir / MANIFEST_NAME, *part_files(out_dir)]:
        for record in _read_lines(path):
            records[record["key"]] = record
    return records


def is_done(record: Mapping[str, Any] | None, expected_fingerprint: str, output: Path) -> bool:
    """True when ``record`` rendered these settings and ``output`` is still the image it wrote."""
    if record is None or record.get("fingerprint") != expected_fingerprint:
        return False
    return output.is_file() and sha256_file(output) == record.get("sha256")


class ManifestWriter:
    """Appends records to this rank's part file (thread-safe); :func:`merge` folds the parts in."""

    def __init__(self, out_dir: Path, rank: int = 0) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        self.path = out_dir / f"manifest.rank{rank}.jsonl.part"
        self._lock = threading.Lock()
        self._stream = self.path.open("a", encoding="utf-8")

    def append(self, record: Mapping[str, Any]) -> None:
        line = json.dumps({"v": SCHEMA_VERSION, **record}, default=str)
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()

    def close(self) -> None:
        with self._lock:
            self._stream.close()


def merge(out_dir: str | Path) -> Path:
    """Fold the part files into ``manifest.jsonl`` (latest record per output, sorted), atomically."""
    out_dir = Path(out_dir)
    records = read_records(out_dir)
    target = out_dir / MANIFEST_NAME
    lines = [json.dumps(records[key], default=str) + "\n" for key in sorted(records)]
    write_atomic(target, "".join(lines).encode("utf-8"))
    for part in part_files(out_dir):
        part.unlink(missing_ok=True)
    return target


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
