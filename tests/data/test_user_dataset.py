import numpy as np
import pytest

from cnnstudio.data import DataFormatError, Dataset, UserDataset, split


def test_add_and_round_trip():
    u = UserDataset()
    assert len(u) == 0 and isinstance(u, Dataset)
    u.add(np.full((28, 28), 7, np.uint8), 3)
    u.add(np.ones((28, 28, 1), np.float32), 9)
    assert u.x.shape == (2, 28, 28, 1) and u.y.tolist() == [3, 9] and u.x[1].max() == 255
    back = UserDataset.from_arrays(**u.to_arrays())
    assert np.array_equal(back.x, u.x) and np.array_equal(back.y, u.y)
    u.remove(0)
    assert u.y.tolist() == [9]


def test_refuses_bad_drawings():
    u = UserDataset()
    with pytest.raises(DataFormatError, match="uint8 \\(28, 28, 1\\)"):
        u.add(np.zeros((14, 14), np.uint8), 1)
    with pytest.raises(DataFormatError, match="0..9"):
        u.add(np.zeros((28, 28), np.uint8), 10)
    with pytest.raises(DataFormatError, match="integers"):
        UserDataset.from_arrays(np.zeros((1, 28, 28, 1), np.uint8), np.array([0.5]))


def test_user_dataset_splits_like_any_dataset():
    u = UserDataset()
    for i in range(20):
        u.add(np.full((28, 28), i, np.uint8), i % 2)
    tr, va = split(u, 0.2, seed=0)
    assert len(tr) == 16 and len(va) == 4 and va.class_counts().tolist()[:2] == [2, 2]


def test_removing_a_drawing_that_does_not_exist_is_an_error():
    u = UserDataset()
    u.add(np.zeros((28, 28), np.uint8), 1)
    for index in (1, -1):  # both silently removed nothing before
        with pytest.raises(IndexError, match=f"drawing {index} does not exist; there are 1"):
            u.remove(index)
    assert len(u) == 1
