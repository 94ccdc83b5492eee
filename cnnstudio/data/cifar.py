"""CIFAR-10 binary version reader (``cifar-10-binary.tar.gz``; the python version is pickled).

Each batch file is a run of 3,073-byte records: one label byte, then a 32x32 image
as 1,024 red, 1,024 green, 1,024 blue bytes (CHW). The tar is read in memory:
nothing is extracted to disk, and only the expected member names are read.
"""

from __future__ import annotations

import tarfile
import zlib
from pathlib import Path, PurePosixPath

import numpy as np

from cnnstudio.data.dataset import Dataset
from cnnstudio.data.errors import NOT_FOUND, DataFormatError

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck"]
RECORD = 1 + 3 * 32 * 32
TRAIN_MEMBERS = [f"data_batch_{i}.bin" for i in range(1, 6)]
TEST_MEMBER = "test_batch.bin"
MAX_RECORDS_PER_BATCH = 10_000
#: tar members looked at: the archive holds 8 (a folder, six batches, a meta file, a readme)
MAX_MEMBERS = 1_000


def parse_records(path, member: str, raw: bytes) -> tuple[np.ndarray, np.ndarray]:
    """raw: n * 3073 bytes -> (x uint8 (n, 32, 32, 3), y int64 (n,))."""
    if len(raw) % RECORD:
        raise DataFormatError(path, f"member {member}: {len(raw):,} bytes is not a whole number of "
                              f"{RECORD}-byte CIFAR records: truncated or corrupt")
    rec = np.frombuffer(raw, dtype=np.uint8).reshape(-1, RECORD)
    y = rec[:, 0].astype(np.int64)
    if y.size and y.max() > 9:
        raise DataFormatError(path, f"member {member}: label {y.max()} is not a CIFAR-10 class (0..9)")
    x = rec[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(x), y


def read_cifar10_tar(path) -> tuple[Dataset, Dataset]:
    """The official archive -> (train 50,000, test 10,000) as uint8 (N, 32, 32, 3)."""
    path = Path(path)
    wanted = set(TRAIN_MEMBERS) | {TEST_MEMBER}
    parts: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    try:
        with tarfile.open(path, "r:*") as tar:
            for count, m in enumerate(tar):
                if count >= MAX_MEMBERS:
                    raise DataFormatError(path, f"more than {MAX_MEMBERS:,} members; not a CIFAR-10 archive")
                base = PurePosixPath(m.name).name
                if base not in wanted or not m.isfile() or base in parts:
                    continue
                if m.size > MAX_RECORDS_PER_BATCH * RECORD:
                    raise DataFormatError(path, f"member {m.name} claims {m.size:,} bytes, more than "
                                          "a CIFAR batch holds")
                fh = tar.extractfile(m)
                raw = fh.read(m.size) if fh is not None else b""
                if len(raw) != m.size:
                    raise DataFormatError(path, f"member {m.name} is truncated")
                parts[base] = parse_records(path, m.name, raw)
    except FileNotFoundError:
        raise DataFormatError(path, NOT_FOUND) from None
    except MemoryError:
        raise DataFormatError(path, "not enough memory to read the archive") from None
    except (tarfile.TarError, OSError, EOFError, zlib.error, ValueError) as exc:
        raise DataFormatError(path, f"not a readable tar archive ({exc}); download it again") from None
    missing = sorted(wanted - set(parts))
    if missing:
        raise DataFormatError(path, f"archive lacks {', '.join(missing)}; expected the CIFAR-10 "
                              "binary version (cifar-10-binary.tar.gz, from "
                              "https://www.cs.toronto.edu/~kriz/cifar.html)")
    xs, ys = zip(*(parts[n] for n in TRAIN_MEMBERS))
    train = Dataset("CIFAR-10 (train)", np.concatenate(xs), np.concatenate(ys),
                    list(CIFAR10_CLASSES), str(path))
    test = Dataset("CIFAR-10 (test)", parts[TEST_MEMBER][0], parts[TEST_MEMBER][1],
                   list(CIFAR10_CLASSES), str(path))
    return train, test
