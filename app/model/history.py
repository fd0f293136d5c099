"""Undo/redo: sparse pixel diffs and the history stack.

Nothing here knows about documents. A command is anything with a ``title`` and ``undo()`` /
``redo()`` that has *already been applied* when it is pushed. Pixel edits record one
:class:`ArrayPatch` per touched layer: the changed pixels inside the touched box only, so an
edit costs memory in proportion to what it changed, never a copy of the whole map.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import NamedTuple, Protocol

import numpy as np

log = logging.getLogger(__name__)


class Box(NamedTuple):
    """Half-open pixel rectangle: columns ``x0 .. x1-1`` and rows ``y0 .. y1-1``."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def slices(self) -> tuple[slice, slice]:
        """``(rows, cols)`` slices for indexing an (H, W) array."""
        return slice(self.y0, self.y1), slice(self.x0, self.x1)

    def is_empty(self) -> bool:
        return self.x1 <= self.x0 or self.y1 <= self.y0

    def union(self, other: Box) -> Box:
        return Box(min(self.x0, other.x0), min(self.y0, other.y0), max(self.x1, other.x1), max(self.y1, other.y1))

    def clipped(self, width: int, height: int) -> Box:
        """This box cut to an image of ``width`` x ``height`` pixels (may become empty)."""
        return Box(max(self.x0, 0), max(self.y0, 0), min(self.x1, width), min(self.y1, height))

    def shifted(self, dx: int, dy: int) -> Box:
        return Box(self.x0 + dx, self.y0 + dy, self.x1 + dx, self.y1 + dy)

    @classmethod
    def of_mask(cls, mask: np.ndarray) -> Box | None:
        """Tight box around the True pixels of a (H, W) bool mask, or None when there are none."""
        rows = np.flatnonzero(mask.any(axis=1))
        if rows.size == 0:
            return None
        cols = np.flatnonzero(mask.any(axis=0))
        return cls(int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)


def _compact(values: np.ndarray) -> np.ndarray:
    """Store a run of identical values (a painted label, typically) as one element."""
    if values.size > 1 and (values == values[0]).all():
        return values[:1].copy()
    return values.copy()


class ArrayPatch:
    """The pixels of one 2-D layer that an edit changed, inside :attr:`box`.

    Keeps a packed bit mask of the box plus the before/after values of the changed pixels
    only, so a long thin stroke costs about one bit per box pixel plus its changed pixels.
    """

    __slots__ = ("layer", "box", "_packed_mask", "_before", "_after")

    def __init__(self, layer: str, box: Box, packed_mask: np.ndarray, before: np.ndarray, after: np.ndarray):
        self.layer = layer
        self.box = box
        self._packed_mask = packed_mask
        self._before = before
        self._after = after

    @classmethod
    def capture(cls, layer: str, box: Box, before: np.ndarray, after: np.ndarray) -> ArrayPatch | None:
        """Diff two (h, w) arrays covering ``box`` of ``layer``; None when nothing changed.

        The stored box is shrunk to the changed pixels.
        """
        changed = before != after
        tight = Box.of_mask(changed)
        if tight is None:
            return None
        rows, cols = tight.slices
        changed = changed[rows, cols]
        return cls(
            layer,
            tight.shifted(box.x0, box.y0),
            np.packbits(changed),
            _compact(before[rows, cols][changed]),
            _compact(after[rows, cols][changed]),
        )

    def _mask(self) -> np.ndarray:
        count = self.box.width * self.box.height
        return np.unpackbits(self._packed_mask, count=count).view(bool).reshape(self.box.height, self.box.width)

    def _write(self, target: np.ndarray, values: np.ndarray, origin: Box | None) -> None:
        box = self.box if origin is None else self.box.shifted(-origin.x0, -origin.y0)
        rows, cols = box.slices
        target[rows, cols][self._mask()] = values

    def write_before(self, target: np.ndarray, origin: Box | None = None) -> None:
        """Put the old values back into ``target`` (the whole layer, or a crop starting at ``origin``)."""
        self._write(target, self._before, origin)

    def write_after(self, target: np.ndarray, origin: Box | None = None) -> None:
        """Put the new values into ``target`` (the whole layer, or a crop starting at ``origin``)."""
        self._write(target, self._after, origin)

    @property
    def nbytes(self) -> int:
        return self._packed_mask.nbytes + self._before.nbytes + self._after.nbytes

    @classmethod
    def merge(cls, patches: Sequence[ArrayPatch]) -> ArrayPatch | None:
        """One patch with the net effect of ``patches`` (same layer, oldest first); None if none.

        Built from the patches alone, so it does not matter what changed the layer since. Pixels
        no patch touched hold 0 in both crops and so drop out of the diff.
        """
        union = patches[0].box
        for patch in patches[1:]:
            union = union.union(patch.box)
        dtype = np.result_type(*(patch._after for patch in patches), *(patch._before for patch in patches))
        before = np.zeros((union.height, union.width), dtype)
        after = np.zeros_like(before)
        for patch in patches:
            patch.write_after(after, origin=union)
        for patch in reversed(patches):  # the oldest value of each pixel wins
            patch.write_before(before, origin=union)
        return cls.capture(patches[0].layer, union, before, after)


