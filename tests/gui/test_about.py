"""Help > About: what the engine runs on (engine.sysinfo), and the slow-BLAS-kernel note in the
status bar the first time training starts."""

from cnnstudio.engine import sysinfo
from cnnstudio.project.workspace import TrainingStatus


def test_help_about_shows_the_blas_kernels_without_blocking(qtbot, window):
    window.menus.about_action.trigger()
    box = window.menus.about_box
    assert box is not None
    qtbot.waitUntil(box.isVisible)
    assert "BLAS: " in box.informativeText() and "NumPy" in box.informativeText()
    box.close()


def test_the_first_training_start_shows_the_note_once(window, monkeypatch):
    monkeypatch.setattr(sysinfo, "slow_blas_kernels", lambda *a, **k: ("Haswell", "Haswell"))
    window.state.set_status(TrainingStatus.RUNNING)
    message = window.statusBar().currentMessage()
    assert message.startswith("Training could run faster") and "Help > About" in message
    window.state.set_status(TrainingStatus.IDLE)
    window.statusBar().clearMessage()
    window.state.set_status(TrainingStatus.RUNNING)   # once a session, not every start
    assert window.statusBar().currentMessage() == ""
    window.state.set_status(TrainingStatus.IDLE)
