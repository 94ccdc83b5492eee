"""``runs``: the training runs a project keeps, as a table or as JSON (keys: docs/cli.md)."""

from __future__ import annotations

import json
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser("runs", help="list the training runs a project keeps (figures, settings, kept weights)")
    p.add_argument("project", metavar="RUN.cnnproj", help="project file (cnnstudio train adds a run to it)")
    p.add_argument("--json", action="store_true", help="print one JSON object (keys: docs/cli.md)")
    p.set_defaults(func=cmd_runs)


def _pct(value: Any) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _num(value: Any, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def cmd_runs(args: Any) -> int:
    from cnnstudio.project.file import load_project
    from cnnstudio.project.runs import differing_settings, lr_text, run_row, setting_label

    project = load_project(args.project)
    rows = [run_row(r) for r in project.runs]
    current = project.history.get("run")
    differing = differing_settings(project.runs)
    if args.json:
        print(json.dumps({"project": str(args.project), "current_run": current, "differing": differing,
                          "runs": rows}, indent=1, allow_nan=False, default=str))
        return 0
    if not rows:
        print(f"{args.project}: no training runs yet (cnnstudio train MODEL --out {args.project} adds one)")
        return 0
    head = ["run", "started", "network", "data", "epochs", "best val acc", "final val acc", "val loss", "time",
            "img/s", "learning rate", "optimizer", "batch", "weights"]
    table = [head]
    for run, row in zip(project.runs, rows):
        mark = "*" if row["number"] == current else ""
        best = _pct(row["best_val_acc"]) + (f" (ep {row['best_epoch']})" if row["best_epoch"] else "")
        table.append([f"{row['number']}{mark}", (row["started"] or "-").replace("T", " ")[:16], row["network"],
                      str(row["dataset"] or "-")[:40], str(row["epochs"]), best, _pct(row["final_val_acc"]), _num(row["final_val_loss"], ".4f"),
                      _num(row["seconds"], ".1f") + "s", _num(row["images_per_sec"], ",.0f"),
                      lr_text(run) or "-", str(row["optimizer"] or "-"), str(row["batch_size"] or "-"),
                      "+".join(row["weights"]) or "-"])
    widths = [max(len(r[i]) for r in table) for i in range(len(head))]
    for r in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip())
    if current is not None:
        print(f"* run {current}: the project's current network and weights")
    if differing:
        print("differ between runs: " + ", ".join(setting_label(name) for name in differing))
    return 0
