"""Every keyboard shortcut and canvas click in one table: the window binds its actions from
:data:`SHORTCUTS`, the canvas decides what a click with modifiers does from :data:`CANVAS_CLICKS`, and
Help > Shortcuts (F1) shows both (:func:`help_rows`), so the help cannot drift from the bindings.

Keys held down (peek, pan) and keys the canvas handles itself (Enter, Backspace, Esc) are listed too,
with ``bound=False``, so the help is complete while the binding stays in one place.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass


@dataclass(frozen=True)
class Shortcut:
    action: str  # the id the main window binds to
    keys: str  # QKeySequence text, "" for the platform's standard key of the action
    description: str
    group: str
    bound: bool = True


SHORTCUTS: tuple[Shortcut, ...] = (
    Shortcut("new", "Ctrl+N", "New document from a photo and its segmentation", "File"),
    Shortcut("new_from_photo", "Ctrl+Shift+N", "New document from a photo alone (segmenter or empty map)", "File"),
    Shortcut("open", "Ctrl+O", "Open a .rpaint project", "File"),
    Shortcut("save", "Ctrl+S", "Save", "File"),
    Shortcut("save_as", "Ctrl+Shift+S", "Save as", "File"),
    Shortcut("export_result", "Ctrl+E", "Export the rendered result (PNG/JPEG)", "File"),
    Shortcut("quit", "Ctrl+Q", "Quit", "File"),
    Shortcut("undo", "Ctrl+Z", "Undo (label edits and style changes alike)", "Edit"),
    Shortcut("redo", "Ctrl+Shift+Z", "Redo", "Edit"),
    Shortcut("redo_alt", "Ctrl+Y", "Redo", "Edit"),
    Shortcut("find_label", "Ctrl+F", "Search the label palette", "Edit"),
    Shortcut("tool_brush", "B", "Brush", "Tools"),
    Shortcut("tool_fill", "F", "Flood fill", "Tools"),
    Shortcut("tool_polygon", "P", "Polygon fill", "Tools"),
    Shortcut("tool_rectangle", "R", "Rectangle fill", "Tools"),
    Shortcut("tool_eyedropper", "I", "Eyedropper (pick the label under the cursor)", "Tools"),
    Shortcut("tool_relabel", "L", "Relabel a connected region", "Tools"),
    Shortcut("tool_smart_fill", "S", "Smart fill: grow the label from a stroke (Shift: a box) along edges", "Tools"),
    Shortcut("tool_snap_brush", "E", "Snap-to-edges brush", "Tools"),
    Shortcut("brush_smaller", "[", "Smaller brush", "Tools"),
    Shortcut("brush_larger", "]", "Larger brush", "Tools"),
    Shortcut("brush_tip", "Shift+B", "Round / square brush", "Tools"),
    Shortcut(
        "labels",
        "1…9, 0",
        "Pick a quick label (each keeps its key; right-click a slot to pin it)",
        "Tools",
        bound=False,
    ),
    Shortcut("polygon_keys", "Enter / Backspace", "Polygon: fill / remove the last corner", "Tools", bound=False),
    Shortcut("cancel", "Esc", "Cancel the stroke or shape in progress", "Tools", bound=False),
    Shortcut("view_labels", "Ctrl+1", "View: labels over the photo", "View"),
    Shortcut("view_result", "Ctrl+2", "View: rendered result", "View"),
    Shortcut("view_side_by_side", "Ctrl+3", "View: side by side", "View"),
    Shortcut("view_wipe", "Ctrl+4", "View: before/after wipe (drag the divider)", "View"),
    Shortcut("outline", "O", "Label overlay: colours / outlines", "View"),
    Shortcut("raw_render", "Ctrl+Shift+R", "Show the raw render (not composited onto the photo)", "View"),
    Shortcut("peek", "\\ (hold)", "Peek at the original photo", "View", bound=False),
    Shortcut("zoom_in", "+", "Zoom in (also the mouse wheel)", "View"),
    Shortcut("zoom_out", "-", "Zoom out", "View"),
    Shortcut("fit", "Ctrl+0", "Fit to the window", "View"),
    Shortcut("zoom_actual", "Z", "Zoom to 100 % (actual pixels)", "View"),
    Shortcut("pan", "Space+drag, middle button", "Pan", "View", bound=False),
    Shortcut("render", "Ctrl+R", "Render now", "Render"),
    Shortcut("shortcuts", "F1", "Keyboard shortcuts", "Help"),
)


@dataclass(frozen=True)
class CanvasClick:
    """A left click on the canvas with modifier keys held, which does something other than the active tool."""

    action: str  # what the canvas does: "pick_label", "add_to_selection", "select_region"
    modifiers: tuple[str, ...]  # key names as QKeySequence writes them: "Ctrl", "Alt", "Shift"
    description: str
    group: str = "Canvas"

    @property
    def keys(self) -> str:
        return "+".join((*self.modifiers, "click"))


#: The first entry whose modifiers are all held wins: Alt+Shift-click picks, Ctrl+Shift-click adds.
CANVAS_CLICKS: tuple[CanvasClick, ...] = (
    CanvasClick("pick_label", ("Alt",), "Pick the label under the cursor, whatever the tool"),
    CanvasClick("add_to_selection", ("Ctrl", "Shift"), "Add the region under the cursor to the selection"),
    CanvasClick("select_region", ("Ctrl",), "Select the region under the cursor (no painting)"),
)


def canvas_click(held: Collection[str]) -> CanvasClick | None:
    """What a click with the modifier keys ``held`` (names as in :class:`CanvasClick`) does; None: the tool."""
    held = set(held)
    return next((click for click in CANVAS_CLICKS if set(click.modifiers) <= held), None)


def help_rows() -> list[tuple[str, str, str]]:
    """(keys, what it does, group) for every shortcut and canvas click: what Help > Shortcuts lists."""
    rows = [(shortcut.keys, shortcut.description, shortcut.group) for shortcut in SHORTCUTS]
    return rows + [(click.keys, click.description, click.group) for click in CANVAS_CLICKS]
