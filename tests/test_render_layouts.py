"""SPADE and SEAN renders keep one memory layout: the modulation maps, the noise and the activations agree.

An element-wise op over two maps of different layouts (contiguous and channels-last) is correct but ~10x slower
than the same op over one layout (a 128x256x256 add took 40 ms instead of 5; engines/acceleration/fast.py
``exact_channels_last``). Each case renders a bundled demo model on CPU and records every ``modulate`` call.
"""

from __future__ import annotations

import dataclasses

import pytest

from bench.fast_quality import DEMO


def _layout(tensor) -> str:
    """ "channels-last" when channels vary fastest, then width, then height (a channel slice of a wider
    channels-last map counts: it is read in the same order), "contiguous" for the (C, H, W) order, "either"
    when the dims of size 1 leave both (a 1x1 map)."""
    dims = [d for d in range(1, 4) if tensor.shape[d] > 1]
    order = sorted(dims, key=lambda d: tensor.stride(d))
    last = [d for d in (1, 3, 2) if d in dims]
    first = [d for d in (3, 2, 1) if d in dims]
    if order == last == first:
        return "either"
    if order == last:
        return "channels-last"
    return "contiguous" if order == first else f"strided {tensor.stride()}"


@pytest.mark.parametrize("name", ["streets.rpaint", "faces.rpaint"])
@pytest.mark.parametrize("fast", [False, True], ids=["exact", "fast"])
def test_modulation_maps_share_the_activations_layout(name, fast, monkeypatch):
    from regionpaint.app.model.project import open_project
    from regionpaint.app.render.from_document import job_from_document
    from regionpaint.app.render.service import RenderService
    from regionpaint.engines.acceleration.fast import exact_channels_last
    from regionpaint.engines.layers import spade_norm
    from regionpaint.engines.sean import networks as sean_networks

    project = DEMO / name
    if not project.is_file():
        pytest.skip(f"{project} is not built (python -m tools.demo.build)")
    calls: list[tuple[str, str, str, tuple]] = []
    real = spade_norm.modulate

    def recording(normalized, gamma, beta):
        calls.append((_layout(normalized), _layout(gamma), _layout(beta), tuple(normalized.shape)))
        return real(normalized, gamma, beta)

    monkeypatch.setattr(spade_norm, "modulate", recording)
    monkeypatch.setattr(sean_networks, "modulate", recording)
    job = job_from_document(open_project(project))
    service = RenderService()
    engine_class = service.engine_class(job.engine_id, job.checkpoint)
    request = service.fit(job, engine_class, service.capabilities(engine_class.id, job.checkpoint))
    engine, _ = service.load(engine_class, job.checkpoint, "cpu")
    try:
        engine.generate(dataclasses.replace(request, fast=fast))
    finally:
        service.release()
    assert calls, "no SPADE modulation ran"
    expected = "channels-last" if fast or exact_channels_last("cpu") else "contiguous"
    for normalized, gamma, beta, shape in calls:
        if normalized == "either":  # a 1x1 map or one channel: both layouts at once
            continue
        assert (normalized, gamma, beta) == (expected,) * 3, f"mixed layouts at {shape}: {calls}"


@pytest.mark.parametrize("channels_last", [False, True])
def test_sean_noise_follows_the_activation_layout_with_the_same_values(channels_last):
    import torch

    from regionpaint.engines.sean.config import SeanConfig
    from regionpaint.engines.sean.networks import ACE

    torch.manual_seed(0)
    ace = ACE(8, SeanConfig(label_nc=3, style_length=4, style_classes=3), use_rgb=False)
    with torch.no_grad():
        ace.noise_var.copy_(torch.linspace(-1, 1, 8))
    x = torch.zeros(1, 8, 5, 7)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    noise = ace.draw_noise(x, torch.Generator().manual_seed(3))
    assert _layout(noise) == ("channels-last" if channels_last else "contiguous")
    # the official noise: randn(B, W, H, 1) * noise_var, transposed to (B, C, H, W)
    draw = torch.randn(1, 7, 5, 1, generator=torch.Generator().manual_seed(3))
    official = (draw * ace.noise_var).transpose(1, 3)
    assert torch.equal(noise, official)
