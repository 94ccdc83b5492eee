"""The open network plus its undo stack and change listeners (plain Python, no Qt).

The GUI's views subscribe to a ``Document`` and write to it only through
``execute(command)``; undo/redo restore the exact previous spec. ``subscribe``
callbacks receive a ``DocumentEvent`` after every change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from cnnstudio.model.commands import Command
from cnnstudio.model.errors import ReadOnlyError
from cnnstudio.model.shapes import ShapeReport, infer_shapes
from cnnstudio.model.spec import NetworkSpec

READ_ONLY_MESSAGE = "the network cannot be edited while training runs; stop training first"


@dataclass(frozen=True)
class DocumentEvent:
    """A change: ``action`` is "execute", "undo", "redo", "reset" or "clean" (only the saved flag changed).

    ``command`` is the command executed/undone/redone (None for reset/clean); ``text``
    its description ("Add Conv2D"); ``spec`` the network after the change.
    """

    action: str
    command: Command | None
    text: str
    spec: NetworkSpec
    dirty: bool


class _Entry:
    """One undo-stack entry; its identity marks the clean state."""

    def __init__(self, command: Command):
        self.command = command


Listener = Callable[[DocumentEvent], None]


class Document:
    """The network being edited. ``spec`` is a copy: mutate only through ``execute``."""

    def __init__(self, spec: NetworkSpec | None = None):
        self._spec = (spec or NetworkSpec()).copy()
        self._undo: list[_Entry] = []
        self._redo: list[_Entry] = []
        self._clean: _Entry | None = None  # top of the undo stack when last saved (None: empty stack)
        self._listeners: list[Listener] = []
        self._report: ShapeReport | None = None
        self.read_only = False

    # ---- state ---------------------------------------------------------------
    @property
    def spec(self) -> NetworkSpec:
        return self._spec.copy()

    @property
    def report(self) -> ShapeReport:
        """Shape inference for the current spec (cached until the next change)."""
        if self._report is None:
            self._report = infer_shapes(self._spec)
        return self._report

    @property
    def is_dirty(self) -> bool:
        return (self._undo[-1] if self._undo else None) is not self._clean

    @property
    def clean(self) -> bool:
        return not self.is_dirty

    def set_clean(self) -> None:
        """Mark the current state as saved."""
        was_dirty = self.is_dirty
        self._clean = self._undo[-1] if self._undo else None
        if was_dirty:
            self._emit("clean", None, "")

    # ---- editing -------------------------------------------------------------
    def _check_writable(self) -> None:
        if self.read_only:
            raise ReadOnlyError(READ_ONLY_MESSAGE)

    def execute(self, command: Command, merge: bool = False) -> bool:
        """Apply ``command``; returns False (and records nothing) when it changes nothing.

        ``merge=True`` offers the command to the last undo step (``Command.merge_with``): steps
        of one spin box on one field become one undo step, which goes back to the value before
        the first step. No merge across a saved state or after an undo (the redo tail), and a
        merged step that ends where it started leaves no undo step at all (Qt's obsolete command).
        Raises ``EditError`` / ``LayerConfigError`` and leaves the document unchanged.
        """
        self._check_writable()
        new = command.redo(self._spec)  # validates before anything changes
        if new == self._spec and not command.changes_outside_spec:
            return False
        top = self._undo[-1] if self._undo else None
        if (merge and top is not None and not self._redo and top is not self._clean
                and top.command.merge_with(command)):
            self._set(new)
            if top.command.undo(self._spec) == self._spec:  # back to the value before the first step
                self._undo.pop()
            self._emit("execute", top.command, top.command.text)
            return True
        self._undo.append(_Entry(command))
        self._redo.clear()  # a new edit after undo drops the redo tail
        self._set(new)
        self._emit("execute", command, command.text)
        return True

    def undo(self) -> None:
        self._check_writable()
        if not self._undo:
            return
        entry = self._undo.pop()
        self._set(entry.command.undo(self._spec))
        self._redo.append(entry)
        self._emit("undo", entry.command, entry.command.text)

    def redo(self) -> None:
        self._check_writable()
        if not self._redo:
            return
        entry = self._redo.pop()
        self._set(entry.command.redo(self._spec))
        self._undo.append(entry)
        self._emit("redo", entry.command, entry.command.text)

    def reset(self, spec: NetworkSpec) -> None:
        """Open another network: no undo history, marked clean (e.g. after loading a file)."""
        self._check_writable()
        self._undo.clear()
        self._redo.clear()
        self._clean = None
        self._set(spec.copy())
        self._emit("reset", None, "")

    # ---- undo/redo descriptions ---------------------------------------------
    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def undo_text(self) -> str:
        return f"Undo {self._undo[-1].command.text}" if self._undo else "Undo"

    @property
    def redo_text(self) -> str:
        return f"Redo {self._redo[-1].command.text}" if self._redo else "Redo"

    @property
    def unsaved_steps(self) -> list[str]:
        """What changed since the last save, oldest first, as undo texts ("Add Conv2D"); steps
        undone past the saved state read "Undo ...". Empty when the document is clean."""
        if not self.is_dirty:
            return []
        tops = list(self._undo)
        if self._clean is None or self._clean in tops:
            start = 0 if self._clean is None else tops.index(self._clean) + 1
            return [e.command.text for e in tops[start:]]
        # saved further along, then undone back past it: the undone steps, then the new ones
        undone = self._redo[self._redo.index(self._clean):] if self._clean in self._redo else []
        return [f"Undo {e.command.text}" for e in undone] + [e.command.text for e in tops]

    # ---- listeners -----------------------------------------------------------
    def subscribe(self, callback: Listener) -> Callable[[], None]:
        """Call ``callback(event)`` after every change; returns a function that unsubscribes."""
        self._listeners.append(callback)
        return lambda: self.unsubscribe(callback)

    def unsubscribe(self, callback: Listener) -> None:
        if callback in self._listeners:
            self._listeners.remove(callback)

    def _set(self, spec: NetworkSpec) -> None:
        self._spec = spec
        self._report = None

    def _emit(self, action: str, command: Command | None, text: str) -> None:
        event = DocumentEvent(action, command, text, self._spec.copy(), self.is_dirty)
        for callback in list(self._listeners):
            callback(event)
