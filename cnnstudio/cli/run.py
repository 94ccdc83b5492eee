"""``train``, ``evaluate`` and ``predict``: the commands that run the engine.

Progress bars go to stderr, results to stdout, so ``evaluate --json`` stays machine-readable.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from cnnstudio.cli import EXIT_INTERRUPTED, EXIT_RUNTIME, EXIT_USAGE, CliError, checked_model, load_model
from cnnstudio.project import session
from cnnstudio.project.file import Project, load_project, save_project
from cnnstudio.project.run import EpochDone, Run, RunHistory
from cnnstudio.project.report import confusion_text, epoch_line


def _config_from_args(args, base=None):
    """The TrainingConfig defaults (or ``base``), overridden by the flags given."""
    overrides = {"epochs": args.epochs, "batch_size": args.batch_size, "optimizer": args.optimizer,
                 "lr": args.lr, "seed": args.seed, "augment": args.augment, "val_fraction": args.val_fraction,
                 "dataset": args.data, "backend": args.backend}
    return session.make_config(base, **{k: v for k, v in overrides.items() if v is not None})


def _download_progress(done: int, total, rate: float, eta) -> None:
    """Download progress on stderr, rewritten in place (stdout stays clean for --json)."""
    from cnnstudio.data import format_progress

    end = "\n" if total and done >= total else ""
    print(f"\rdownloading: {format_progress(done, total, rate, eta)}   ", end=end, file=sys.stderr, flush=True)


def _out_path(arg: str | None, model_name: str) -> Path:
    """--out, or runs/MODEL-YYYYmmdd-HHMMSS.cnnproj (folder created) when not given."""
    if arg is None:
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in model_name) or "model"
        out = Path("runs") / f"{safe}-{time.strftime('%Y%m%d-%H%M%S')}.cnnproj"
        try:
            out.parent.mkdir(exist_ok=True)
        except OSError as exc:
            raise CliError(f"cannot create the folder {out.parent} for the project file "
                           f"({exc.strerror or exc}); give --out in a folder you can write to") from exc
        _check_writable(out, f"project file {out}")
        return out
    out = Path(arg)
    if out.suffix.lower() != ".cnnproj":
        raise CliError(f"--out {out}: the project file name must end in .cnnproj")
    _check_writable(out, f"--out {out}")
    return out


def _check_writable(out: Path, what: str) -> None:
    """Refuse an output file that cannot be saved before any data is loaded or any epoch trained."""
    folder = out.parent
    if out.is_dir():
        raise CliError(f"{what}: is a folder; give a file name ending in .cnnproj")
    if not folder.is_dir():
        raise CliError(f"{what}: folder {folder} does not exist; create it or choose another folder")
    try:
        # a real write is the only reliable test (os.access ignores read-only mounts and ACLs)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise CliError(f"{what}: cannot write in folder {folder} ({exc.strerror or exc}); "
                       "choose a folder you can write to with --out") from exc


#: skipped files listed by name before "... and N more"
MAX_SKIPPED_LISTED = 20


def _report_skipped(ds) -> None:
    """Name, on stderr, the files an image-folder import could not read (the rest was used)."""
    report = ds.meta.get("import_report")
    if report is None or not report.skipped:
        return
    n = len(report.skipped)
    print(f"warning: skipped {n} file(s) of {ds.source} that are not readable images (used the rest):",
          file=sys.stderr)
    for path, why in report.skipped[:MAX_SKIPPED_LISTED]:
        print(f"  {path}: {why}", file=sys.stderr)
    if n > MAX_SKIPPED_LISTED:
        print(f"  ... and {n - MAX_SKIPPED_LISTED} more", file=sys.stderr)


def _check_data_args(args, source: str | None) -> None:
    """Flags that cannot apply to the DATA used (``source``) are mistakes, not silently ignored."""
    named = source in (None, "sample") + session.STANDARD_SOURCES
    what = "the bundled sample" if source in (None, "sample") else source
    if args.labels and named:
        raise CliError(f"--labels goes with an IDX images file given as --data, not with {what}")
    if getattr(args, "val_fraction", None) is not None and named:
        raise CliError(f"--val-fraction applies to your own data; {what} comes with a fixed validation split")


def _offer_classes_auto(spec, data_classes: int, weights) -> None:
    """A last Dense layer that does not fit the data's class count, with no --classes: the
    problem and its fix as the editor says them, and the flag that fixes it from here."""
    from cnnstudio.model.fit import check_trainable

    if weights:
        return   # trained scores: --classes would be refused too; make_trainer explains the mismatch
    inp = spec.input
    problem = next((p for p in check_trainable(spec, data_classes, (inp.height, inp.width, inp.channels)).problems
                    if p.kind == "classes_mismatch" and p.layer_type == "Dense"), None)
    if problem is not None:
        raise CliError(f"{problem.message}; {problem.fix} in the model, or pass --classes auto "
                       "(the last Dense layer then gives one score per class)")


def _fit_classes(args, spec, data_classes: int, weights):
    """``--classes auto|N``: the last Dense layer set to the data's class count (auto) or N,
    said on stdout; trained weights that would no longer fit are refused, not dropped."""
    from cnnstudio.model.classes import fit_classes

    want = getattr(args, "classes", None)
    if want is None:
        _offer_classes_auto(spec, data_classes, weights)
        return spec

    if want == "auto":
        count = data_classes
    else:
        try:
            count = int(want)
        except ValueError:
            raise CliError(f"--classes must be 'auto' or a number of classes, got {want!r}") from None
    try:
        fitted, note = fit_classes(spec, count)
    except ValueError as exc:
        raise CliError(f"--classes {want}: {exc}") from exc
    if note is None:
        return spec
    if weights:
        raise CliError(f"--classes {want}: {args.model} is trained with the last Dense giving a different "
                       f"number of scores ({note}); its trained weights would not fit; start from a template "
                       "or model .json instead")
    print(f"--classes {want}: {note}", flush=True)
    return fitted


def _start_project(args) -> Project:
    """The project to train: a fresh one for a template/model file; a .cnnproj continues its
    training (weights, optimizer state, history, drawings, metadata and runs carry on)."""
    if Path(args.model).suffix.lower() == ".cnnproj":
        prev = load_project(args.model)
        checked_model(args.model, prev.network)
        return prev
    return Project(checked_model(args.model))


def _existing_runs(out: Path, start: Project, continuing: bool) -> Project:
    """A template or model file trained into an existing project (``--out`` naming it): the
    new run is added to that project's runs (and its drawings and metadata stay); the network
    and weights become the new run's. A file there that is no project is refused, not replaced."""
    if continuing or not out.exists():
        return start
    try:
        existing = load_project(out)
    except Exception as exc:  # noqa: BLE001 - the loader's ProjectFileError says what is wrong
        raise CliError(f"--out {out} exists but cannot be opened as a project, so its runs cannot be kept "
                       f"({exc}); choose another file name or delete that file") from exc
    start.runs, start.metadata = existing.runs, existing.metadata
    if start.user_dataset is None:
        start.user_dataset = existing.user_dataset
    return start