class Command(Protocol):
    """One undoable change, already applied when pushed onto a :class:`History`.

    A command class may also define ``combine(cls, commands) -> list[Command]``, a classmethod
    that folds a run of its own commands recorded inside one group into fewer commands.
    """

    title: str

    def undo(self) -> None: ...

    def redo(self) -> None: ...

    def nbytes(self) -> int: ...


class CompoundCommand:
    """Several commands undone and redone as one step."""

    def __init__(self, title: str, commands: Sequence[Command]):
        self.title = title
        self.commands = list(commands)

    def undo(self) -> None:
        for command in reversed(self.commands):
            command.undo()

    def redo(self) -> None:
        for command in self.commands:
            command.redo()

    def nbytes(self) -> int:
        return sum(command.nbytes() for command in self.commands)


def _coalesce(commands: Sequence[Command]) -> list[Command]:
    """Fold each run of same-type commands that know how to ``combine`` themselves."""
    result: list[Command] = []
    start = 0
    while start < len(commands):
        kind = type(commands[start])
        end = start + 1
        while end < len(commands) and type(commands[end]) is kind:
            end += 1
        run = list(commands[start:end])
        combine = getattr(kind, "combine", None)
        result.extend(combine(run) if combine is not None and len(run) > 1 else run)
        start = end
    return result


