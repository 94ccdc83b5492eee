"""``export`` and ``import``: take a network to ONNX or PyTorch, bring an ONNX model in.

onnx, onnxruntime and safetensors are loaded only when these commands run (the ``export`` extra);
a missing one is one line saying how to install it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cnnstudio.cli import CliError, checked_model


def add_parsers(sub) -> None:
    """The two subcommands on the CLI's subparsers."""
    p = sub.add_parser("export", help="write a network as ONNX (model.onnx) or PyTorch (model.py, weights, "
                                      "train.py for torchrun)")
    p.add_argument("project", metavar="RUN.cnnproj",
                   help="project (its trained weights, or the initial ones), template name or model .json")
    p.add_argument("--format", required=True, choices=["onnx", "pytorch"], help="onnx: one .onnx file; "
                   "pytorch: a folder with model.py, weights.safetensors, train.py, README.md and the data")
    p.add_argument("--out", required=True, metavar="PATH", help="the .onnx file, or the folder for pytorch")
    p.add_argument("--data", metavar="DATA", help="pytorch: the data to export for train.py (default: what the "
                   "project was trained on, or the sample)")
    p.add_argument("--no-data", action="store_true", help="pytorch: export no data (train.py then needs --data)")
    p.add_argument("--limit", type=int, help=argparse.SUPPRESS)   # tests: the first N images of each part
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("import", help="build a project from an ONNX model (an editable network with its weights)")
    p.add_argument("model", metavar="MODEL.onnx", help="ONNX file (opset 9 or newer), e.g. from torch.onnx.export")
    p.add_argument("--out", required=True, metavar="PROJECT.cnnproj", help="project file to write")
    p.add_argument("--scale", type=float, help="how pixels 0..255 become the model's input: x * SCALE "
                   "(default 1/255, unless the model does its own preprocessing)")
    p.add_argument("--mean", type=float, nargs="+", metavar="M", help="then subtract one mean per channel")
    p.add_argument("--std", type=float, nargs="+", metavar="S", help="then divide by one std per channel")
    p.add_argument("--name", help="the network's name (default: the model's)")
    p.set_defaults(func=cmd_import)


def _load(arg: str):
    """(spec, Project) for a project file, or a fresh Project for a template / model .json."""
    from cnnstudio.project.file import Project, load_project

    if Path(arg).suffix.lower() == ".cnnproj":
        project = load_project(arg)
        checked_model(arg, project.network)
        return project
    return Project(checked_model(arg))


def cmd_export(args) -> int:
    from cnnstudio.project.export import ExportError

    project = _load(args.project)
    spec = project.network
    classes = (project.history.get("dataset") or {}).get("classes") if project.history else None
    try:
        if args.format == "onnx":
            from cnnstudio.project.export.onnx_export import OPSET, export_onnx

            out = export_onnx(spec, project.weights, args.out, class_names=classes,
                              project_name=Path(args.project).stem)
            print(f"wrote {out}: {spec.name}, {len(spec.layers)} layers, opset {OPSET}, input 'pixels' "
                  f"(N, {spec.input.channels}, {spec.input.height}, {spec.input.width}) raw pixels 0..255"
                  + ("" if project.weights is not None else " (untrained: the initial weights)"))
            return 0
        from cnnstudio.project.export.torch_export import export_pytorch

        data = None if args.no_data else _export_data(args, project)
        out = export_pytorch(project, args.out, data=data, class_names=classes)
    except ExportError as exc:
        raise CliError(str(exc)) from None
    print(f"wrote {out}/: model.py, weights.safetensors, train.py, README.md, project.cnnproj"
          + (", data.npz" if data is not None else ""))
    print(f"train it: cd {out} && torchrun --standalone --nproc_per_node=2 train.py --epochs 5 "
          "--write-back trained.cnnproj")
    return 0


def _export_data(args, project):
    from cnnstudio.cli.run import _download_progress, _recorded_data, has_own_split
    from cnnstudio.project import session

    if not args.data and has_own_split(project):   # the recorded images and split (issue 13)
        return session.prepare_data(_recorded_data(args, args.project, project), project.network, limit=args.limit)
    recorded = (project.history.get("dataset") or {}).get("source") if project.history else None
    source = args.data or recorded or "sample"
    if not args.data and recorded and recorded not in ("sample",) + session.STANDARD_SOURCES \
            and not Path(recorded).exists():
        raise CliError(f"project {args.project} was trained on {recorded}, which no longer exists; give the data "
                       "for train.py with --data, or --no-data")
    fraction = project.training_config.val_fraction if project.training_config else 0.1
    return session.prepare_data(source, project.network, val_fraction=fraction, limit=args.limit,
                                progress=_download_progress)


def cmd_import(args) -> int:
    from cnnstudio.project.export import ExportError
    from cnnstudio.project.export.onnx_import import import_onnx
    from cnnstudio.project.file import Project, new_history, save_project

    out = Path(args.out)
    if out.suffix.lower() != ".cnnproj":
        raise CliError(f"--out {args.out}: give a project file name ending in .cnnproj")
    try:
        imported = import_onnx(args.model, scale=args.scale, mean=args.mean, std=args.std, name=args.name)
    except ExportError as exc:
        raise CliError(str(exc)) from None   # refused: nothing is written
    history = new_history()
    if imported.class_names:
        history["dataset"] = {"name": imported.spec.name, "source": None, "classes": imported.class_names}
    save_project(out, Project(imported.spec, weights=imported.weights, history=history))
    spec = imported.spec
    print(f"wrote {out}: {spec.name}, {len(spec.layers)} layers, input {spec.input.display()}, "
          f"preprocessing {spec.input.preprocessing_text()}")
    for note in imported.notes:
        print(f"  note: {note}")
    return 0
