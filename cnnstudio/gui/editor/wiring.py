"""The editor's wiring edits on a branching network, one document command each.

Like ``edits``: the canvas calls these; each hands one of the model's commands to
``document.execute``, so every connect, disconnect, skip connection and insertion on a
wire is one undo step named after itself ("Undo Connect 4 ReLU to 9 Add").
"""

from __future__ import annotations

from cnnstudio.gui.editor.edits import default_config
from cnnstudio.model.document import Document
from cnnstudio.model.graph_commands import AddSkipConnection, Connect, Disconnect
from cnnstudio.model.spec import LayerSpec
from cnnstudio.model.wire_commands import InsertOnWire, MoveOntoWire


def connect(document: Document, src: int, dst: int) -> None:
    """Wire ``src``'s output (-1 = the Input) into layer ``dst`` (a merge gains an input)."""
    if src != dst and src not in document.spec.sources(dst):   # a wire that is there already: no step
        document.execute(Connect(src, dst))


def disconnect(document: Document, src: int, dst: int) -> None:
    document.execute(Disconnect(src, dst))


def add_skip_connection(document: Document, start: int, to: int) -> None:
    """An Add after layer ``to`` summing its output with ``start``'s (-1 = the Input)."""
    document.execute(AddSkipConnection(start, to))


def insert_on_wire(document: Document, src: int, dst: int, type_name: str) -> None:
    """A fresh ``type_name`` block on the wire from ``src`` into ``dst``; it becomes layer ``dst``."""
    document.execute(InsertOnWire(src, dst, LayerSpec(type_name, default_config(type_name))))


def move_onto_wire(document: Document, index: int, src: int, dst: int) -> None:
    document.execute(MoveOntoWire(index, src, dst))
