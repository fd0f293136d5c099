"""A contract test suite for engine plugins, plus sample inputs for each label set.

A plugin's test needs three lines::

    from regionpaint.testing import check_engine
    from my_plugin.engine import MyEngine

    def test_contract():
        check_engine(MyEngine)                     # engines with needs_checkpoint = False
        # check_engine(MyEngine, checkpoint="tests/tiny_ckpt")   # engines that load weights

:func:`check_engine` checks that the class attributes are readable without importing torch, that the
option schema is well formed, that ``generate`` returns the documented types for a plain request and for
a request exercising every declared capability (and every option's extremes), that each capability the
checkpoint offers changes the output the way it promises and inputs of the others are refused or ignored
(:mod:`regionpaint.capability_checks`), and that bad input raises :class:`regionpaint.EngineError` rather
than anything else. It raises one ``AssertionError`` listing every broken rule, and returns the names of the
checks that passed.

:func:`tiny_label_map`, :func:`tiny_style_source` and :func:`sample_requests` give small, real inputs
(a few classes of a built-in label set, in bands and a block) for a plugin's own tests.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from regionpaint.capability_checks import Inputs, capability_checks, offered_capabilities
from regionpaint.engines.base import (
    ALL_CAPABILITIES,
    CROSSOVER,
    INSTANCE_FEATURES,
    INSTANCE_MAP,
    LATENT_Z,
    NOISE,
    REGION_STYLES,
    STYLE_INTERPOLATION,
    Engine,
    EngineError,
    RenderRequest,
    RenderResult,
    StyleSource,
)
from regionpaint.engines.schema import KINDS, Option

TINY_SIZE = (64, 48)  # (W, H) of the sample label maps
# Names of the behaviour checks in check_engine's list (the rest are named by their capability).
BEHAVIOUR_NAMES = {NOISE: "seeded noise", "repeatable": "repeatable"}
# Sample requests an engine may refuse with an EngineError (no style source, a size it cannot render).
OPTIONAL_REQUESTS = ("plain", "size")


def label_set(label_set_id: str):
    """A built-in label set by id (``celebamask-hq``, ``cityscapes``, ``ade20k``, ``coco-stuff``)."""
    from regionpaint.app.model.labelsets import BUILTIN_LABEL_SETS

    for item in BUILTIN_LABEL_SETS:
        if item.id == label_set_id:
            return item
    known = ", ".join(item.id for item in BUILTIN_LABEL_SETS)
    raise KeyError(f"no built-in label set {label_set_id!r} (built-in: {known})")


def sample_classes(label_set_id: str, count: int = 4) -> list[int]:
    """``count`` class ids spread over the label set (the first class included)."""
    n = label_set(label_set_id).num_classes
    return sorted({int(round(i * (n - 1) / max(1, count - 1))) for i in range(count)})


def tiny_label_map(label_set_id: str, size: tuple[int, int] = TINY_SIZE) -> np.ndarray:
    """(H, W) uint8/uint16 class ids: horizontal bands of a few classes and a block of another."""
    width, height = size
    classes = sample_classes(label_set_id)
    label = np.zeros((height, width), dtype=np.int64)
    bands = classes[:-1] or classes
    for i, class_id in enumerate(bands):
        label[i * height // len(bands) : (i + 1) * height // len(bands)] = class_id
    label[height // 4 : 3 * height // 4, width // 3 : 2 * width // 3] = classes[-1]
    return label.astype(np.uint8 if label.max() < 256 else np.uint16)


def tiny_instance_map(label: np.ndarray) -> np.ndarray:
    """Cityscapes-style instance ids (``class * 1000 + k``): every class one instance, k = 0."""
    return label.astype(np.int32) * 1000


def tiny_style_source(
    label_set_id: str, name: str = "A", size: tuple[int, int] = TINY_SIZE, seed: int = 0, invert: bool = False
):
    """A :class:`StyleSource`: each class of :func:`tiny_label_map` in its official colour, with noise texture.

    ``invert``: the colours inverted (255 - value), so that a second source differs from the first in every
    class and a style change shows (:func:`sample_requests`' source B).
    """
    ls = label_set(label_set_id)
    label = tiny_label_map(label_set_id, size)
    colours = np.array(ls.colors, dtype=np.float32)[np.minimum(label, ls.num_classes - 1)]
    if invert:
        colours = 255.0 - colours
    noise = np.random.default_rng(seed).normal(0, 12, colours.shape)
    image = np.clip(colours + noise, 0, 255).astype(np.uint8)
    return StyleSource(name=name, image=image, label=label, instance=tiny_instance_map(label))


def sample_requests(engine_class: type[Engine], label_set_id: str | None = None) -> dict[str, RenderRequest]:
    """Requests by name: ``"plain"``, ``"size"`` and one per capability the engine declares."""
    label_set_id = label_set_id or (engine_class.label_sets[0] if engine_class.label_sets else "cityscapes")
    label = tiny_label_map(label_set_id)
    a, b = tiny_style_source(label_set_id, "A", seed=1), tiny_style_source(label_set_id, "B", seed=2, invert=True)
    base = RenderRequest(label=label, label_set=label_set_id, seed=0)
    classes = sample_classes(label_set_id)
    caps = engine_class.capabilities
    requests = {"plain": base, "size": dataclasses.replace(base, size=(32, 24))}
    styled = dataclasses.replace(base, styles={"A": a, "B": b}, default_style=(("A", 1.0),))
    if REGION_STYLES in caps:
        requests[REGION_STYLES] = dataclasses.replace(styled, region_styles={classes[-1]: (("B", 1.0),)})
    if STYLE_INTERPOLATION in caps:
        requests[STYLE_INTERPOLATION] = dataclasses.replace(
            styled, region_styles={classes[0]: (("A", 0.5), ("B", 0.5))}
        )
    if CROSSOVER in caps and engine_class.style_blocks:
        requests[CROSSOVER] = dataclasses.replace(styled, crossover={engine_class.style_blocks[0]: "B"})
    if LATENT_Z in caps:
        requests[LATENT_Z] = dataclasses.replace(base, sample=True, seed=3)
    if INSTANCE_MAP in caps or INSTANCE_FEATURES in caps:
        requests[INSTANCE_MAP] = dataclasses.replace(base, instance=tiny_instance_map(label))
    if INSTANCE_FEATURES in caps:
        requests[INSTANCE_FEATURES] = dataclasses.replace(styled, instance=tiny_instance_map(label), feature_source="A")
    if NOISE in caps:
        requests[NOISE] = dataclasses.replace(styled, noise=False)
    return requests


def behaviour_inputs(engine_class: type[Engine], label_set_id: str) -> Inputs:
    """What the behaviour checks vary (``regionpaint.capability_checks``): the tiny label map, its block class,
    the plain request and one with sources A and B (B in inverted colours) and every class from A."""
    requests = sample_requests(engine_class, label_set_id)
    plain = requests["plain"]
    styled = dataclasses.replace(
        plain,
        styles={n: tiny_style_source(label_set_id, n, seed=i + 1, invert=n == "B") for i, n in enumerate("AB")},
        default_style=(("A", 1.0),),
    )
    return Inputs(label=plain.label, block_class=sample_classes(label_set_id)[-1], plain=plain, styled=styled)


class _Report:
    def __init__(self) -> None:
        self.failures: list[str] = []
        self.passed: list[str] = []

    def check(self, name: str, test: Callable[[], None]) -> None:
        try:
            test()
        except AssertionError as exc:
            self.failures.append(f"{name}: {exc}")
        except Exception as exc:  # an engine that crashes on a documented input
            self.failures.append(f"{name}: raised {type(exc).__name__}: {exc}")
        else:
            self.passed.append(name)


def check_engine(
    engine_class: type[Engine],
    checkpoint: str | Path | None = None,
    *,
    label_sets: Iterable[str] | None = None,
    device: str = "cpu",
    check_import: bool = True,
) -> list[str]:
    """Run the engine contract against ``engine_class``; returns the checks that passed.

    ``checkpoint``: what ``load`` gets (required for engines with ``needs_checkpoint``; without one only
    the class checks run). ``label_sets``: label set ids to render (default: the engine's first).
    Raises ``AssertionError`` listing every failed check.
    """
    report = _Report()
    report.check("class attributes", lambda: _check_class(engine_class))
    if check_import:
        report.check("importable without torch", lambda: _check_import_without_torch(engine_class))
    if engine_class.needs_checkpoint and checkpoint is None:
        report.passed.append("render checks skipped: the engine needs a checkpoint and none was given")
    else:
        engine = engine_class()
        report.check("load", lambda: engine.load(checkpoint, device))
        if "load" in report.passed:
            offered = offered_capabilities(engine_class, checkpoint)
            ids = list(label_sets or engine_class.label_sets[:1] or ("cityscapes",))
            for label_set_id in ids:
                for name, request in sample_requests(engine_class, label_set_id).items():
                    # A request without styles or at a free size may be refused (SEAN needs a style, sizes
                    # may need multiples of 32), as long as the refusal is an EngineError; capabilities may not.
                    may_refuse = name in OPTIONAL_REQUESTS
                    check = lambda r=request, m=may_refuse: _check_result(engine, r, may_refuse=m)  # noqa: E731
                    report.check(f"generate[{label_set_id}:{name}]", check)
                report.check(f"options[{label_set_id}]", lambda i=label_set_id: _check_options(engine, i))
                for name, check in capability_checks(
                    engine, behaviour_inputs(engine_class, label_set_id), offered
                ).items():
                    report.check(f"{BEHAVIOUR_NAMES.get(name, name)}[{label_set_id}]", check)
                report.check(f"bad input[{label_set_id}]", lambda i=label_set_id: _check_bad_input(engine, i))
            engine.release()
    if report.failures:
        raise AssertionError(f"{engine_class.__name__} breaks the engine contract:\n  " + "\n  ".join(report.failures))
    return report.passed


def _check_class(cls: type[Engine]) -> None:
    assert isinstance(cls, type) and issubclass(cls, Engine), "not a regionpaint.Engine subclass"
    assert isinstance(getattr(cls, "id", None), str) and cls.id, "id must be a non-empty string"
    assert cls.id == cls.id.strip().lower() and " " not in cls.id, f"id {cls.id!r}: lower case, no spaces"
    assert isinstance(getattr(cls, "display_name", None), str) and cls.display_name, "display_name missing"
    assert isinstance(cls.capabilities, frozenset), "capabilities must be a frozenset"
    unknown = set(cls.capabilities) - set(ALL_CAPABILITIES)
    assert not unknown, f"unknown capabilities {sorted(unknown)} (known: {', '.join(ALL_CAPABILITIES)})"
    assert all(isinstance(s, str) for s in cls.label_sets), "label_sets must be label set ids (strings)"
    assert isinstance(cls.needs_checkpoint, bool), "needs_checkpoint must be a bool"
    if CROSSOVER in cls.capabilities:
        assert cls.style_blocks, "an engine with crossover lists its style_blocks"
    names = [o.name for o in cls.options]
    assert len(names) == len(set(names)), f"option names repeat: {names}"
    for option in cls.options:
        assert isinstance(option, Option), f"options must be regionpaint.Option, got {option!r}"
        assert option.name.isidentifier() and option.name == option.name.lower(), f"option name {option.name!r}"
        assert option.kind in KINDS
        if option.default is not None:
            assert option.parse(option.default) == option.default, f"option {option.name}: default does not parse"
        if option.requires is not None:
            assert option.requires in cls.capabilities, f"option {option.name} requires an undeclared capability"


def _check_import_without_torch(cls: type[Engine]) -> None:
    module, qualname = cls.__module__, cls.__qualname__
    code = (
        "import importlib, json, sys\n"
        f"cls = importlib.import_module({module!r})\n"
        f"for part in {qualname!r}.split('.'): cls = getattr(cls, part)\n"
        "attrs = (cls.id, cls.display_name, sorted(cls.capabilities), cls.label_sets, cls.options)\n"
        "attrs += (cls.needs_checkpoint, cls.style_blocks)\n"
        "print(json.dumps(sorted(m for m in ('torch', 'PySide6') if m in sys.modules)))\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, f"importing {module} failed: {result.stderr.strip().splitlines()[-1:]}"
    imported = json.loads(result.stdout.strip().splitlines()[-1])
    assert not imported, f"importing {module} imports {', '.join(imported)}; import them inside load()/generate()"


def _check_result(engine: Engine, request: RenderRequest, may_refuse: bool = False) -> RenderResult | None:
    try:
        result = engine.generate(request)
    except EngineError:
        if may_refuse:
            return None
        raise
    assert isinstance(result, RenderResult), f"generate returned {type(result).__name__}, not RenderResult"
    image = result.image
    assert isinstance(image, np.ndarray), "image must be a numpy array"
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3, (
        f"image must be (H, W, 3) uint8 RGB, got {image.shape} {image.dtype}"
    )
    if request.size is not None:
        assert image.shape[1::-1] == tuple(request.size), f"size (W, H) {request.size} gave {image.shape[1::-1]}"
    if result.tensor is not None:
        shape = tuple(getattr(result.tensor, "shape", ()))
        assert shape == (1, 3, *image.shape[:2]), f"tensor must be (1, 3, H, W) like the image, got {shape}"
    assert isinstance(result.seconds, (int, float)) and result.seconds >= 0, "seconds must be >= 0"
    assert isinstance(result.info, dict), "info must be a dict"
    json.dumps(result.info, default=lambda v: np.asarray(v).tolist())  # front ends store and show it
    return result


def _check_options(engine: Engine, label_set_id: str) -> None:
    base = sample_requests(type(engine), label_set_id)
    request = base.get(REGION_STYLES, base["plain"])
    for option in engine.options:
        values = {
            "choice": list(option.choices),
            "bool": [True, False],
            "int": [v for v in (option.minimum, option.maximum) if v is not None],
            "float": [v for v in (option.minimum, option.maximum) if v is not None],
        }.get(option.kind, [])
        for value in values:
            value = int(value) if option.kind == "int" else value
            try:
                _check_result(engine, dataclasses.replace(request, options={option.name: value}))
            except EngineError:
                pass  # an engine may refuse a combination, as long as it says so
            except AssertionError as exc:
                raise AssertionError(f"option {option.name}={value!r}: {exc}") from None


def _check_bad_input(engine: Engine, label_set_id: str) -> None:
    plain = sample_requests(type(engine), label_set_id)["plain"]
    bad = {
        "a 3-D label map": dataclasses.replace(plain, label=np.zeros((4, 4, 3), np.uint8)),
        "an empty label map": dataclasses.replace(plain, label=np.zeros((0, 0), np.uint8)),
    }
    if REGION_STYLES in engine.capabilities:
        bad["a style source that is not given"] = dataclasses.replace(plain, default_style=(("missing", 1.0),))
    for what, request in bad.items():
        try:
            engine.generate(request)
        except EngineError:
            continue
        except Exception as exc:
            raise AssertionError(f"{what} raised {type(exc).__name__}, not a regionpaint.EngineError") from None
        raise AssertionError(f"{what} was accepted; raise regionpaint.InputError")
