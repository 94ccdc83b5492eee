"""Does the network fit the chosen dataset? Problems the editor shows as soon as a dataset is
chosen (issue 13: a class-count mismatch was found only at Start, while the editor said
"every shape fits"), each with the one undoable edit that fixes it.

``data_problems`` keeps the dataset-dependent problems of ``fit.check_trainable`` (the class
count against the last Dense layer, the channel count against the input) and names the
dataset in them; ``fix_command`` is the document command behind the one-click fix.
"""

from __future__ import annotations

from dataclasses import replace

from cnnstudio.model.commands import AddLayer, Command, SetInput, SetLayerConfig
from cnnstudio.model.errors import NetworkProblem
from cnnstudio.model.fit import check_trainable
from cnnstudio.model.spec import LayerSpec, NetworkSpec

DATA_KINDS = ("classes_mismatch", "channels_mismatch")


def data_problems(spec: NetworkSpec, num_classes: int, image_shape: tuple[int, int, int],
                  data_name: str = "the dataset") -> list[NetworkProblem]:
    """The problems between ``spec`` and a dataset of ``num_classes`` classes and images
    ``image_shape = (h, w, c)`` called ``data_name``; [] when they fit (a network with shape
    problems of its own reports those first, in the editor's list)."""
    if num_classes < 1 or not spec.layers:
        return []
    found = [p for p in check_trainable(spec, num_classes, image_shape).problems if p.kind in DATA_KINDS]
    return [replace(p, message=p.message.replace("the dataset", f"{data_name}")) for p in found]


def fix_command(spec: NetworkSpec, problem: NetworkProblem, num_classes: int,
                image_shape: tuple[int, int, int]) -> Command | None:
    """The undoable edit behind ``problem``'s fix, or None where there is no single one.

    classes_mismatch: the last Dense layer's units set to the class count (or, with no Dense,
    Dense ``num_classes`` inserted before the final Softmax of a chain); channels_mismatch:
    the input's channels set to the dataset's."""
    if problem.kind == "classes_mismatch":
        if problem.layer_type == "Dense" and problem.index is not None:
            return SetLayerConfig(problem.index, "units", int(num_classes))
        if spec.is_chain and spec.layers and spec.layers[-1].type == "Softmax":
            return AddLayer(len(spec.layers) - 1, LayerSpec("Dense", {"units": int(num_classes)}))
        return None
    if problem.kind == "channels_mismatch":
        return SetInput(spec.input.height, spec.input.width, int(image_shape[2]))
    return None


def fix_label(problem: NetworkProblem, num_classes: int, image_shape: tuple[int, int, int]) -> str:
    """The fix button's text, as the user sees the layers (numbered from 1)."""
    if problem.kind == "classes_mismatch":
        if problem.layer_type == "Dense" and problem.index is not None:
            return f"Set layer {problem.index + 1} Dense to {num_classes} units"
        return f"Insert Dense {num_classes} before the Softmax"
    return f"Set the input to {image_shape[2]} channel(s)"
