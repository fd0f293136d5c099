"""SEAN's batched training forward (per-tap style lookups, batched region codes and fc_mu layers) gives the
official training step: same losses and gradients as the official per-class loops, up to float order.

The official side is :mod:`bench.official_train` (written from ZPdesu/SEAN's Zencoder and ACE forwards:
``masked_select`` means, ``masked_scatter_`` style maps, full ``conv_gamma``/``conv_beta``), run on a deep
copy of the same networks (spectral norm's power iteration and batch norm's running statistics change
state on every training forward) with the same global RNG state for the ACE noise.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator

import pytest
import torch

from bench.official_train import official_sean_generator
from regionpaint.engines.sean.train_generator import style_convolutions, style_map
from regionpaint.engines.sean.train_model import SeanTrainingModel
from regionpaint.engines.training.model_base import Batch
from regionpaint.engines.training.options import resolve_options


def tiny_model(seed: int = 0, **given) -> tuple[SeanTrainingModel, object]:
    given = {"label_nc": 5, "ngf": 4, "ndf": 4, "crop_size": 32, "style_length": 8, "batchSize": 2, **given}
    given.setdefault("zencoder_ngf", 4)
    opt = resolve_options("sean", "d", "o", given, "custom")
    torch.manual_seed(seed)
    model = SeanTrainingModel(opt, torch.device("cpu"), None)
    for name, p in model.nets["G"].named_parameters():
        if "blending" in name or "noise_var" in name or "fc_mu" in name:
            torch.nn.init.normal_(p, std=0.5)  # the official init leaves these at 0: make them count
    model.train_mode()
    return model, opt


def batch_for(opt, seed: int = 1) -> Batch:
    g = torch.Generator().manual_seed(seed)
    h = w = opt.crop_size
    label = torch.randint(0, opt.label_nc, (2, 1, h // 4, w // 4), generator=g)
    label = label.repeat_interleave(4, 2).repeat_interleave(4, 3)  # regions, some classes absent per image
    label[1][label[1] == 2] = 0
    instance = label * 1000 + torch.randint(0, 2, label.shape, generator=g)
    semantics = torch.zeros(2, opt.semantic_nc, h, w).scatter_(1, label, 1.0)
    if not opt.no_instance:  # the edge channel overlaps class pixels: later channels win in the style map
        from regionpaint.engines.layers.tensors import instance_edges

        semantics = torch.cat([semantics[:, : opt.label_channels], instance_edges(instance)], dim=1)
    image = torch.rand(2, 3, h, w, generator=g) * 2 - 1
    return Batch(semantics, label, instance, image)


def close(a: torch.Tensor, b: torch.Tensor, rel: float = 1e-4, floor: float = 1e-6) -> bool:
    """Equal up to float order: within ``rel`` of the larger of b's largest magnitude and ``floor``."""
    a, b = a.detach(), b.detach()
    return float((a - b).abs().max()) <= rel * max(float(b.abs().max()), floor)


