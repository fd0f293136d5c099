"""Fuzzing every loader: each case ends in a result or a clear user error, never a traceback, hang or blow-up.

    python -m bench.fuzz                      # >= 10,000 cases over every target, prints a table
    python -m bench.fuzz --cases 2000 --json  # fewer cases; rows as JSON lines
    python -m bench.fuzz --only project       # one target

Inputs are hypothesis-drawn mutations of real files (the demo projects and checkpoints in ``assets/``,
crops of the photos and label maps in ``../shared/fixtures``) and hypothesis-built structures (doc.json
fields and types, sidecars, opt.txt lines, spec strings, dataset folders). A case passes when the loader
returns, or raises one of regionpaint's user errors whose one-line message names the file (for files)
or quotes the flag (for specs) — what the CLI prints as ``regionpaint: error: FILE: problem`` with exit 2.
Anything else is a bug: another exception type (a traceback), a message without the file, a case over
:data:`CASE_TIMEOUT_S` (a hang), or one that raised the process's peak memory by more than
:data:`MEMORY_STEP_BYTES`. hypothesis shrinks a failing case before it is reported.

``tests/test_fuzz_loaders.py`` runs the same targets with a few dozen cases each in the normal suite.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import math
import resource
import signal
import sys
import tempfile
import time
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DEMO = REPO / "assets" / "demo"
NAME = "fuzz"
DESCRIPTION = "hostile and damaged inputs to every loader: results or clear user errors only"

CASE_TIMEOUT_S = 20
MEMORY_STEP_BYTES = 768 * 1024 * 1024
DEFAULT_CASES = 10_000

log = logging.getLogger(__name__)


class FuzzBug(AssertionError):
    """A case that ended in something other than a result or a clear user error."""


class _Hang(BaseException):
    pass


def user_error_types() -> tuple[type[BaseException], ...]:
    """regionpaint's own error types: the ones whose messages are written for a person."""
    from regionpaint.app.model.document import DocumentError
    from regionpaint.app.render_spec import SpecError
    from regionpaint.engines.base import EngineError
    from regionpaint.engines.training.layouts import LayoutError
    from regionpaint.plugins.manager import PluginError

    return (DocumentError, EngineError, PluginError, SpecError, LayoutError)


@dataclass
class Tally:
    cases: Counter = field(default_factory=Counter)
    outcomes: Counter = field(default_factory=Counter)
    bugs: list[str] = field(default_factory=list)
    seconds: Counter = field(default_factory=Counter)
    largest_step: dict = field(default_factory=dict)  # target -> (bytes the peak RSS rose in one case, case)


TALLY = Tally()


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _current_rss() -> int:
    try:
        import os

        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 0


def _on_alarm(signum, frame):  # noqa: ARG001
    raise _Hang()


def check(target: str, call: Callable[[], Any], names: list[str]) -> str:
    """Run one case; returns "ok" or "user error"; raises FuzzBug otherwise.

    ``names``: texts of which the error message must contain at least one (the file, or the flag).
    """
    TALLY.cases[target] += 1
    start, peak = time.perf_counter(), _peak_rss()
    use_alarm = hasattr(signal, "SIGALRM") and sys.platform != "win32"
    if use_alarm:
        previous = signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, CASE_TIMEOUT_S)
    try:
        try:
            call()
            outcome = "ok"
        except user_error_types() as exc:
            message = str(exc)
            if "\n" in message.strip() or not message.strip():
                raise FuzzBug(f"{target}: multi-line or empty message {message!r}") from exc
            if names and not any(name in message for name in names):
                raise FuzzBug(f"{target}: message does not name the file: {message!r}") from exc
            for advice in ("weights_only", "Traceback"):
                if advice in message:
                    raise FuzzBug(f"{target}: message passes on library text {advice!r}: {message!r}") from exc
            outcome = "user error"
        except _Hang:
            raise FuzzBug(f"{target}: no answer within {CASE_TIMEOUT_S} s (a hang)") from None
        except FuzzBug:
            raise
        except (Exception, MemoryError) as exc:
            raise FuzzBug(f"{target}: {type(exc).__name__} escaped: {str(exc)[:300]!r}") from exc
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        TALLY.seconds[target] += time.perf_counter() - start
    grown = _peak_rss() - peak
    if grown > TALLY.largest_step.get(target, (0, ""))[0]:
        TALLY.largest_step[target] = (grown, "")
    if grown > MEMORY_STEP_BYTES:
        raise FuzzBug(f"{target}: one case raised peak memory by {grown / 2**20:.0f} MiB")
    TALLY.outcomes[(target, outcome)] += 1
    return outcome