def _check_stored_path(source, project) -> None:
    """A dataset path read from a project file is opened only if it is a regular file or an
    ordinary folder (a FIFO or /dev/stdin would hang, "/" would be scanned as image classes)."""
    from cnnstudio.data.sniff import check_data_path

    if source and source not in ("sample",) + session.STANDARD_SOURCES and os.path.lexists(source):
        check_data_path(source, f"the dataset stored in {project}")


class _Terminated(BaseException):
    """SIGTERM or SIGHUP during ``train`` (a BaseException, like KeyboardInterrupt, so no
    ``except Exception`` on the way swallows it)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.name = signal.Signals(signum).name
        self.code = 128 + signum


class _StopOnSignal:
    """SIGTERM and SIGHUP end ``train`` between steps with one line saying what was kept; one
    arriving during a save or while the progress bar draws takes effect once that is finished."""

    SIGNALS = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n))

    def __init__(self):
        self.saving, self.pending = False, None
        self.old = {}
        for sig in self.SIGNALS:
            try:
                self.old[sig] = signal.signal(sig, self._on_signal)
            except ValueError:  # not the main thread (an embedding program): leave them be
                break

    def _on_signal(self, signum, frame):
        if self.saving:
            self.pending = signum
            return
        raise _Terminated(signum)

    @contextlib.contextmanager
    def deferred(self):
        self.saving = True
        try:
            yield
        finally:
            self.saving = False
        if self.pending is not None:
            raise _Terminated(self.pending)

    def restore(self) -> None:
        for sig, old in self.old.items():
            signal.signal(sig, old)
        self.old = {}


def cmd_train(args) -> int:
    if args.threads < 1:
        raise CliError(f"--threads must be at least 1, got {args.threads}")
    start = _start_project(args)
    spec, history, base = start.network, start.history, start.training_config
    _check_data_args(args, args.data or (base.dataset if base is not None else None))
    # a project trained again adds a run to itself unless --out names another file
    continuing = Path(args.model).suffix.lower() == ".cnnproj"
    out = _out_path(args.out if args.out is not None or not continuing else args.model, spec.name)
    start = _existing_runs(out, start, continuing)
    config = _config_from_args(args, base)
    source: Any = config.dataset
    if not args.data:
        _check_stored_path(config.dataset, args.model)
        if has_own_split(start) and args.val_fraction is None:
            source = _recorded_data(args, args.model, start)   # the same images and split it trained on
    train, val = session.prepare_data(source, spec, args.labels, val_fraction=config.val_fraction,
                                      convert_channels=args.convert, limit=args.limit,
                                      progress=_download_progress)
    _report_skipped(train)
    spec = _fit_classes(args, spec, train.num_classes, start.weights)
    prepared = session.make_trainer(spec, train, val, config, weights=start.weights,
                                    optimizer_state=start.optimizer_state, threads=args.threads,
                                    processes=args.threads > 1)
    # the project's earlier epochs stay; new ones are numbered after them (one Run, as in the app)
    run = Run(prepared, RunHistory.from_dict(history))
    done_before = run.epoch_offset
    epochs = run.trainer.epochs
    number = max((r.number for r in start.runs), default=0) + 1
    after = f" (continuing run {run.record.continued_from})" if run.record.continued_from else ""
    print(f"training {spec.name} on {train.name}: {len(train):,} train / {len(val):,} validation images, "
          f"{epochs} epoch{'s' if epochs != 1 else ''}; saving run {number}{after} to {out} after every epoch",
          flush=True)
    if config.backend == "numpy" and sys.stderr.isatty():   # a hint for a person at a terminal, not for logs
        from cnnstudio.engine.sysinfo import blas_kernel_note

        note = blas_kernel_note()
        if note:
            print(f"cnnstudio: note: {note}", file=sys.stderr, flush=True)
    bar, saved = _EpochBar(len(train), done_before, done_before + epochs), 0
    stop = _StopOnSignal()
    try:
        for item in run.reports():
            if not isinstance(item, EpochDone):
                with stop.deferred():   # a signal inside tqdm's drawing would leave a bar with no owner to erase it
                    bar.step(item, run.trainer.batch_size)
                if not math.isfinite(item["loss"]):
                    raise CliError(f"training diverged at epoch {done_before + item['epoch'] + 1} (loss is "
                                   f"{item['loss']}); lower the learning rate (--lr)", code=1)
                continue
            bar.close()
            with stop.deferred():  # a SIGTERM during the save ends the run after it, not inside it
                save_project(out, run.project(item, start.user_dataset, start.metadata, start.runs))
                saved += 1
            print(epoch_line(item.record.to_dict(), done_before + epochs), flush=True)
    except MemoryError as exc:
        bar.close()
        # only here is the batch size the likely cause; elsewhere main() says what was being read
        where = f"; saved {saved} finished epoch(s) in {out}" if saved else ""
        raise CliError(f"out of memory while training {spec.name} (batch size {run.trainer.batch_size}){where}; "
                       "use a smaller --batch-size or network", code=EXIT_RUNTIME) from exc
    except (KeyboardInterrupt, _Terminated) as exc:
        bar.close()
        # an interrupted save leaves the previous file, so count only finished saves
        where = f"saved {saved} finished epoch(s) in {out}" if saved else "no finished epoch to save"
        what = f"received {exc.name}" if isinstance(exc, _Terminated) else "interrupted"
        print(f"cnnstudio: {what}; {where}", file=sys.stderr, flush=True)
        return exc.code if isinstance(exc, _Terminated) else EXIT_INTERRUPTED
    finally:
        bar.close()
        stop.restore()
        prepared.network.close_workers()   # worker processes end with the run, not at exit
    print(f"saved {out}")
    return 0


class _EpochBar:
    """One tqdm bar per epoch on stderr (images/s, ETA, loss); gone before the epoch's line."""

    def __init__(self, total: int, done_before: int, last_epoch: int):
        self.total, self.done_before, self.last_epoch = total, done_before, last_epoch
        self.bar: Any = None   # a tqdm bar once the first step arrives (tqdm ships no type information)

    def step(self, record: dict, batch_size: int) -> None:
        """``record``: a Run's step record (epoch 0-based within this run, loss)."""
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(total=self.total, desc=f"epoch {self.done_before + record['epoch'] + 1}/{self.last_epoch}",
                            unit="img", file=sys.stderr, leave=False, dynamic_ncols=True, mininterval=0.5)
        self.bar.update(min(batch_size, self.total - self.bar.n))
        self.bar.set_postfix(loss=f"{record['loss']:.3f}", refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def has_own_split(project: Project) -> bool:
    """The project recorded data with a split of its own (a folder, a file, its drawings); the
    sample and the standard datasets come split already and load (or download) by name."""
    return project.datasource is not None and project.datasource.kind in ("folder", "file", "drawings")


def _recorded_data(args, project_path: str, project: Project, data: str | None = None):
    """(train, val) as the project recorded them (project.datasource), uint8 and not yet fitted;
    ``data``: where the data is now, if it moved. Missing data is a CliError naming the path
    expected and how to give it."""
    from cnnstudio.project import datasource

    src = project.datasource
    assert src is not None
    if data is not None:
        src = src.relocated(data)
    _check_stored_path(src.path, project_path)   # a FIFO, a device or "/" is refused before it is opened
    try:
        train, val = datasource.load(src, user_dataset=project.user_dataset)
    except datasource.DataMissingError as exc:
        at = f" at {src.path}" if src.path else " on this computer"
        how = (f"give its new place with --data PATH (the same {'folder' if src.kind == 'folder' else 'file'}: "
               "its recorded validation split is used)" if src.path else "download it, or give data with --data")
        raise CliError(f"project {project_path} was trained on {exc.expected}, which no longer exists{at}; "
                       f"{how}") from exc
    for note in datasource.source_of(train).notes:  # type: ignore[union-attr]  # load attaches it
        print(f"warning: {note}", file=sys.stderr)
    _report_skipped(train)
    return train, val


def _same_recorded_data(args, project: Project) -> bool:
    """--data names the project's own data where it is now (the same folder or file, moved):
    the same files (folder) or labels (file) as recorded."""
    src = project.datasource
    if src is None or src.kind not in ("folder", "file") or src.fingerprint is None or not os.path.exists(args.data):
        return False
    if src.path is not None and os.path.abspath(args.data) == src.path:
        return True
    from cnnstudio.data import Dataset, load_dataset
    from cnnstudio.data.errors import DataError
    from cnnstudio.project.datasource import fingerprint

    try:
        if src.kind == "folder":
            from cnnstudio.data import scan_image_folder
            scan_image_folder(args.data)   # cheap refusals (not a class folder) before decoding
        loaded = load_dataset(args.data, args.labels, size=src.image_size, channels=src.read_channels)
    except DataError:
        return False
    return isinstance(loaded, Dataset) and fingerprint(loaded) == src.fingerprint


def _eval_data(args, project: Project):
    """The images to evaluate on: the validation part of the data the project was trained on
    (as project.datasource recorded it: the same images the app validates on), or, for other
    data given with --data, all of it (none of it was used in training)."""
    if project.weights is None:
        raise CliError(f"project {args.project} has no trained weights; train it first (cnnstudio train)")
    _check_data_args(args, args.data)
    if has_own_split(project) and (not args.data or _same_recorded_data(args, project)):
        _train, val = _recorded_data(args, args.project, project, args.data)
        if len(val) == 0:
            raise CliError(f"the data of {args.project} has no validation images; evaluate on other data with --data")
        if args.limit is not None:
            val = val.subset(np.arange(min(args.limit, len(val))))
        return session.fit_dataset(val, project.network, convert_channels=args.convert)
    recorded = (project.history.get("dataset") or {}).get("source") or "sample"
    source = args.data or recorded
    named = source in ("sample",) + session.STANDARD_SOURCES
    if not args.data:
        _check_stored_path(recorded, args.project)
    if not args.data and not named and not Path(recorded).exists():
        raise CliError(f"project {args.project} was trained on {recorded}, which no longer exists; "
                       "give the data to evaluate on with --data")
    same = named or (Path(source).exists() and Path(recorded).exists()
                     and Path(source).resolve() == Path(recorded).resolve())
    # the training data's validation split is recomputed with the fixed split seed, so it holds
    # the very images validation used; other data is unseen, so every image counts
    fraction = (project.training_config.val_fraction if project.training_config else 0.1) if same else 0.0
    if same and not named and project.datasource is None:
        print(f"warning: {args.project} was saved before CNN Studio recorded its data's split; the validation "
              f"images are chosen again (fraction {fraction:g}, seed {session.SPLIT_SEED}) and may differ from "
              "those it validated on while training, and include images it trained on", file=sys.stderr)
    train, val = session.prepare_data(source, project.network, args.labels, val_fraction=fraction,
                                      convert_channels=args.convert, limit=args.limit,
                                      progress=_download_progress)
    images = val if same else train
    _report_skipped(images)
    if len(images) == 0:
        raise CliError(f"no validation images in {images.name}; evaluate on another dataset with --data")
    return images


def cmd_evaluate(args) -> int:
    from cnnstudio.engine.evaluation import evaluate

    project = load_project(args.project)
    val = _eval_data(args, project)
    assert project.weights is not None   # _eval_data refuses a project without trained weights
    net = session.build_with_weights(project.network, project.weights)
    outputs = int(net.output_shape[0])
    if int(val.y.max()) >= outputs:
        raise CliError(f"{val.source or val.name} has labels up to {int(val.y.max())} but the network of "
                       f"{args.project} scores only {outputs} classes (0..{outputs - 1}); evaluate it on "
                       "data with the classes it was trained on")
    t0 = time.perf_counter()
    result = evaluate(net, project.network.input.prepare(val.x), val.y, num_classes=max(val.num_classes, outputs))
    if args.json:
        # strict JSON has no NaN (a diverged network's loss): null, as the project file writes it
        loss = float(result.loss) if np.isfinite(result.loss) else None
        print(json.dumps({"loss": loss, "accuracy": float(result.accuracy),
                          "confusion": np.asarray(result.confusion).astype(int).tolist()}, allow_nan=False))
        return 0
    names = list(val.class_names) + [str(i) for i in range(val.num_classes, result.confusion.shape[0])]
    print(f"{val.name}: {len(val):,} images ({time.perf_counter() - t0:.1f} s)")
    print(f"loss      {result.loss:.4f}")
    print(f"accuracy  {100 * result.accuracy:.2f}%")
    print(f"mistakes  {len(val) - int(np.trace(result.confusion)):,}")
    print("confusion matrix (rows: true class, columns: predicted):")
    print(confusion_text(result.confusion, names))
    return 0


def cmd_predict(args) -> int:
    """Top class and probabilities per image; an unreadable image is reported (one line on
    stderr) and skipped, and the exit code is 2 if any was."""
    from cnnstudio.data.errors import DataError

    project = load_project(args.project)
    if project.weights is None:
        raise CliError(f"project {args.project} has no trained weights; train it first (cnnstudio train)")
    net = session.build_with_weights(project.network, project.weights)
    classes = ((project.history.get("dataset") or {}).get("classes")
               or [str(i) for i in range(int(net.output_shape[0]))])
    hwc = project.network.input.hwc   # ints by construction (InputSpec checks them)
    failed = 0
    for path in args.images:
        try:
            image, notes = session.load_image_file(path, hwc)
        except DataError as exc:
            print(f"cnnstudio: error: {exc}", file=sys.stderr)
            failed += 1
            continue
        probs = session.predict(net, image[None], input_spec=project.network.input)[0]
        _print_prediction(path, probs, classes, notes)
    return EXIT_USAGE if failed else 0


def _print_prediction(path: str, probs: np.ndarray, classes: list[str], notes: list[str]) -> None:
    def name(i: int) -> str:
        return classes[i] if i < len(classes) else str(i)

    top = int(probs.argmax())
    print(f"{path}: {name(top)} ({100 * probs[top]:.1f}%)")
    for note in notes:
        print(f"  note: {note}")
    print("  " + "  ".join(f"{name(i)}: {probs[i]:.3f}" for i in np.argsort(-probs)))


__all__ = ["cmd_train", "cmd_evaluate", "cmd_predict", "load_model"]