@contextlib.contextmanager
def default_dtype(dtype: torch.dtype) -> Iterator[None]:
    """The official forward makes its style maps and ACE noise in the default dtype; ours in x's dtype."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def in_dtype(model: SeanTrainingModel, batch: Batch, dtype: torch.dtype) -> Batch:
    for net in model.nets.values():
        net.to(dtype)
    return Batch(batch.semantics.to(dtype), batch.label, batch.instance, batch.image.to(dtype))


def one_step(given: dict, dtype: torch.dtype) -> tuple[SeanTrainingModel, SeanTrainingModel, dict, dict, dict, dict]:
    """(ours, official copy, our G losses, official G losses, our D losses, official D losses) of one training
    step in ``dtype``, G losses backpropagated into both generators. The same noise draws on both sides: the
    same RNG state, shapes, order and dtype."""
    new, opt = tiny_model(**given)
    old = copy.deepcopy(new)
    batch = in_dtype(new, batch_for(opt), dtype)
    in_dtype(old, batch, dtype)
    with default_dtype(dtype):
        torch.manual_seed(123)
        new_losses, _ = new.generator_losses(batch)
        torch.manual_seed(123)
        old_fake = official_sean_generator(old.nets["G"], batch.semantics, batch.image)
        old_losses = old.generator_terms(batch, old_fake)
        sum(new_losses.values()).backward()
        sum(old_losses.values()).backward()
        torch.manual_seed(7)
        d_new = new.discriminator_losses(batch, None)
        torch.manual_seed(7)
        with torch.no_grad():
            fake = official_sean_generator(old.nets["G"], batch.semantics, batch.image)
        d_old = old.discriminator_terms(batch, fake)
    return new, old, new_losses, old_losses, d_new, d_old


@pytest.mark.parametrize("given", [{}, {"no_instance": True}])
def test_one_training_step_matches_the_official_per_class_loops(given):
    """Losses and every gradient of one step equal the official per-class loops', compared in float64.

    Why float64: in float32 the two paths round differently (~1e-7 relative per op), and a gradient is not a
    continuous function of its inputs. Where a leaky ReLU's input is within rounding of 0 the two paths can
    take different slopes (1 vs 0.2) at that pixel, and every gradient upstream moves by far more than any
    tolerance derived from float32 rounding. On an AMX Xeon, up_3.ace_1's output at one pixel is -4.8e-8 in
    float64 and +1.3e-7 in ours in float32: fc.weight's gradient then differs by 0.2 % (7.1241e-04 vs the
    official 7.1087e-04; float64: 7.1088e-04 both) and up_0.conv_1's by 0.5 %. Which pixel, if any, lands
    there depends on the CPU's kernels. In float64 rounding is ~1e-16 and such a flip needs an input within
    ~1e-12 of 0, while a real difference in the training path (a blend, a code, a channel order) moves
    gradients by percents. Measured in float64: losses within 4e-16, gradients within 3.4e-14 (relative, at
    the scale below).
    """
    new, old, new_losses, old_losses, d_new, d_old = one_step(given, torch.float64)
    assert new_losses.keys() == old_losses.keys()
    for key in new_losses:
        assert close(new_losses[key], old_losses[key], 1e-10), key  # float64 rounding (measured 4e-16)
    new_grads = dict(new.nets["G"].named_parameters())
    old_grads = dict(old.nets["G"].named_parameters())
    # Gradients that are zero in exact arithmetic (a bias right before a batch norm) are rounding noise:
    # compare every gradient at the scale of the largest one.
    scale = max(float(q.grad.abs().max()) for q in old_grads.values() if q.grad is not None)
    checked = 0
    for name, p in new_grads.items():
        q = old_grads[name]
        if q.grad is None:  # fc_mu of channels absent from both images: no gradient either way
            assert p.grad is None or not p.grad.any(), name
            continue
        assert p.grad.dtype == torch.float64, name
        # float64 rounding, amplified by batch norm over 2 values at 1x1 (measured 3.4e-14): 1e-9 leaves 3e4x.
        assert close(p.grad, q.grad, 1e-9, 1e-3 * scale), name
        checked += 1
    assert checked > 50
    assert old_grads["up_2.ace_0.conv_gamma.weight"].grad.abs().max() > 0  # the style branch is exercised
    assert old_grads["up_1.ace_0.fc_mu1.weight"].grad.abs().max() > 0
    for key in d_new:
        assert close(d_new[key], d_old[key], 1e-10), key  # float64 rounding (measured 0)


@pytest.mark.parametrize("given", [{}, {"no_instance": True}])
def test_float32_training_losses_match_the_official_per_class_loops(given):
    """The float32 step training runs: same losses up to float32 rounding. Loss values (unlike gradients) are
    continuous in every rounding error (leaky ReLU, hinge and L1 have kinks only in their slopes), so the
    paths' ~1e-7 relative rounding per op stays ~1e-7 in the losses on any CPU (measured 3.2e-7); 1e-5 leaves
    30x for other kernels."""
    _new, _old, new_losses, old_losses, d_new, d_old = one_step(given, torch.float32)
    for key in new_losses:
        assert new_losses[key].dtype == torch.float32, key
        assert close(new_losses[key], old_losses[key], 1e-5), key
    for key in d_new:
        assert close(d_new[key], d_old[key], 1e-5), key


def test_style_lookups_equal_the_convolution_of_the_style_map():
    """In float64, for the reason of the training-step test: both sides take relu(fc_mu(code)) in another
    summation order, and a code row within float32 rounding of 0 would give its gradient another slope."""
    model, opt = tiny_model()
    ace = model.nets["G"].up_1.ace_s.to(torch.float64)
    batch = batch_for(opt)
    seg = torch.nn.functional.interpolate(batch.semantics, size=(16, 16), mode="nearest").to(torch.float64)
    codes = torch.randn(2, opt.semantic_nc, opt.style_length, dtype=torch.float64, requires_grad=True)
    middle = style_map(ace, codes, seg)
    reference = (ace.conv_gamma(middle), ace.conv_beta(middle))
    ours = style_convolutions(ace, codes, seg)
    weights = torch.randn_like(reference[0]), torch.randn_like(reference[1])
    for r, o in zip(reference, ours, strict=True):
        assert o.dtype == torch.float64
        assert r.shape == o.shape and close(o, r, 1e-10)  # sums of 9 x 8 products: float64 rounding, ~1e-16
    inputs = [codes, ace.conv_gamma.weight, ace.conv_beta.bias, ace.fc_mu3.weight]
    ref_grads = torch.autograd.grad(sum((r * w).sum() for r, w in zip(reference, weights, strict=True)), inputs)
    our_grads = torch.autograd.grad(sum((o * w).sum() for o, w in zip(ours, weights, strict=True)), inputs)
    for r, o in zip(ref_grads, our_grads, strict=True):
        assert close(o, r, 1e-10)  # sums over <= 2 x 16 x 16 pixels: float64 rounding, ~1e-14
