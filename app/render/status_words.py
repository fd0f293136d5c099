"""What the engine is doing, in a person's words, for the editor's status line.

"Loading the model…", "Quick preview…", "Refining…", then "SEAN · final in 1.21 s". The technical detail
(device, precision) goes in the tooltip. Pure functions of what the render controller knows, so they test
without a window.
"""

from __future__ import annotations

from dataclasses import dataclass

LOADING = "Loading the model…"
PREVIEWING = "Quick preview…"
REFINING = "Refining…"
RENDERING = "Rendering…"


@dataclass(frozen=True)
class RenderStep:
    """One render as the status line sees it."""

    fast: bool  # a fast (reduced precision) preview, followed by the exact render when the person pauses
    model_loaded: bool  # the engine has this checkpoint loaded already (False: this render loads it first)
    after_preview: bool = False  # an exact render that replaces a fast preview on screen


def while_rendering(step: RenderStep) -> str:
    if not step.model_loaded:
        return LOADING
    if step.fast:
        return PREVIEWING
    return REFINING if step.after_preview else RENDERING


def when_done(engine: str, fast: bool, seconds: float, on_screen_after: float | None = None) -> str:
    """``SEAN · preview in 0.38 s · on screen 0.52 s after the edit``."""
    text = f"{engine} · {'preview' if fast else 'final'} in {seconds:.2f} s"
    if on_screen_after is not None:
        text += f" · on screen {on_screen_after:.2f} s after the edit"
    return text


def details(engine: str, device: str, fast: bool, seconds: float) -> str:
    """The tooltip: the same render in the words of someone who knows the machinery."""
    precision = "fast reduced precision (bf16/fp16)" if fast else "exact (float32, as the official code)"
    return f"{engine} on {device}: {precision}, {seconds:.3f} s in the engine"
