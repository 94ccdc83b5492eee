"""Two runs on the same data given once by a relative and once by an absolute path do not "differ in
Dataset" (QA of issue 13: `cnnstudio train lenet5 --data shapes` and `--data /tmp/qa/shapes` into one
project listed "differ between runs: Dataset" for identical runs)."""

from __future__ import annotations

from cnnstudio.project.runs import RunRecord, differing_settings

DATA = {"kind": "folder", "name": "shapes", "path": "/tmp/qa/shapes", "val_fraction": 0.1, "split_seed": 0}


def _run(number, dataset, data, lr=0.002):
    return RunRecord(number=number, hyperparameters={"dataset": dataset, "lr": lr, "val_fraction": 0.1},
                     data=None if data is None else dict(data))


def test_the_data_record_decides_not_the_path_as_typed():
    assert differing_settings([_run(1, "shapes", DATA), _run(2, "/tmp/qa/shapes", DATA)]) == []
    other = dict(DATA, path="/tmp/qa/other", name="other")
    assert differing_settings([_run(1, "shapes", DATA), _run(2, "other", other, lr=0.001)]) == ["data", "lr"]


def test_runs_without_a_data_record_still_compare_the_setting():
    assert differing_settings([_run(1, "sample", None), _run(2, "mnist", None)]) == ["dataset"]
