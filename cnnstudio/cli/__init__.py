"""The ``cnnstudio`` command line.

``cnnstudio`` alone (or ``cnnstudio gui [PROJECT]``) opens the app; ``summary``,
``train``, ``evaluate`` and ``predict`` work headless. Every error a person can fix
is one line on stderr and exit code 2 (1 for a runtime failure, 130 after Ctrl+C);
never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import NoReturn

EXIT_USAGE = 2
EXIT_RUNTIME = 1
EXIT_INTERRUPTED = 130


class CliError(Exception):
    """A problem the user can fix; printed as one line, exit code ``code``."""

    def __init__(self, message: str, code: int = EXIT_USAGE):
        super().__init__(message)
        self.code = code


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line instead of usage + message
        raise CliError(f"{message} (see '{self.prog} --help')")


# ---- model loading ----------------------------------------------------------------------
def load_model(arg: str):
    """A NetworkSpec from a template name, a model ``.json`` file or a ``.cnnproj`` project."""
    from cnnstudio.model.templates import TEMPLATES, get_template

    if arg in TEMPLATES:
        return get_template(arg)
    path = Path(arg)
    if path.suffix.lower() == ".cnnproj":
        from cnnstudio.project.file import load_project

        return load_project(path).network
    if path.suffix.lower() == ".json":
        return _parse_model_json(path)
    raise CliError(f"MODEL {arg!r} is neither a template ({', '.join(TEMPLATES)}) nor a .json model "
                   "or .cnnproj project file")


def _parse_model_json(path: Path):
    from cnnstudio.model.spec import NetworkSpec

    if path.is_dir():
        raise CliError(f"model file {path}: is a folder, not a file; give the path of a model .json file")
    if not path.exists():
        raise CliError(f"model file {path}: not found; check the path")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CliError(f"model file {path}: is not UTF-8 text (byte {exc.start}); "
                       "give a CNN Studio network .json (NetworkSpec.to_json's format) or a .cnnproj project") from exc
    except OSError as exc:
        raise CliError(f"model file {path}: cannot be read ({exc.strerror or exc}); check its permissions") from exc
    try:
        return NetworkSpec.from_json(text)
    except ValueError as exc:
        raise CliError(f"model file {path}: {exc}") from exc


def checked_model(arg: str, spec=None):
    """load_model (or the already loaded ``spec``) + the model's validation (NetworkError
    explains the first problem, prefixed with ``model ARG``)."""
    from cnnstudio.model.shapes import validate

    spec = load_model(arg) if spec is None else spec
    try:
        validate(spec)
    except ValueError as exc:
        raise CliError(f"model {arg}: {exc}") from exc
    return spec


# ---- commands ---------------------------------------------------------------------------
def cmd_summary(args) -> int:
    from cnnstudio.project.report import summary_table, summary_text

    spec = checked_model(args.model)
    if args.json:
        print(json.dumps(summary_table(spec), indent=2))
    else:
        print(summary_text(spec))
    return 0


def cmd_info(args) -> int:
    from cnnstudio.engine import sysinfo

    info = sysinfo.report()
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        print("\n".join(sysinfo.report_lines(info)))
    return 0


def _no_display_reason() -> str | None:
    """Why Qt would abort on this machine (Linux without X11/Wayland), or None."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return "no display found (neither DISPLAY nor WAYLAND_DISPLAY is set)"


def cmd_gui(args) -> int:
    reason = _no_display_reason()
    if reason:
        print(f"cnnstudio: cannot open the app: {reason}; run it in a desktop session or under "
              "xvfb-run, or use the subcommands (cnnstudio --help)", file=sys.stderr)
        return EXIT_RUNTIME
    try:
        from cnnstudio.gui.app import main as gui_main
    except ImportError as exc:
        print(f"cnnstudio: the desktop app is not available in this build ({exc}); "
              "use the subcommands (cnnstudio --help)", file=sys.stderr)
        return EXIT_RUNTIME
    project = args.project
    return int(gui_main([project] if project else []) or 0)


