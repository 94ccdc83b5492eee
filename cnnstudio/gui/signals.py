"""Unix signals in the app: Ctrl+C quits like File > Quit; SIGTERM and SIGHUP keep unsaved edits.

Qt's event loop runs in C, so a Python signal handler would only run when some Python slot
happens to run next, and the default SIGINT handler then raised KeyboardInterrupt inside that
slot (a traceback, and the app kept running). Here every handled signal writes its number to a
socket (``signal.set_wakeup_fd``) that a ``QSocketNotifier`` watches, so the GUI thread hears
of it at once, in an ordinary slot, and closes the main window the normal way.

- SIGINT (Ctrl+C in the terminal that started the app): quits like File > Quit. The person is at
  the terminal, not at the window, so nobody can answer "Save changes?": unsaved edits go to
  the recovery file instead, and the app closes. Exit code 130.
- SIGTERM, SIGHUP (logout, ``kill``, a closed terminal): unsaved edits go to the recovery file,
  then the app closes. Exit code 128 + the signal number (143, 129).

The recovery file is ``recovery.json`` in ``platformdirs.user_data_dir("cnnstudio")`` (on
Linux ``~/.local/share/cnnstudio/recovery.json``; ``$XDG_DATA_HOME`` moves it), the same file
the app's autosave keeps while there are unsaved edits and offers back at the next start:
``gui/recovery.py`` says what it holds. It is written atomically (a temporary file in the same
folder, then a rename). docs/reliability.md ("Signals") describes it for users.
"""

from __future__ import annotations

import signal
import socket
import sys
from typing import Any

from PyQt6.QtCore import QObject, QSocketNotifier

from cnnstudio.gui.recovery import RECOVERY_FORMAT, RECOVERY_NAME, recovery_path, write_recovery

__all__ = ["EXIT_CODES", "RECOVERY_FORMAT", "RECOVERY_NAME", "SignalBridge", "install", "recovery_path",
           "write_recovery"]

#: signals the app handles, and the exit code each ends it with
EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 128 + signal.SIGTERM}
if hasattr(signal, "SIGHUP"):
    EXIT_CODES[signal.SIGHUP] = 128 + signal.SIGHUP


class SignalBridge(QObject):
    """Turns SIGINT/SIGTERM/SIGHUP into a normal close of ``window`` (see the module docstring).

    ``exit_code`` is None until a signal asked the app to end. ``uninstall()`` restores the
    previous handlers and wakeup fd.
    """

    def __init__(self, app: Any, window: Any):
        super().__init__(window)
        self.app, self.window = app, window
        self.exit_code: int | None = None
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self._writer.setblocking(False)
        self._old_fd = signal.set_wakeup_fd(self._writer.fileno())
        # the C-level handler writes the signal's number to the socket; this Python one only has
        # to exist (and keeps KeyboardInterrupt out of whatever slot runs next)
        self._old_handlers = {sig: signal.signal(sig, self._note) for sig in EXIT_CODES}
        self._notifier = QSocketNotifier(self._reader.fileno(), QSocketNotifier.Type.Read, self)  # type: ignore[call-overload]
        self._notifier.activated.connect(self._on_wakeup)

    @staticmethod
    def _note(signum: int, frame: Any) -> None:
        pass

    def _on_wakeup(self, *args: Any) -> None:
        try:
            data = self._reader.recv(64)
        except (BlockingIOError, InterruptedError):
            return
        for signum in data:
            if signum in EXIT_CODES:
                self.handle(signal.Signals(signum))
                return

    def handle(self, sig: signal.Signals) -> None:
        """Keep unsaved edits in the recovery file, then close the window without asking."""
        if self.exit_code is not None:
            return  # already closing
        self.exit_code = EXIT_CODES[sig]
        what = "interrupted" if sig == signal.SIGINT else f"received {sig.name}"
        state = self.window.state
        keeper = getattr(self.window, "recovery", None)   # gui.recovery's autosave: the same file
        if keeper is not None:
            keeper.stop()
        if state.is_dirty():
            try:
                where = write_recovery(state, sig.name, keeper.path if keeper is not None else None)
                kept = f"unsaved edits kept in {where}"
            except OSError as exc:
                kept = f"could not keep the unsaved edits ({exc.strerror or exc})"
        else:
            kept = "nothing unsaved"
        print(f"cnnstudio: {what}; {kept}; quitting", file=sys.stderr, flush=True)
        # nobody at the window can answer "save changes?": the edits are in the recovery file
        from cnnstudio.gui.main_window import DISCARD

        self.window.ask_unsaved = lambda: DISCARD
        self.window.close()
        self.app.exit(self.exit_code)

    def uninstall(self) -> None:
        for sig, old in self._old_handlers.items():
            signal.signal(sig, old)
        signal.set_wakeup_fd(self._old_fd)
        self._notifier.setEnabled(False)
        self._reader.close()
        self._writer.close()


def install(app: Any, window: Any) -> SignalBridge:
    """Handle SIGINT, SIGTERM and SIGHUP in ``app`` (call from the main thread, once)."""
    return SignalBridge(app, window)