# -- seeds: real files -----------------------------------------------------------------------
class Seeds:
    """Small real files to mutate, built once per process in a scratch folder."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="regionpaint-fuzz-seeds-"))
        self.projects = sorted(DEMO.glob("*.rpaint"))
        self.images: list[bytes] = []
        self.index_labels: list[tuple[bytes, str]] = []
        self.colour_labels: list[tuple[bytes, str]] = []
        self.instances: list[bytes] = []
        self._from_demo()
        self._from_fixtures()
        self.safetensors = sorted((DEMO / "models").glob("*.safetensors"))
        self.official = self._official_folder()
        self.clusters = self._clusters()

    def _png(self, array: np.ndarray, fmt: str = "PNG") -> bytes:
        buffer = io.BytesIO()
        Image.fromarray(array).save(buffer, format=fmt)
        return buffer.getvalue()

    def _from_demo(self) -> None:
        from regionpaint.app.model.labelsets import BUILTIN_LABEL_SETS

        sets = {label_set.id: label_set for label_set in BUILTIN_LABEL_SETS}
        for project in self.projects:
            with zipfile.ZipFile(project) as archive:
                doc = json.loads(archive.read("doc.json"))
                members = doc["members"]
                self.images.append(archive.read(members["photo"]))
                label_bytes = archive.read(members["label"])
                self.index_labels.append((label_bytes, doc["label_set"]))
                label = np.asarray(Image.open(io.BytesIO(label_bytes)))
                colours = sets[doc["label_set"]].to_color(label)
                self.colour_labels.append((self._png(np.asarray(colours, np.uint8)), doc["label_set"]))
                if members.get("instance"):
                    self.instances.append(archive.read(members["instance"]))
        photo = np.asarray(Image.open(io.BytesIO(self.images[0])).convert("RGB"))
        self.images.append(self._png(photo[:64, :96], "JPEG"))

    def _from_fixtures(self) -> None:
        city = SHARED / "fixtures" / "cityscapes"
        if not city.is_dir():
            return
        crops = (slice(300, 364), slice(600, 728))
        for path in sorted(city.glob("test_img/*"))[:2]:
            self.images.append(self._png(np.asarray(Image.open(path).convert("RGB"))[crops]))
        for path in sorted(city.glob("test_label/*"))[:2]:
            self.index_labels.append((self._png(np.asarray(Image.open(path))[crops]), "cityscapes"))
        for path in sorted(city.glob("test_inst/*"))[:2]:
            array = np.asarray(Image.open(path))[crops]
            self.instances.append(self._png(array.astype(np.uint16)))

    def _official_folder(self) -> Path:
        """The SPADE demo model as an official folder: latest_net_G.pth (zip) + legacy copy + opt.txt."""
        import torch

        from regionpaint.engines.loading.checkpoint import load_safetensors, read_sidecar
        from regionpaint.engines.loading.options import format_opt_text

        source = DEMO / "models" / "spade_streets.safetensors"
        roles = load_safetensors(source)
        sidecar = read_sidecar(source.with_suffix(".json"))
        folder = self.folder / "official"
        folder.mkdir()
        torch.save(roles["G"], folder / "latest_net_G.pth")
        torch.save(roles["G"], self.folder / "legacy_net_G.pth", _use_new_zipfile_serialization=False)
        (folder / "opt.txt").write_text(format_opt_text(sidecar.get("options", {})))
        return folder

    def _clusters(self) -> Path:
        from regionpaint.engines.pix2pixhd.clusters import save_clusters

        rng = np.random.default_rng(0)
        return save_clusters(
            self.folder / "features_clustered_010.npy", {7: rng.random((10, 3)), 26: rng.random((4, 3))}
        )


_SEEDS: Seeds | None = None
# One bytes object per seed file (and project member): hypothesis caches strategies by their arguments,
# so a fresh 6 MB bytes object per example would keep every one of them alive.
_BYTES: dict[tuple[str, str], bytes] = {}


def file_bytes(path: Path, member: str = "") -> bytes:
    """The bytes of ``path`` (or of ``member`` inside the zip ``path``), read once per process."""
    key = (str(path), member)
    if key not in _BYTES:
        if member:
            with zipfile.ZipFile(path) as archive:
                _BYTES[key] = archive.read(member)
        else:
            _BYTES[key] = Path(path).read_bytes()
    return _BYTES[key]


def seeds() -> Seeds:
    global _SEEDS
    if _SEEDS is None:
        _SEEDS = Seeds()
    return _SEEDS


# -- mutations -------------------------------------------------------------------------------
class Mutation:
    """A seed file's bytes plus the edits hypothesis drew; the bytes are built only when the case runs.

    hypothesis keeps what a strategy returns for every example, so a strategy that returned the mutated
    bytes (megabytes each) would keep them all: this holds the shared seed and a few small edits instead.
    """

    def __init__(self, data: bytes, ops: list[tuple]):
        self.data, self.ops = data, ops

    def apply(self) -> bytes:
        out = bytearray(self.data)
        for op, at, arg in self.ops:
            if op == "extend":
                out.extend(arg)
            elif op == "flip":
                out[at] ^= 1 << arg
            elif op in ("overwrite", "int"):
                out[at : at + len(arg)] = arg
            elif op == "insert":
                out[at:at] = arg
            elif op == "delete":
                del out[at : at + arg]
            elif op == "truncate":
                del out[at:]
            elif op == "repeat":
                out[at:at] = bytes(out[at : at + 64]) * arg
        return bytes(out)

    def __repr__(self) -> str:
        return f"Mutation({len(self.data)} bytes, {self.ops!r})"


def materialize(value: Any) -> Any:
    return value.apply() if isinstance(value, Mutation) else value


@st.composite
def mutated(draw, data: bytes, focus: int | None = None) -> Mutation:
    """``data`` with a few byte-level mutations (flip, overwrite, insert, delete, truncate, repeat).

    ``focus`` concentrates them in the first ``focus`` bytes (headers) half of the time.
    """
    ops: list[tuple] = []
    length = len(data)
    for _ in range(draw(st.integers(1, 6))):
        limit = length if not focus or draw(st.booleans()) else min(length, focus)
        if not length:
            chunk = draw(st.binary(min_size=1, max_size=16))
            ops.append(("extend", 0, chunk))
            length += len(chunk)
            continue
        at = draw(st.integers(0, max(0, limit - 1)))
        kind = draw(st.sampled_from(["flip", "overwrite", "insert", "delete", "truncate", "repeat", "int"]))
        if kind == "flip":
            ops.append(("flip", at, draw(st.integers(0, 7))))
        elif kind == "overwrite":
            chunk = draw(st.binary(min_size=1, max_size=8))
            ops.append(("overwrite", at, chunk))
            length = max(length, at + len(chunk))
        elif kind == "insert":
            chunk = draw(st.binary(min_size=1, max_size=32))
            ops.append(("insert", at, chunk))
            length += len(chunk)
        elif kind == "delete":
            count = draw(st.integers(1, 64))
            ops.append(("delete", at, count))
            length -= min(count, length - at)
        elif kind == "truncate":
            ops.append(("truncate", at, None))
            length = at
        elif kind == "repeat":
            times = draw(st.integers(1, 8))
            ops.append(("repeat", at, times))
            length += min(64, length - at) * times
        else:  # a length or size field set to an extreme
            value = draw(st.sampled_from([0, 1, 0x7FFFFFFF, 0xFFFFFFFF, 0x10000, 65535]))
            ops.append(("int", at, value.to_bytes(4, draw(st.sampled_from(["big", "little"])))))
            length = max(length, at + 4)
    return Mutation(data, ops)


_MODES = ("L", "P", "1", "I;16", "I", "F", "RGB", "RGBA", "LA")


def huge_png_header(width: int, height: int) -> bytes:
    """A valid PNG that declares ``width`` x ``height`` grey pixels and holds none."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


