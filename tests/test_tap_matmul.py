"""pix2pixHD's transposed and narrow convolutions by tap matmuls (engines/acceleration/tap_matmul.py): the same
function as the convolutions, and what an exact pix2pixHD render takes when the choice says so."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from regionpaint.engines.acceleration import tap_matmul


@pytest.mark.parametrize("batch, height, width, layout", [(1, 5, 7, "nchw"), (2, 4, 4, "nchw"), (1, 6, 3, "cl")])
def test_transposed_stride_2_by_taps_equals_the_convolution(batch, height, width, layout):
    torch.manual_seed(0)
    conv = nn.ConvTranspose2d(6, 5, kernel_size=3, stride=2, padding=1, output_padding=1)
    x = torch.randn(batch, 6, height, width)
    if layout == "cl":
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        assert tap_matmul.applies(conv, x)
        got, expected = tap_matmul.run(conv, x), conv(x)
    assert got.shape == expected.shape == (batch, 5, 2 * height, 2 * width)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)  # float32 sums in another order
    assert got.is_contiguous(memory_format=torch.channels_last) == (layout == "cl")


@pytest.mark.parametrize("kernel, out_channels, bias", [(7, 3, True), (3, 1, False), (5, 8, True)])
def test_narrow_convolution_by_taps_equals_the_convolution(kernel, out_channels, bias):
    torch.manual_seed(1)
    conv = nn.Conv2d(4, out_channels, kernel_size=kernel, bias=bias)
    x = torch.randn(1, 4, kernel + 6, kernel + 3)
    with torch.inference_mode():
        assert tap_matmul.applies(conv, x)
        torch.testing.assert_close(tap_matmul.run(conv, x), conv(x), rtol=1e-5, atol=1e-5)


def test_only_exact_inference_of_the_two_shapes_is_taken():
    x = torch.randn(1, 4, 8, 8)
    with torch.inference_mode():
        assert not tap_matmul.applies(nn.Conv2d(4, 16, 7), x)  # many output channels: oneDNN's case
        assert not tap_matmul.applies(nn.Conv2d(4, 3, 7, padding=3), x)  # its own padding
        assert not tap_matmul.applies(nn.ConvTranspose2d(4, 4, 3, stride=2, padding=1), x)  # no output padding
        with torch.autocast("cpu", dtype=torch.bfloat16):
            assert not tap_matmul.applies(nn.Conv2d(4, 3, 7), x)  # fast mode keeps oneDNN's float32 sums
    assert not tap_matmul.applies(nn.Conv2d(4, 3, 7), x)  # autograd on: training takes the convolution


def test_an_exact_pix2pixhd_render_with_the_taps_forced_stays_within_parity(monkeypatch):
    """The demo pix2pixHD model renders within 1e-4 of the direct convolutions with the tap matmuls forced
    on, and the forced run did take them."""
    from bench.fast_quality import DEMO
    from regionpaint.app.model.project import open_project
    from regionpaint.app.render.from_document import job_from_document
    from regionpaint.app.render.service import RenderService
    from regionpaint.engines.acceleration.autotune import FORCE_ENV

    project = DEMO / "streets_pix2pixhd.rpaint"
    if not project.is_file():
        pytest.skip(f"{project} is not built (python -m tools.demo.build)")
    job = job_from_document(open_project(project))
    service = RenderService()
    engine_class = service.engine_class(job.engine_id, job.checkpoint)
    request = service.fit(job, engine_class, service.capabilities(engine_class.id, job.checkpoint))
    engine, _ = service.load(engine_class, job.checkpoint, "cpu")
    calls = []
    real_run = tap_matmul.run
    monkeypatch.setattr(tap_matmul, "run", lambda conv, x: calls.append(type(conv).__name__) or real_run(conv, x))
    try:
        outputs = {}
        for choice in ("direct", "matmul"):
            monkeypatch.setenv(FORCE_ENV, f"tap_matmul={choice}")
            outputs[choice] = engine.generate(request).tensor
            if choice == "direct":
                assert calls == [], "the direct choice ran tap matmuls"
    finally:
        service.release()
    assert "ConvTranspose2d" in calls and "Conv2d" in calls, calls
    assert (outputs["matmul"] - outputs["direct"]).abs().max().item() <= 1e-4