class History:
    """Unlimited undo/redo of applied commands, with grouping of many small changes into one step.

    ``entries`` lists the titles of every recorded step; the first ``index`` of them are applied.
    ``on_change`` is called after anything that changes what a history panel shows.
    """

    def __init__(self, on_change: Callable[[], None] | None = None):
        self._commands: list[Command] = []
        self._index = 0
        self._group_title = ""
        self._group_depth = 0
        self._group_buffer: list[Command] = []
        self._on_change = on_change
        #: How many times the stack moved (push, undo, redo, clear) and how it last did, with the step's title:
        #: the edit journal records it, so that recovery rebuilds the same history (app/model/journal.py).
        self.change_count = 0
        self.last_change: tuple[str, str] = ("", "")

    # -- what a history panel shows -------------------------------------------------------
    @property
    def entries(self) -> list[str]:
        return [command.title for command in self._commands]

    @property
    def index(self) -> int:
        """How many entries are applied; ``entries[index - 1]`` is the current step."""
        return self._index

    @property
    def can_undo(self) -> bool:
        return self._index > 0 and not self.is_grouping

    @property
    def can_redo(self) -> bool:
        return self._index < len(self._commands) and not self.is_grouping

    @property
    def undo_title(self) -> str | None:
        return self._commands[self._index - 1].title if self._index > 0 else None

    @property
    def redo_title(self) -> str | None:
        return self._commands[self._index].title if self._index < len(self._commands) else None

    @property
    def is_grouping(self) -> bool:
        return self._group_depth > 0

    def memory_bytes(self) -> int:
        """Bytes held by recorded steps (undone ones included) and by an open group."""
        return sum(command.nbytes() for command in (*self._commands, *self._group_buffer))

    # -- recording ------------------------------------------------------------------------
    def push(self, command: Command) -> None:
        """Record an already applied command; drops anything that could have been redone."""
        if self.is_grouping:
            self._group_buffer.append(command)
            return
        del self._commands[self._index :]
        self._commands.append(command)
        self._index += 1
        self._changed("push", command.title)

    def begin(self, title: str) -> None:
        """Start a group: everything pushed until the matching :meth:`end` becomes one step.

        Groups nest; the outermost title names the step.
        """
        if self._group_depth == 0:
            self._group_title = title
            self._group_buffer = []
        self._group_depth += 1

    def end(self, title: str | None = None) -> Command | None:
        """Close a group; the outermost ``end`` records the step (none if nothing changed).

        ``title`` renames the step now that its effect is known (a slider drag: "hair: A → 40 % A + 60 % B").
        """
        if self._group_depth == 0:
            raise RuntimeError("History.end() without a matching begin()")
        if title is not None and self._group_depth == 1:
            self._group_title = title
        self._group_depth -= 1
        if self._group_depth > 0:
            return None
        commands = _coalesce(self._group_buffer)
        self._group_buffer = []
        if not commands:
            return None
        step = commands[0] if len(commands) == 1 else CompoundCommand(self._group_title, commands)
        step.title = self._group_title
        self.push(step)
        return step

    def abort(self) -> None:
        """Undo and forget what the open group recorded so far (Esc during a stroke).

        The group stays open until its ``end()``, which then records nothing.
        """
        if self._group_depth == 0:
            raise RuntimeError("History.abort() outside a group")
        for command in reversed(self._group_buffer):
            command.undo()
        self._group_buffer = []

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        """``with history.group("Brush"):`` records everything inside as one step.

        If the block raises, its changes are rolled back and nothing is recorded.
        """
        self.begin(title)
        try:
            yield
        except BaseException:
            self.abort()
            self.end()
            raise
        self.end()

    # -- moving through the history -------------------------------------------------------
    def undo(self) -> str | None:
        """Undo the current step; returns its title, or None when there is nothing to undo."""
        self._refuse_while_grouping("undo")
        if self._index == 0:
            return None
        command = self._commands[self._index - 1]
        command.undo()
        self._index -= 1
        self._changed("undo", command.title)
        return command.title

    def redo(self) -> str | None:
        """Redo the next step; returns its title, or None when there is nothing to redo."""
        self._refuse_while_grouping("redo")
        if self._index == len(self._commands):
            return None
        command = self._commands[self._index]
        command.redo()
        self._index += 1
        self._changed("redo", command.title)
        return command.title

    def go_to(self, index: int) -> None:
        """Undo or redo until exactly ``index`` entries are applied (a click in a history panel)."""
        if not 0 <= index <= len(self._commands):
            raise IndexError(f"history index {index} outside 0..{len(self._commands)}")
        while self._index > index:
            self.undo()
        while self._index < index:
            self.redo()

    def clear(self) -> None:
        """Forget every step (after loading a new document, say); the document stays as it is."""
        self._refuse_while_grouping("clear")
        self._commands.clear()
        self._index = 0
        self._changed("clear", "")

    def _refuse_while_grouping(self, action: str) -> None:
        # Undoing under an open group would interleave with the group's own changes.
        if self.is_grouping:
            raise RuntimeError(f"cannot {action} while the group {self._group_title!r} is open")

    def _changed(self, how: str, title: str) -> None:
        self.change_count += 1
        self.last_change = (how, title)
        if self._on_change is not None:
            self._on_change()