@st.composite
def generated_image(draw, kind: str) -> bytes:
    """A well-formed image file of any mode, size and values (a label map with ids out of range, a 1x1
    photo, a 16-bit photo, an RGBA label map...), in PNG, TIFF, BMP or JPEG."""
    if draw(st.integers(0, 19)) == 0:  # a header that declares a huge image (a decompression bomb)
        return huge_png_header(*draw(st.sampled_from([(12000, 12000), (60000, 60000), (1, 10**7), (2**31 - 1, 1)])))
    mode = draw(st.sampled_from(_MODES))
    width, height = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    top = draw(st.sampled_from([1, 7, 13, 26, 40, 255, 65535, 70000]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    grid = rng.integers(0, top + 1, (height, width)) if draw(st.booleans()) else np.full((height, width), top)
    if mode in ("L", "P", "1"):
        image = Image.fromarray(grid.clip(0, 255).astype(np.uint8)).convert(mode)
    elif mode == "I;16":
        image = Image.fromarray(grid.clip(0, 65535).astype(np.uint16))
    elif mode == "I":
        image = Image.fromarray(grid.astype(np.int32))
    elif mode == "F":
        image = Image.fromarray(grid.astype(np.float32))
    else:
        channels = {"RGB": 3, "RGBA": 4, "LA": 2}[mode]
        stack = np.stack([np.roll(grid, shift, axis=1) for shift in range(channels)], axis=-1)
        image = Image.fromarray(stack.clip(0, 255).astype(np.uint8), mode)
    formats = ["PNG", "TIFF", "BMP"] + (["JPEG"] if mode in ("L", "RGB") else [])
    buffer = io.BytesIO()
    try:
        image.save(buffer, format=draw(st.sampled_from(formats)))
    except (OSError, ValueError, KeyError):
        buffer = io.BytesIO()
        image.save(buffer, format="TIFF")
    return buffer.getvalue()


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=8,
)


@st.composite
def json_mutation(draw, value: Any) -> Any:
    """``value`` (parsed JSON) with one field somewhere replaced, removed or added."""
    if isinstance(value, dict) and value and draw(st.integers(0, 3)):
        key = draw(st.sampled_from(sorted(value)))
        action = draw(st.sampled_from(["replace", "recurse", "delete", "add"]))
        copy = dict(value)
        if action == "replace":
            copy[key] = draw(JSON_VALUES)
        elif action == "recurse":
            copy[key] = draw(json_mutation(value[key]))
        elif action == "delete":
            del copy[key]
        else:
            copy[draw(st.text(max_size=10))] = draw(JSON_VALUES)
        return copy
    if isinstance(value, list) and value and draw(st.integers(0, 3)):
        index = draw(st.integers(0, len(value) - 1))
        copy = list(value)
        copy[index] = draw(json_mutation(value[index])) if draw(st.booleans()) else draw(JSON_VALUES)
        return copy
    return draw(JSON_VALUES)


# -- targets ---------------------------------------------------------------------------------
@dataclass
class Target:
    name: str
    strategy: Callable[[], st.SearchStrategy]
    run: Callable[[Any, Path], tuple[Callable[[], Any], list[str]]]
    weight: float = 1.0  # share of the cases (slow targets get fewer)
    shrink: bool = True  # slow targets report the case as found (shrinking would take many minutes)


def _image_case(kind: str):
    def strategy():
        s = seeds()
        pool = {
            "photo": [(b, None) for b in s.images],
            "index": s.index_labels,
            "colour": s.colour_labels,
            "instance": [(b, None) for b in s.instances],
        }[kind]
        label_set_ids = sorted({label_set_id for _, label_set_id in pool if label_set_id}) or [None]
        damaged = st.sampled_from(pool).flatmap(lambda seed: st.tuples(mutated(seed[0], focus=64), st.just(seed[1])))
        return st.one_of(damaged, st.tuples(generated_image(kind), st.sampled_from(label_set_ids)))

    def run(case, folder):
        from regionpaint.app.model.imports import read_instance_map, read_label_map, read_photo
        from regionpaint.app.model.labelsets import BUILTIN_LABEL_SETS

        data, label_set_id = case
        path = _write(folder, f"{kind}.png", materialize(data))
        sets = {label_set.id: label_set for label_set in BUILTIN_LABEL_SETS}
        call = {
            "photo": lambda: read_photo(path),
            "index": lambda: read_label_map(path, sets.get(label_set_id)),
            "colour": lambda: read_label_map(path, sets.get(label_set_id)),
            "instance": lambda: read_instance_map(path),
        }[kind]
        return call, [str(path)]

    return strategy, run


def _project_strategy():
    s = seeds()

    @st.composite
    def project(draw):
        source = draw(st.sampled_from(s.projects))
        with zipfile.ZipFile(source) as archive:
            members = {info.filename: file_bytes(source, info.filename) for info in archive.infolist()}
        kind = draw(st.sampled_from(["bytes", "doc", "doc", "member", "names", "schema"]))
        if kind == "bytes":
            return ("raw", draw(mutated(file_bytes(source), focus=2048)))
        doc = json.loads(members["doc.json"])
        if kind == "doc":
            doc = draw(json_mutation(doc))
        elif kind == "schema":
            doc["schema"] = draw(st.one_of(st.integers(-3, 5), JSON_VALUES))
        elif kind == "member":
            name = draw(st.sampled_from(sorted(members)))
            members[name] = draw(mutated(file_bytes(source, name), focus=128))
        else:
            name = draw(st.sampled_from(sorted(members)))
            new = draw(
                st.sampled_from(
                    [
                        "../evil.png",
                        "/abs.png",
                        "a\\b.png",
                        "",
                        "styles/../x",
                        "label.png",
                        "photo.png",
                        "x" * 300,
                        "styles/9/image.png",
                        "C:x.png",
                    ]
                )
            )
            if draw(st.booleans()):
                members[new] = members.pop(name)
            else:
                doc.setdefault("members", {})["label"] = new if isinstance(doc.get("members"), dict) else new
        try:
            text = json.dumps(doc)
        except (TypeError, ValueError):
            text = "{"
        members["doc.json"] = text.encode()
        return ("members", members)

    return project()


def _run_project(case, folder):
    from regionpaint.app.model.project import open_project

    path = folder / "case.rpaint"
    kind, value = case
    if kind == "raw":
        path.write_bytes(materialize(value))
    else:
        with zipfile.ZipFile(path, "w") as archive:
            for name, data in value.items():
                try:
                    archive.writestr(name, materialize(data))
                except (ValueError, OSError, IndexError):
                    pass  # a name zipfile itself cannot write (empty): not a file anyone can send
    return (lambda: open_project(path)), [str(path)]


def _safetensors_strategy():
    s = seeds()
    return st.sampled_from(s.safetensors).flatmap(lambda p: st.tuples(st.just(p), mutated(file_bytes(p), focus=4096)))


def _run_safetensors(case, folder):
    from regionpaint.engines.loading.checkpoint import inspect_checkpoint, load_weights

    source, data = case
    path = _write(folder, source.name, materialize(data))
    (folder / source.with_suffix(".json").name).write_bytes(source.with_suffix(".json").read_bytes())

    def call():
        info = inspect_checkpoint(path)
        load_weights(info.files)

    return call, [str(path)]


def _sidecar_strategy():
    s = seeds()
    return st.sampled_from(s.safetensors).flatmap(
        lambda p: st.tuples(st.just(p), json_mutation(json.loads(p.with_suffix(".json").read_text())))
    )


def _load_engine(path: Path):
    from regionpaint.engines.loading.checkpoint import inspect_checkpoint
    from regionpaint.plugins.manager import get_plugin_manager

    info = inspect_checkpoint(path)
    engine = get_plugin_manager().engine_for_checkpoint(info)()
    engine.load(path, "cpu")
    engine.release() if hasattr(engine, "release") else None


def _run_sidecar(case, folder):
    source, sidecar = case
    path = folder / source.name
    if not path.exists():
        path.symlink_to(source)
    (folder / source.with_suffix(".json").name).write_text(json.dumps(sidecar))
    return (lambda: _load_engine(path)), [str(path), str(path.with_suffix(".json"))]


def _pth_strategy():
    s = seeds()
    choices = [s.official / "latest_net_G.pth", s.folder / "legacy_net_G.pth"]
    return st.sampled_from(choices).flatmap(lambda p: st.tuples(st.just(p.name), mutated(file_bytes(p), focus=1024)))


def _run_pth(case, folder):
    from regionpaint.engines.loading.checkpoint import inspect_checkpoint, load_torch_file

    name, data = case
    path = _write(folder, "latest_net_G.pth" if "latest" in name else "legacy_net_G.pth", materialize(data))

    def call():
        inspect_checkpoint(path)
        load_torch_file(path)

    return call, [str(path)]


def _opt_strategy():
    text = (seeds().official / "opt.txt").read_text()
    lines = text.splitlines()

    @st.composite
    def opt(draw):
        out = list(lines)
        for _ in range(draw(st.integers(1, 4))):
            index = draw(st.integers(0, len(out)))
            key = draw(
                st.sampled_from(
                    [
                        "label_nc",
                        "ngf",
                        "norm_G",
                        "num_upsampling_layers",
                        "crop_size",
                        "aspect_ratio",
                        "use_vae",
                        "no_instance",
                        "contain_dontcare_label",
                        "semantic_nc",
                        "z_dim",
                        draw(st.text(max_size=8)),
                    ]
                )
            )
            value = draw(
                st.one_of(
                    st.text(max_size=12),
                    st.integers(-5, 10**9).map(str),
                    st.sampled_from(["nan", "inf", "-1", "1e309", "True", "spectralinstance"]),
                )
            )
            out.insert(index, f"{key:>25}: {value}")
        return "\n".join(out)

    return opt()


def _run_opt(case, folder):
    official = seeds().official
    run = folder / "run"
    run.mkdir(exist_ok=True)
    target = run / "latest_net_G.pth"
    if not target.exists():
        target.symlink_to(official / "latest_net_G.pth")
    (run / "opt.txt").write_text(case, encoding="utf-8", errors="replace")
    return (lambda: _load_engine(run)), [str(run)]


def _clusters_strategy():
    return mutated(file_bytes(seeds().clusters), focus=256)


def _run_clusters(case, folder):
    from regionpaint.engines.pix2pixhd.clusters import load_clusters

    path = _write(folder, "features_clustered_010.npy", materialize(case))
    return (lambda: load_clusters(path)), [str(path)]


SPEC_TEXT = st.text(alphabet=st.sampled_from(list("AB@=:,.-0123456789xX allcarsky\\/é")), max_size=30)


def _spec_strategy():
    return st.tuples(
        st.sampled_from(["style", "region", "crossover", "size", "instance", "class"]),
        st.lists(SPEC_TEXT, min_size=1, max_size=3),
    )


def _run_spec(case, folder):  # noqa: ARG001
    from regionpaint.app import render_spec
    from regionpaint.app.model.labelsets import BUILTIN_LABEL_SETS

    kind, entries = case
    label_set = next(ls for ls in BUILTIN_LABEL_SETS if ls.id == "cityscapes")
    sources = ["A", "B"]
    call = {
        "style": lambda: [render_spec.parse_style_arg(e) for e in entries],
        "region": lambda: render_spec.parse_region_styles(entries, label_set, sources),
        "crossover": lambda: render_spec.parse_crossover(entries, ["head_0", "G_middle_0"], sources),
        "size": lambda: [render_spec.parse_size(e) for e in entries],
        "instance": lambda: render_spec.parse_instance_clusters(entries),
        "class": lambda: render_spec.parse_class_clusters(entries, label_set),
    }[kind]
    flags = ["--style", "--region-style", "--crossover", "--size", "--instance-cluster", "--class-cluster", "class "]
    return call, flags


def _dataset_strategy():
    s = seeds()

    @st.composite
    def dataset(draw):
        layout = draw(st.sampled_from(["flat", "celebamask-hq", "custom", "auto"]))
        count = draw(st.integers(0, 4))
        files = []
        for number in range(count):
            stem = draw(st.sampled_from([f"img{number}", f"a b{number}", f"é{number}", f".hidden{number}"]))
            label, _ = s.index_labels[number % len(s.index_labels)]
            image = s.images[number % len(s.images)]
            choice = draw(st.integers(0, 5))
            if choice <= 1:
                label = draw(mutated(label, focus=64))
            elif choice == 2:
                label = draw(generated_image("index"))
            if draw(st.integers(0, 3)) == 0:
                image = draw(mutated(image, focus=64))
            files.append((stem, label, image, draw(st.booleans())))
        return layout, files

    return dataset()


def _run_dataset(case, folder):
    from regionpaint.engines.training.validation import validate_dataset

    layout, files = case
    root = folder / "data"
    label_dir, image_dir = {
        "flat": ("train_label", "train_img"),
        "celebamask-hq": ("train/labels", "train/images"),
        "custom": ("labels", "images"),
        "auto": ("train_label", "train_img"),
    }[layout]
    (root / label_dir).mkdir(parents=True, exist_ok=True)
    (root / image_dir).mkdir(parents=True, exist_ok=True)
    for stem, label, image, paired in files:
        _write(root / label_dir, f"{stem}.png", materialize(label))
        if paired:
            _write(root / image_dir, f"{stem}.jpg", materialize(image))

    def call():
        report = validate_dataset(root, layout, label_nc=35, workers=1)
        for issue in [*report.unpaired, *report.bad_ids, *report.size_mismatches, *report.unreadable]:
            if str(root) not in str(issue):
                raise FuzzBug(f"dataset: issue does not name its file: {issue}")
        for error in report.errors:
            if "\n" in error:
                raise FuzzBug(f"dataset: multi-line error {error!r}")

    return call, [str(root)]


def _journal_strategy():
    from regionpaint.app.model import edits
    from regionpaint.app.model.document import Document
    from regionpaint.app.model.journal import EditJournal
    from regionpaint.app.model.labelsets import CELEBAMASK_HQ

    path = seeds().folder / "journal-seed.bin"
    if not path.exists():
        doc = Document(np.zeros((24, 32), np.uint8), CELEBAMASK_HQ.id)
        journal = EditJournal(path)
        journal.start(doc)
        for number in range(4):
            edits.paint_stroke(doc, CELEBAMASK_HQ, [(number * 5, 3), (number * 5 + 4, 20)], number + 1, 2.0)
            journal.record(doc)
        journal.close()
    return mutated(file_bytes(path), focus=256)


def _run_journal(case, folder):
    from regionpaint.app.model.journal import read_records, replay

    path = _write(folder, "journal.bin", materialize(case))
    return (lambda: replay(read_records(path), None)), [str(path)]


TARGETS: dict[str, Target] = {
    "image_photo": Target("image_photo", *_image_case("photo")),
    "label_index": Target("label_index", *_image_case("index")),
    "label_colour": Target("label_colour", *_image_case("colour")),
    "instance_16bit": Target("instance_16bit", *_image_case("instance")),
    "project": Target("project", _project_strategy, _run_project, 2.0),
    "safetensors": Target("safetensors", _safetensors_strategy, _run_safetensors),
    "sidecar": Target("sidecar", _sidecar_strategy, _run_sidecar, 0.15, shrink=False),
    "pth": Target("pth", _pth_strategy, _run_pth),
    "opt_txt": Target("opt_txt", _opt_strategy, _run_opt, 0.15, shrink=False),
    "clusters_npy": Target("clusters_npy", _clusters_strategy, _run_clusters),
    "specs": Target("specs", _spec_strategy, _run_spec, 1.5),
    "dataset": Target("dataset", _dataset_strategy, _run_dataset, 0.5),
    "journal": Target("journal", _journal_strategy, _run_journal),
}


def fuzz_target(target: Target, cases: int, folder: Path, seed: int | None = None) -> None:
    """Run ``cases`` hypothesis examples of ``target``; a bug raises FuzzBug (shrunk by hypothesis)."""
    scratch = folder / target.name
    scratch.mkdir(parents=True, exist_ok=True)

    @settings(
        max_examples=cases,
        deadline=None,
        database=None,
        derandomize=seed is None,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target] + ([Phase.shrink] if target.shrink else []),
    )
    @given(case=target.strategy())
    def run(case):
        with tempfile.TemporaryDirectory(dir=scratch) as case_folder:
            call, names = target.run(case, Path(case_folder))
            before = TALLY.largest_step.get(target.name, (0, ""))[0]
            try:
                check(target.name, call, names)
                if TALLY.largest_step.get(target.name, (0, ""))[0] > before:
                    TALLY.largest_step[target.name] = (TALLY.largest_step[target.name][0], describe_case(case))
            except FuzzBug as bug:
                raise FuzzBug(f"{bug} [case: {describe_case(case)}]") from bug

    if seed is not None:
        from hypothesis import seed as hypothesis_seed

        run = hypothesis_seed(seed)(run)
    run()


