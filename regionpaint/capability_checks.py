"""Behaviour checks of :func:`regionpaint.testing.check_engine`: each declared capability changes the output
the way it promises, and inputs of an undeclared one are refused or ignored.

Shapes and types say nothing about honesty: an engine that declares ``noise`` and ignores the seed, or
``latent_z`` and ignores z, renders images of the right shape. These checks render small pairs of requests
that differ in one input only and compare the images:

* every engine: the same request twice gives the same image;
* ``noise``: another seed gives another image, the same seed the same one, noise off ignores the seed;
* ``region_styles``: restyling one class from source B changes that class's pixels more than the rest;
* ``style_interpolation``: the ends of a mix (A 1 + B 0, A 0 + B 1) equal the pure styles; mixes of A and B
  land between the two pure renders, further towards B as B's weight grows;
* ``crossover``: every block from B equals the pure B render, and some block from B changes the A render;
* ``mean_style``: with mean codes from A and B, ``@mean`` differs from A and ``@random`` follows the seed;
* ``latent_z``: the z given is the z reported in ``info["z"]``; another z or another sampling seed gives
  another image;
* ``instance_map``: splitting one region into two instances changes the image;
* ``instance_features``: the feature source photo changes the image;
* every capability the loaded checkpoint does not offer: its inputs are refused with an ``EngineError`` or
  ignored (the same image as without them), which is what the render service relies on.

Each check returns nothing and raises ``AssertionError`` with the measured figures.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np

from regionpaint.engines.base import (
    ALL_CAPABILITIES,
    CROSSOVER,
    INSTANCE_FEATURES,
    INSTANCE_MAP,
    LATENT_Z,
    MEAN_STYLE,
    MEAN_STYLE_SOURCE,
    NOISE,
    RANDOM_STYLE_SOURCE,
    REGION_STYLES,
    STYLE_INTERPOLATION,
    Engine,
    EngineError,
    RenderRequest,
)

# Restyling a region must move its pixels at least this much more than the rest of the image (mean absolute
# change). The built-ins move the restyled block 30-100x more (SEAN demo: 77 vs 2.5 levels, transfer: 165 vs
# 1.5); 1.5x leaves room for networks whose convolutions carry a style far beyond its region, and still fails
# an engine that restyles everything alike.
REGION_CONTRAST = 1.5
# ...and by at least one grey level on average: less is rounding, not a style.
MIN_REGION_CHANGE = 1.0
# A 50/50 mix of A and B, projected on the line from the pure-A render to the pure-B render inside the mixed
# region, must land this far from either end: the built-ins land at 0.44 (SEAN demo) and 0.56 (transfer);
# an engine that drops one of the weights lands at 0 or 1.
MIX_MARGIN = 0.1
# z round trip through info["z"]: float32 values passed through unchanged, but an engine may store float16.
Z_TOLERANCE = 1e-3
Z_DIM_FALLBACK = 256  # z length tried on engines that report no z (SPADE's z_dim)

Check = Callable[[], None]


def offered_capabilities(engine_class: type[Engine], checkpoint: str | Path | None) -> frozenset[str]:
    """What the checkpoint offers with this engine (``capabilities_for`` of its inspected files), as the
    render service decides it; the class's capabilities when the files cannot be inspected (an engine's
    own layout, or no checkpoint)."""
    declared = frozenset(engine_class.capabilities)
    if checkpoint is None:
        return frozenset(engine_class.capabilities_for(None)) & declared
    try:
        from regionpaint.engines.loading.checkpoint import inspect_checkpoint

        info = inspect_checkpoint(checkpoint)
    except EngineError:
        return declared
    return frozenset(engine_class.capabilities_for(info)) & declared


@dataclasses.dataclass
class Inputs:
    """The requests the checks vary: a tiny label map with a block of ``block_class``, sources A and B."""

    label: np.ndarray
    block_class: int
    plain: RenderRequest
    styled: RenderRequest  # every class from A

    @property
    def block(self) -> np.ndarray:
        return self.label == self.block_class


def capability_checks(engine: Engine, inputs: Inputs, offered: frozenset[str]) -> dict[str, Check]:
    """The behaviour checks for ``engine`` (loaded) by name, for what ``offered`` says it takes."""
    probe = _Probe(engine, inputs)
    checks: dict[str, Check] = {"repeatable": probe.repeatable}
    behaviours: dict[str, Check] = {
        NOISE: probe.noise,
        REGION_STYLES: probe.region_styles,
        STYLE_INTERPOLATION: probe.interpolation,
        CROSSOVER: probe.crossover,
        MEAN_STYLE: probe.mean_style,
        LATENT_Z: probe.latent_z,
        INSTANCE_MAP: probe.instance_map,
        INSTANCE_FEATURES: probe.instance_features,
    }
    for capability, check in behaviours.items():
        if capability in offered:
            checks[capability] = check
    for capability in ALL_CAPABILITIES:
        if capability in offered or capability not in probe.undeclared_inputs:
            continue
        if capability == INSTANCE_MAP and INSTANCE_FEATURES in offered:
            continue  # instance features take the instance map too
        checks[f"undeclared {capability}"] = lambda c=capability: probe.undeclared(c)
    return checks


class _Probe:
    def __init__(self, engine: Engine, inputs: Inputs) -> None:
        self.engine = engine
        self.inputs = inputs
        self._baseline: RenderRequest | None = None
        self._undeclared_base: tuple[RenderRequest, np.ndarray] | None = None
        self.undeclared_inputs: dict[str, Callable[[RenderRequest], RenderRequest]] = {
            NOISE: lambda r: dataclasses.replace(r, noise=not r.noise),
            REGION_STYLES: lambda r: dataclasses.replace(r, region_styles={inputs.block_class: (("B", 1.0),)}),
            CROSSOVER: lambda r: dataclasses.replace(r, crossover={_block(engine): "B"}),
            LATENT_Z: lambda r: dataclasses.replace(r, z=_z(Z_DIM_FALLBACK, 7), sample=True),
            INSTANCE_MAP: lambda r: dataclasses.replace(
                r, instance=split_instance_map(inputs.label, inputs.block_class)
            ),
            INSTANCE_FEATURES: lambda r: dataclasses.replace(r, feature_source="B"),
        }

    # -- helpers --------------------------------------------------------------------------------
    def image(self, request: RenderRequest) -> np.ndarray:
        return np.asarray(self.engine.generate(request).image, dtype=np.float32)

    def baseline(self) -> RenderRequest:
        """The plain request when the engine renders it, else the one styled from A."""
        if self._baseline is None:
            try:
                self.engine.generate(self.inputs.plain)
            except EngineError:
                self._baseline = self.inputs.styled
            else:
                self._baseline = self.inputs.plain
        return self._baseline

    def region(self, shape: tuple[int, ...]) -> np.ndarray:
        return mask_at(self.inputs.block, shape[:2])

    # -- checks ---------------------------------------------------------------------------------
    def repeatable(self) -> None:
        request = self.baseline()
        assert np.array_equal(self.image(request), self.image(request)), (
            "the same request (same seed) rendered twice gave two different images"
        )

    def noise(self) -> None:
        request = self.inputs.styled if REGION_STYLES in self.engine.capabilities else self.baseline()
        first, again = (
            self.image(dataclasses.replace(request, seed=5)),
            self.image(dataclasses.replace(request, seed=5)),
        )
        assert np.array_equal(first, again), "the same seed must give the same image"
        other = self.image(dataclasses.replace(request, seed=6))
        assert not np.array_equal(first, other), (
            "declares noise, but seeds 5 and 6 gave the same image: the seed must drive the noise"
        )
        off = [self.image(dataclasses.replace(request, noise=False, seed=s)) for s in (1, 2)]
        assert np.array_equal(*off), "with noise off, the seed must not change the image"

    def region_styles(self) -> None:
        styled = self.inputs.styled
        pure_a = self.image(styled)
        restyled = self.image(dataclasses.replace(styled, region_styles={self.inputs.block_class: (("B", 1.0),)}))
        inside, outside = region_change(pure_a, restyled, self.region(pure_a.shape))
        what = f"class {self.inputs.block_class} from source B"
        assert inside >= MIN_REGION_CHANGE, f"{what} changed that class by {inside:.2f} levels: the style is ignored"
        assert inside >= REGION_CONTRAST * outside, (
            f"{what} changed that class by {inside:.1f} levels and the rest by {outside:.1f}: "
            f"a region's style must change that region more than the rest (at least {REGION_CONTRAST}x)"
        )

    def interpolation(self) -> None:
        styled, block = self.inputs.styled, self.inputs.block_class

        def mixed(*mix: tuple[str, float]) -> np.ndarray:
            return self.image(dataclasses.replace(styled, region_styles={block: mix}))

        pure_a, pure_b = mixed(("A", 1.0)), mixed(("B", 1.0))
        # The ends of the editor's A<->B slider: a weight of 0 is a source that takes no part.
        for pure, ends, name in ((pure_a, (1.0, 0.0), "A"), (pure_b, (0.0, 1.0), "B")):
            end = mixed(("A", ends[0]), ("B", ends[1]))
            assert np.array_equal(end, pure), (
                f"class {block} mixed as A {ends[0]:g} + B {ends[1]:g} differs from the pure {name} render "
                f"(mean {np.abs(end - pure).mean():.2f} levels): an end of the mix is that style"
            )
        region = self.region(pure_a.shape)
        positions = {w: mix_position(pure_a, pure_b, mixed(("A", 1 - w), ("B", w)), region) for w in (0.25, 0.5, 0.75)}
        figures = ", ".join(f"{w:.2f} of B -> {t:.2f}" for w, t in positions.items())
        assert MIX_MARGIN <= positions[0.5] <= 1 - MIX_MARGIN, (
            f"mixes of A and B in class {block}, placed on the line from the pure A to the pure B render "
            f"({figures}): a 50/50 mix must land between them (within {MIX_MARGIN:.1f}..{1 - MIX_MARGIN:.1f})"
        )
        assert positions[0.25] < positions[0.75], (
            f"mixes of A and B in class {block} ({figures}): more of B must move the render further towards B"
        )

    def crossover(self) -> None:
        styled = self.inputs.styled
        blocks = tuple(self.engine.style_blocks)
        pure_a = self.image(styled)
        pure_b = self.image(dataclasses.replace(styled, default_style=(("B", 1.0),)))
        all_b = self.image(dataclasses.replace(styled, crossover=dict.fromkeys(blocks, "B")))
        assert np.array_equal(all_b, pure_b), (
            "crossover with every style block from B differs from the pure B render "
            f"(mean difference {np.abs(all_b - pure_b).mean():.2f} levels)"
        )
        for block in blocks:  # some blocks may carry no style (SEAN's up_3): one that changes the render is enough
            if not np.array_equal(self.image(dataclasses.replace(styled, crossover={block: "B"})), pure_a):
                return
        raise AssertionError(f"crossover of any one block ({', '.join(blocks)}) from B leaves the A render unchanged")

    def mean_style(self) -> None:
        styled = self.inputs.styled
        self.engine.set_mean_styles(list(styled.styles.values()))
        try:
            pure_a = self.image(styled)
            mean = self.image(dataclasses.replace(styled, default_style=((MEAN_STYLE_SOURCE, 1.0),)))
            randoms = [
                self.image(dataclasses.replace(styled, default_style=((RANDOM_STYLE_SOURCE, 1.0),), seed=seed))
                for seed in (1, 2)
            ]
        finally:
            self.engine.set_mean_styles(None)  # back to the checkpoint's own statistics
        assert not np.array_equal(mean, pure_a), f"{MEAN_STYLE_SOURCE} of sources A and B renders as A alone"
        assert not np.array_equal(*randoms), f"{RANDOM_STYLE_SOURCE} with seeds 1 and 2 gave the same image"

    def latent_z(self) -> None:
        base = self.baseline()
        sampled = self.engine.generate(dataclasses.replace(base, sample=True, seed=3))
        z_used = sampled.info.get("z") if isinstance(sampled.info, dict) else None
        assert z_used is not None, 'declares latent_z but reports no info["z"] for a sampled render'
        z_dim = int(np.asarray(z_used).reshape(1, -1).shape[1])
        first, second = _z(z_dim, 1), _z(z_dim, 2)
        result = self.engine.generate(dataclasses.replace(base, z=first))
        reported = np.asarray(result.info.get("z"), dtype=np.float32).reshape(1, -1)
        assert reported.shape == first.shape and np.allclose(reported, first, atol=Z_TOLERANCE), (
            'info["z"] is not the z given in the request'
        )
        image_first = np.asarray(result.image, dtype=np.float32)
        assert not np.array_equal(image_first, self.image(dataclasses.replace(base, z=second))), (
            "declares latent_z, but two different z gave the same image: z is ignored"
        )
        seeds = [self.image(dataclasses.replace(base, z=None, sample=True, seed=s)) for s in (1, 2)]
        assert not np.array_equal(*seeds), "sampling z with seeds 1 and 2 gave the same image"

    def instance_map(self) -> None:
        base = dataclasses.replace(self.baseline(), instance=_whole_instances(self.inputs.label))
        split = dataclasses.replace(base, instance=split_instance_map(self.inputs.label, self.inputs.block_class))
        whole, parted = self.image(base), self.image(split)
        assert not np.array_equal(whole, parted), (
            f"declares instance_map, but splitting class {self.inputs.block_class} into two instances left the "
            "image unchanged: the instance map is ignored"
        )

    def instance_features(self) -> None:
        base = dataclasses.replace(self.inputs.styled, instance=_whole_instances(self.inputs.label))
        from_a = self.image(dataclasses.replace(base, feature_source="A"))
        from_b = self.image(dataclasses.replace(base, feature_source="B"))
        assert not np.array_equal(from_a, from_b), (
            "declares instance_features, but features from photo A and from photo B gave the same image"
        )

    def undeclared(self, capability: str) -> None:
        base, expected = self.undeclared_base()
        try:
            got = self.image(self.undeclared_inputs[capability](base))
        except EngineError:
            return  # refused, with a message for the person
        assert np.array_equal(expected, got), (
            f"{capability} is not declared, but its inputs changed the image (mean "
            f"{np.abs(expected - got).mean():.2f} levels): declare it, or ignore or refuse (EngineError) those inputs"
        )

    def undeclared_base(self) -> tuple[RenderRequest, np.ndarray]:
        """The request undeclared inputs are added to, and its image (rendered once for every such check).

        The sources are given (and, without a default mix, unused) so that inputs naming B are well formed;
        an engine that refuses them (a SPADE VAE without an encoder) is asked without them."""
        if self._undeclared_base is None:
            base = dataclasses.replace(self.baseline(), styles=self.inputs.styled.styles)
            try:
                self._undeclared_base = base, self.image(base)
            except EngineError:
                self._undeclared_base = self.baseline(), self.image(self.baseline())
        return self._undeclared_base


def mask_at(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``mask`` resized to (H, W) ``shape`` by nearest neighbour (where each output pixel's label came from)."""
    rows = np.arange(shape[0]) * mask.shape[0] // shape[0]
    cols = np.arange(shape[1]) * mask.shape[1] // shape[1]
    return mask[rows][:, cols]


