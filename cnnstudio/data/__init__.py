"""cnnstudio.data: datasets, the bundled sample, readers, downloads, augmentation.

No Qt and no pickle here. Images are uint8 (N, H, W, C) in a :class:`Dataset`;
:func:`to_float_nchw` gives the engine float32 (N, C, H, W) in [0, 1].
"""

from cnnstudio.data.augment import Augmenter, preview
from cnnstudio.data.cifar import CIFAR10_CLASSES, read_cifar10_tar
from cnnstudio.data.csvfile import load_csv
from cnnstudio.data.dataset import (
    Dataset,
    fit_to_network,
    resize,
    split,
    to_float_nchw,
    to_grayscale,
    to_rgb,
)
from cnnstudio.data.downloads import download, format_progress, verify_file
from cnnstudio.data.errors import (
    DataError,
    DataFormatError,
    DataMismatchError,
    DownloadCancelled,
    DownloadError,
)
from cnnstudio.data.folder import ImportCancelled, ImportReport, read_image_folder, scan_image_folder
from cnnstudio.data.idx import load_idx, read_idx_images, read_idx_labels
from cnnstudio.data.loaders import NAMED_SOURCES, load_dataset
from cnnstudio.data.npzfile import load_npz
from cnnstudio.data.registry import DATASETS, cache_dir, fetch, is_downloaded, load_standard
from cnnstudio.data.sample import load_sample, sample_split
from cnnstudio.data.user import UserDataset

__all__ = [
    "Dataset", "fit_to_network", "resize", "split", "to_float_nchw", "to_grayscale", "to_rgb",
    "DataError", "DataFormatError", "DataMismatchError", "DownloadCancelled", "DownloadError",
    "load_sample", "sample_split", "load_dataset", "NAMED_SOURCES",
    "load_idx", "read_idx_images", "read_idx_labels", "load_npz", "load_csv",
    "read_image_folder", "scan_image_folder", "ImportReport", "ImportCancelled",
    "CIFAR10_CLASSES", "read_cifar10_tar",
    "Augmenter", "preview", "UserDataset",
    "download", "format_progress", "verify_file", "DATASETS", "cache_dir", "fetch", "is_downloaded", "load_standard",
]
