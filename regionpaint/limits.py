"""How large a render and an opened project may grow: pixel caps checked before anything is allocated.

A mistyped or hostile size must be a message, not a process that grows until the system kills it:
``--size 19968x19968`` asked a 128-pixel demo network for a render that grew past 6 GB, and a 9 MB project
of thirty 9999x9999 solid PNGs decoded to more than 6 GB although each image was under the per-image cap.

* **Renders**: the network's output may have at most :data:`DEFAULT_MAX_RENDER_PIXELS` pixels (2048x2048).
  Official checkpoints render 256x256 to 2048x1024. Memory grows with the pixels: the small SEAN demo model
  peaks at 0.8 GB at 512x512, 1.7 GB at 1024x1024 and 4.9 GB at 2048x2048 on the CPU (docs/safety.md).
* **Projects**: all images of a ``.rpaint`` together may decode to at most :data:`DEFAULT_MAX_PROJECT_PIXELS`
  pixels; a photo edit of a 24-megapixel photo with its label maps, render and a few style photos needs ~250.

Environment variables raise (or lower) both: ``REGIONPAINT_MAX_RENDER_MEGAPIXELS`` and
``REGIONPAINT_MAX_PROJECT_MEGAPIXELS`` (megapixels, e.g. ``64``). Importable without torch, Qt or numpy.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)

RENDER_ENV = "REGIONPAINT_MAX_RENDER_MEGAPIXELS"
PROJECT_ENV = "REGIONPAINT_MAX_PROJECT_MEGAPIXELS"
#: 2048 x 2048: twice the largest official render (pix2pixHD's 2048x1024).
DEFAULT_MAX_RENDER_PIXELS = 2048 * 2048
#: Six images at the 100-megapixel per-image cap (regionpaint.app.model.imports.MAX_IMAGE_PIXELS).
DEFAULT_MAX_PROJECT_PIXELS = 600_000_000


class PixelLimitError(ValueError):
    """A render or a project would need more pixels than the cap allows; the message says how to raise it."""


def _limit(env: str, default: int) -> int:
    text = os.environ.get(env, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not (0 < value < 1e9):  # a billion megapixels: far beyond any machine, and no float overflow
        log.warning("%s=%r is not a number of megapixels; using %s", env, text, _megapixels(default))
        return default
    return int(value * 1_000_000)


def max_render_pixels() -> int:
    """The most pixels one render may have (``REGIONPAINT_MAX_RENDER_MEGAPIXELS``, else 2048x2048)."""
    return _limit(RENDER_ENV, DEFAULT_MAX_RENDER_PIXELS)


def max_project_pixels() -> int:
    """The most pixels all images of one project may decode to (``REGIONPAINT_MAX_PROJECT_MEGAPIXELS``)."""
    return _limit(PROJECT_ENV, DEFAULT_MAX_PROJECT_PIXELS)


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1_000_000:.1f} megapixels"


def check_render_size(size: tuple[int, int], source: str = "render") -> None:
    """Raise :class:`PixelLimitError` when a (W, H) render exceeds :func:`max_render_pixels`.

    ``source`` says where the size came from ("--size", "the project's output size", "the network").
    """
    width, height = int(size[0]), int(size[1])
    limit = max_render_pixels()
    if width * height > limit:
        raise PixelLimitError(
            f"{source}: a {width}x{height} render is {_megapixels(width * height)}, more than regionpaint renders "
            f"({_megapixels(limit)}); set {RENDER_ENV} to raise the limit if this machine has the memory"
        )


class PixelBudget:
    """Pixels left to decode for one project; :meth:`spend` refuses an image before it is decoded."""

    def __init__(self, source: str, limit: int | None = None) -> None:
        self.source = source
        self.limit = max_project_pixels() if limit is None else limit
        self.spent = 0

    def refusal(self, pixels: int, what: str) -> PixelLimitError:
        return PixelLimitError(
            f"{what} would take the {self.source} to {_megapixels(pixels)} decoded, more than regionpaint opens "
            f"({_megapixels(self.limit)}); set {PROJECT_ENV} to raise the limit if this machine has the memory"
        )

    def check_total(self, pixels: int, what: str) -> None:
        """Refuse when ``pixels`` (a sum known up front, e.g. from image headers) alone exceeds the limit."""
        if pixels > self.limit:
            raise self.refusal(pixels, what)

    def spend(self, pixels: int, what: str) -> None:
        """Count an image of ``pixels`` about to be decoded; raise instead when it would pass the limit."""
        if self.spent + pixels > self.limit:
            raise self.refusal(self.spent + pixels, what)
        self.spent += pixels


__all__ = [
    "DEFAULT_MAX_PROJECT_PIXELS",
    "DEFAULT_MAX_RENDER_PIXELS",
    "PROJECT_ENV",
    "RENDER_ENV",
    "PixelBudget",
    "PixelLimitError",
    "check_render_size",
    "max_project_pixels",
    "max_render_pixels",
]