def _add_data_args(p: argparse.ArgumentParser, default: str = "sample (default)") -> None:
    p.add_argument("--data", metavar="DATA",
                   help=f"{default}, mnist, fashion-mnist, kmnist, cifar10, or a path: IDX images "
                        "file (with --labels), .npz, image folder, .csv")
    p.add_argument("--labels", metavar="FILE", help="IDX labels file that goes with an IDX images file")
    p.add_argument("--grayscale", "--rgb", dest="convert", action="store_true",
                   help="convert colour images to grayscale, or grayscale to colour (RGB), to fit the network")
    p.add_argument("--limit", type=int, help=argparse.SUPPRESS)  # tests: use the first N images


def _thread_count(text: str) -> int:
    """``--threads``: a count, or ``auto`` for one per core this process may run on."""
    if text.strip().lower() == "auto":
        from cnnstudio.engine.kernels import cpu_cores

        return cpu_cores()
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number or 'auto', got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    from cnnstudio import __version__

    parser = _Parser(prog="cnnstudio", description="Design convolutional networks and watch them learn. "
                     "Without a command, opens the app.")
    parser.add_argument("--version", action="version", version=f"cnnstudio {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("gui", help="open the app (optionally with a project)")
    p.add_argument("project", nargs="?", metavar="PROJECT", help=".cnnproj project to open")
    p.set_defaults(func=cmd_gui)

    p = sub.add_parser("summary", help="layer table: output shapes, parameters, multiply-adds, memory, "
                       "receptive fields")
    p.add_argument("model", metavar="MODEL", help="template name, model .json file or .cnnproj project")
    p.add_argument("--json", action="store_true", help="print the same table as one JSON object")
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("info", help="what the engine runs on (processor, BLAS kernels, numba, CuPy), and what "
                       "would make training faster")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_info)

    from cnnstudio.cli import run as cli_run

    p = sub.add_parser("train", help="train a network and save a project file after every epoch")
    p.add_argument("model", metavar="MODEL", help="template name, model .json file or .cnnproj project")
    _add_data_args(p, "default: a .cnnproj MODEL's own data and split, else the sample; or sample")
    from cnnstudio.model import TrainingConfig

    d = TrainingConfig()  # the defaults live in the model; show them, never copy them
    p.add_argument("--epochs", type=int, help=f"passes over the training images (default {d.epochs})")
    p.add_argument("--batch-size", type=int, help=f"images per step (default {d.batch_size})")
    p.add_argument("--optimizer", choices=["sgd", "adam"], help=f"update rule (default {d.optimizer})")
    p.add_argument("--lr", type=float, help=f"learning rate (default {d.lr:g}, {d.schedule} schedule)")
    p.add_argument("--seed", type=int, help=f"seed for weights, shuffling and augmentation (default {d.seed})")
    p.add_argument("--augment", action="store_true", default=None,
                   help="random shifts, rotations and zoom while training (default off)")
    p.add_argument("--no-augment", dest="augment", action="store_false", help="train on the images as they are")
    p.add_argument("--classes", metavar="auto|N",
                   help="set the last Dense layer to the data's class count (auto) or to N, and say so")
    p.add_argument("--val-fraction", type=float, help=f"share of your own data kept for validation, 0 to 0.9 (default {d.val_fraction:g})")
    p.add_argument("--backend", choices=["numpy", "cupy"],
                   help=f"array backend: numpy (CPU) or cupy (NVIDIA GPU) (default {d.backend})")
    p.add_argument("--threads", type=_thread_count, default=1, metavar="N|auto",
                   help="cores while training: with N > 1 each batch is split over N worker processes on "
                        "shared memory (bit-identical results; figures in docs/benchmarks.md; "
                        "networks with BatchNorm or branches split each layer over threads "
                        "instead); auto: one per core this process may use (default 1)")
    p.add_argument("--out", metavar="RUN.cnnproj",
                   help="project file to write (default: runs/MODEL-DATE-TIME.cnnproj)")
    p.set_defaults(func=cli_run.cmd_train)

    p = sub.add_parser("evaluate", help="loss, accuracy and confusion matrix of a trained project")
    p.add_argument("project", metavar="RUN.cnnproj", help="trained project (cnnstudio train saves one)")
    _add_data_args(p, "default: the project's own data and validation split (as the app evaluates); or sample")
    p.add_argument("--json", action="store_true", help="print one JSON object {loss, accuracy, confusion}")
    p.set_defaults(func=cli_run.cmd_evaluate)

    p = sub.add_parser("predict", help="top class and probabilities for image files")
    p.add_argument("project", metavar="RUN.cnnproj", help="trained project (cnnstudio train saves one)")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="PNG, JPEG or BMP files; any size, colour or gray")
    p.set_defaults(func=cli_run.cmd_predict)

    from cnnstudio.cli import explain as cli_explain

    p = sub.add_parser("explain", help="how one cell of one layer was computed, for an image (the app's Explain view)")
    p.add_argument("project", metavar="RUN.cnnproj", help="trained project, or a lesson's (resources/lessons)")
    p.add_argument("image", metavar="IMAGE", help="PNG, JPEG or BMP file, prepared as predict prepares it")
    p.add_argument("--layer", type=int, required=True, metavar="N", help="layer number, from 1 (as summary lists them)")
    p.add_argument("--at", required=True, metavar="C,Y,X",
                   help="the cell: channel,row,column of a feature map (from 0), or one index I of a flat layer")
    p.add_argument("--json", action="store_true", help="print one JSON object (keys: docs/cli.md)")
    p.set_defaults(func=cli_explain.cmd_explain)

    from cnnstudio.cli import export as cli_export   # export and import

    cli_export.add_parsers(sub)
    from cnnstudio.cli import runs as cli_runs   # runs: the training runs a project keeps

    cli_runs.add_parser(sub)
    return parser


