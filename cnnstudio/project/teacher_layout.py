"""The teacher's simplified layout: which panels and controls a project opens with hidden.

Stored in ``project.json`` as ``"teacher_layout": {"format": 1, "hidden": [names]}`` (or null),
like TensorFlow Playground's hide-controls state. The names are the fixed catalogue below (plain
data, no Qt: the GUI maps each to its widgets, ``gui.teacher_layout``). A project file is
untrusted input, so ``check`` accepts exactly this shape: an object with those two keys, at most
``MAX_HIDDEN`` names, each a known one, no repeats, and refuses anything else naming the bad part.
"""

from __future__ import annotations

from typing import Any

from cnnstudio.model.training_config import SETTINGS

FORMAT = 1
#: (name, what the teacher's dialog calls it), by group
PANELS = (
    ("panel.training", "Training panel"), ("panel.plots", "Plots"), ("panel.feature_maps", "Feature maps"),
    ("panel.draw", "Draw"), ("panel.evaluation", "Evaluation"), ("panel.dataset", "Dataset"),
    ("panel.runs", "Runs"),
)
EDITOR = (
    ("editor.palette", "Block palette (adding blocks)"), ("editor.inspector", "Block settings (inspector)"),
    ("editor.problems", "Problems list"),
)
TRAINING = tuple((f"setting.{name}", s.label) for name, s in SETTINGS.items())
GROUPS = (("Panels", PANELS), ("Network editor", EDITOR), ("Training settings", TRAINING))
KNOWN = {name: label for _, items in GROUPS for name, label in items}
MAX_HIDDEN = len(KNOWN)


class TeacherLayoutError(ValueError):
    """A stored teacher layout that is not the shape above; the message names the bad part."""


def check(value: Any) -> dict[str, Any] | None:
    """The stored field, validated and normalised (``None``: no simplified layout)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise TeacherLayoutError(f"teacher_layout must be an object or null, got {type(value).__name__}")
    extra = sorted(str(k)[:40] for k in value if k not in ("format", "hidden"))
    if extra:
        raise TeacherLayoutError(f"teacher_layout has unknown key(s) {', '.join(map(repr, extra[:5]))}; "
                                 "it holds only 'format' and 'hidden'")
    if value.get("format") != FORMAT or isinstance(value.get("format"), bool):
        raise TeacherLayoutError(f"teacher_layout.format must be {FORMAT}, got {str(value.get('format'))[:40]!r}")
    hidden = value.get("hidden")
    if not isinstance(hidden, list):
        raise TeacherLayoutError(f"teacher_layout.hidden must be a list of names, got {type(hidden).__name__}")
    if len(hidden) > MAX_HIDDEN:
        raise TeacherLayoutError(f"teacher_layout.hidden lists {len(hidden)} names; there are only "
                                 f"{MAX_HIDDEN} panels and controls to hide")
    seen: set[str] = set()
    for i, name in enumerate(hidden):
        if not isinstance(name, str):
            raise TeacherLayoutError(f"teacher_layout.hidden[{i}] must be a name, got {type(name).__name__}")
        if name not in KNOWN:
            raise TeacherLayoutError(f"teacher_layout.hidden[{i}]: {name[:60]!r} is not a panel or control "
                                     f"this app can hide (e.g. 'panel.plots', 'editor.palette', 'setting.lr')")
        if name in seen:
            raise TeacherLayoutError(f"teacher_layout.hidden[{i}]: {name!r} is listed twice")
        seen.add(name)
    return {"format": FORMAT, "hidden": list(hidden)}


def make(hidden: list[str] | tuple[str, ...] | set[str]) -> dict[str, Any] | None:
    """The field for ``hidden`` names in the catalogue's order (None when nothing is hidden)."""
    names = [name for name in KNOWN if name in set(hidden)]
    unknown = set(hidden) - set(names)
    if unknown:
        raise TeacherLayoutError(f"not panels or controls this app can hide: {', '.join(sorted(unknown))}")
    return check({"format": FORMAT, "hidden": names}) if names else None