def describe_case(case: Any) -> str:
    """A short text of a failing case for the report (a project's doc.json rather than its PNG bytes)."""
    if isinstance(case, tuple) and len(case) == 2 and case[0] == "members":
        return f"doc.json={materialize(case[1].get('doc.json', b''))[:300]!r}, members={sorted(case[1])[:8]}"
    text = repr(case)
    return text if len(text) <= 300 else text[:300] + "..."


def add_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--cases", type=int, default=DEFAULT_CASES, help="total cases over all targets")
    group.add_argument("--target", action="append", help="only these targets (repeatable)")
    group.add_argument("--seed", type=int, default=None, help="hypothesis seed (default: derandomized)")


def run(args: argparse.Namespace) -> list[dict]:
    import warnings

    logging.getLogger().setLevel(logging.ERROR)  # loaders log what they refuse; the table says it
    warnings.simplefilter("ignore")  # torch and Pillow warn about damaged files the cases are made of
    chosen = [TARGETS[name] for name in (args.target or TARGETS)]
    total_weight = sum(target.weight for target in chosen)
    rows = []
    with tempfile.TemporaryDirectory(prefix="regionpaint-fuzz-") as folder:
        for target in chosen:
            cases = max(1, math.ceil(args.cases * target.weight / total_weight))
            bug = ""
            try:
                fuzz_target(target, cases, Path(folder), args.seed)
            except FuzzBug as exc:
                bug = str(exc)
                TALLY.bugs.append(bug)
            except Exception as exc:  # noqa: BLE001 (a broken harness must not hide the other targets)
                # hypothesis raises an exception group when it found several distinct bugs
                found = getattr(exc, "exceptions", None) or [exc]
                bugs = [str(e) if isinstance(e, FuzzBug) else f"harness: {type(e).__name__}: {e}" for e in found]
                TALLY.bugs.extend(bugs)
                bug = " | ".join(bugs)
            done = TALLY.cases[target.name]
            rows.append(
                {
                    "target": target.name,
                    "cases": done,
                    "ok": TALLY.outcomes[(target.name, "ok")],
                    "user errors": TALLY.outcomes[(target.name, "user error")],
                    "seconds": round(TALLY.seconds[target.name], 1),
                    "peak step MiB": round(TALLY.largest_step.get(target.name, (0, ""))[0] / 2**20),
                    "RSS after MiB": round(_current_rss() / 2**20),
                    "bug": bug[:160] or "-",
                }
            )
    rows.append(
        {
            "target": "TOTAL",
            "cases": sum(TALLY.cases.values()),
            "ok": sum(v for (_, kind), v in TALLY.outcomes.items() if kind == "ok"),
            "user errors": sum(v for (_, kind), v in TALLY.outcomes.items() if kind == "user error"),
            "seconds": round(sum(TALLY.seconds.values()), 1),
            "peak step MiB": "",
            "RSS after MiB": "",
            "bug": f"{len(TALLY.bugs)} bugs; peak RSS {_peak_rss() / 2**20:.0f} MiB",
        }
    )
    return rows


def main(argv: list[str] | None = None) -> int:
    from bench.__main__ import standalone_main

    standalone_main(sys.modules[__name__], argv)
    for bug in TALLY.bugs:
        print(f"BUG {bug}", file=sys.stderr)
    for target, (grown, case) in sorted(TALLY.largest_step.items()):
        if grown > 64 * 2**20:
            print(f"largest memory step {target}: {grown / 2**20:.0f} MiB [case: {case}]", file=sys.stderr)
    return 1 if TALLY.bugs else 0


if __name__ == "__main__":
    sys.exit(main())