def _known_errors() -> tuple[type[BaseException], ...]:
    """Error types that carry a message meant for the user."""
    from cnnstudio.data.errors import DataError
    from cnnstudio.engine.backend import BackendUnavailableError
    from cnnstudio.engine.errors import EngineError
    from cnnstudio.model.errors import ModelError
    from cnnstudio.project.file import ProjectFileError

    return (CliError, ProjectFileError, ModelError, DataError, EngineError, BackendUnavailableError)


def _runtime_errors() -> tuple[type[BaseException], ...]:
    from cnnstudio.data.errors import DownloadError  # DownloadCancelled is one too
    from cnnstudio.engine.backend import BackendUnavailableError

    return (DownloadError, BackendUnavailableError)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv:
        return cmd_gui(argparse.Namespace(project=None))
    try:
        args = build_parser().parse_args(argv)
        if args.command is None:
            return cmd_gui(argparse.Namespace(project=None))
        return args.func(args)
    except KeyboardInterrupt:
        print("cnnstudio: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # stdout closed early (e.g. `cnnstudio summary vgg16 | head`): stop quietly, as Python's docs advise
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_RUNTIME
    except Exception as exc:  # noqa: BLE001 - the CLI's promise is one line, never a traceback
        if isinstance(exc, _known_errors()):
            print(f"cnnstudio: error: {exc}", file=sys.stderr)
            if isinstance(exc, CliError):
                return exc.code
            # a failed download or a missing GPU is a runtime failure, not a mistake in the command
            return EXIT_RUNTIME if isinstance(exc, _runtime_errors()) else EXIT_USAGE
        if isinstance(exc, OSError) and exc.filename is not None:
            # a path the user gave (or the cache/run folder) that the system refuses
            print(f"cnnstudio: error: {exc.filename}: {exc.strerror or exc}; check the path, its "
                  "permissions and the free disk space", file=sys.stderr)
            return EXIT_USAGE
        if isinstance(exc, MemoryError):
            # training says so itself (cmd_train, with the batch-size advice); here it came from
            # reading the input or building the network, where a smaller batch would not help
            print("cnnstudio: error: out of memory while reading the input or building the network; the files "
                  "or network given need more memory than is free", file=sys.stderr)
            return EXIT_RUNTIME
        print(f"cnnstudio: internal error: {type(exc).__name__}: {exc} (please report this)", file=sys.stderr)
        return EXIT_RUNTIME