def region_change(before: np.ndarray, after: np.ndarray, region: np.ndarray) -> tuple[float, float]:
    """Mean absolute change (grey levels) inside ``region`` and outside it."""
    change = np.abs(after.astype(np.float32) - before.astype(np.float32)).mean(axis=2)
    outside = float(change[~region].mean()) if (~region).any() else 0.0
    return float(change[region].mean()), outside


def mix_position(pure_a: np.ndarray, pure_b: np.ndarray, mixed: np.ndarray, region: np.ndarray) -> float:
    """Where ``mixed`` lies on the line from ``pure_a`` (0) to ``pure_b`` (1), inside ``region``."""
    line = (pure_b - pure_a)[region].ravel().astype(np.float64)
    offset = (mixed - pure_a)[region].ravel().astype(np.float64)
    length = float(line @ line)
    assert length > 0, "the pure A and pure B renders are the same in the mixed region: styles are ignored"
    return float(offset @ line) / length


def _whole_instances(label: np.ndarray) -> np.ndarray:
    return label.astype(np.int32) * 1000


def split_instance_map(label: np.ndarray, class_id: int) -> np.ndarray:
    """Cityscapes-style instance ids with ``class_id`` split into two instances (left and right halves)."""
    instance = _whole_instances(label)
    columns = np.nonzero((label == class_id).any(axis=0))[0]
    if len(columns):
        middle = (int(columns[0]) + int(columns[-1]) + 1) // 2
        right = np.zeros_like(label, dtype=bool)
        right[:, middle:] = True
        instance[(label == class_id) & right] += 1
    return instance


def _block(engine: Engine) -> str:
    return engine.style_blocks[0] if engine.style_blocks else "head_0"


def _z(z_dim: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((1, z_dim)).astype(np.float32)
