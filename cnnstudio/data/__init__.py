"""cnnstudio.data: datasets, the bundled sample, readers, downloads, augmentation.

No Qt and no pickle here. Images are uint8 (N, H, W, C) in a :class:`Dataset`;
:func:`to_float_nchw` gives the engine float32 (N, C, H, W) in [0, 1].
"""

from cnnstudio.data.dataset import (
    Dataset,
    fit_to_network,
    resize,
    split,
    to_float_nchw,
    to_grayscale,
    to_rgb,
)
from cnnstudio.data.errors import (
    DataError,
    DataFormatError,
    DataMismatchError,
    DownloadCancelled,
    DownloadError,
)
from cnnstudio.data.sample import load_sample, sample_split

__all__ = [
    "Dataset", "fit_to_network", "resize", "split", "to_float_nchw", "to_grayscale", "to_rgb",
    "DataError", "DataFormatError", "DataMismatchError", "DownloadCancelled", "DownloadError",
    "load_sample", "sample_split",
]
