"""cnnstudio.model: the network description (plain, versioned data), shape inference
with explained problems, templates, undoable edit commands and the training config.

No Qt, no data, no project imports: only the engine below it.
"""

from cnnstudio.model.build import build_network, build_optimizer, build_schedule
from cnnstudio.model.commands import (AddLayer, Command, DuplicateLayer, MoveLayer, RemoveLayer, RenameNetwork,
                                      ReplaceLayer, ReplaceNetwork, SetInput, SetLayerConfig)
from cnnstudio.model.document import Document, DocumentEvent
from cnnstudio.model.errors import (EditError, ModelError, ModelFormatError, NetworkError, NetworkProblem,
                                    ReadOnlyError)
from cnnstudio.model.fit import TrainCheck, check_trainable
from cnnstudio.model.problems import format_shape
from cnnstudio.model.shapes import LayerShape, ShapeReport, infer_shapes, validate
from cnnstudio.model.spec import FORMAT_VERSION, InputSpec, LayerSpec, NetworkSpec, default_config, known_layer_types
from cnnstudio.model.templates import TEMPLATES, UnknownTemplateError, get_template
from cnnstudio.model.training_config import TrainingConfig, TrainingConfigError

__all__ = [
    "build_network", "build_optimizer", "build_schedule", "TrainingConfig", "TrainingConfigError",
    "AddLayer", "Command", "DuplicateLayer", "MoveLayer", "RemoveLayer", "RenameNetwork",
    "ReplaceLayer", "ReplaceNetwork",
    "SetInput", "SetLayerConfig", "Document", "DocumentEvent", "TrainCheck", "check_trainable",
    "EditError", "ModelError", "ModelFormatError", "NetworkError", "NetworkProblem", "ReadOnlyError",
    "format_shape", "LayerShape", "ShapeReport", "infer_shapes", "validate",
    "FORMAT_VERSION", "InputSpec", "LayerSpec", "NetworkSpec", "default_config", "known_layer_types",
    "TEMPLATES", "UnknownTemplateError", "get_template",
]
