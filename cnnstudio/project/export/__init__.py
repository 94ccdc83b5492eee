"""Take the network anywhere: ONNX export and import, PyTorch export (a module, its weights and a
``torchrun`` training script).

Every layer type says how it maps to each format in its own class (the ``# ---- export ----``
block of ``engine/layers``); the modules here iterate over the network's layers and the layer
registry and call those declarations, with no table of type names. onnx, onnxruntime and
safetensors are imported inside these modules' functions only, so CNN Studio runs without the
``export`` extra; PyTorch is never imported (the exported files need it, CNN Studio does not).
"""

from cnnstudio.project.export.common import ExportError, block_names

__all__ = ["ExportError", "block_names"]
