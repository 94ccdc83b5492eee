"""cnnstudio.project: ``.cnnproj`` project files and the train/predict glue shared by CLI and GUI.

No Qt here. ``session`` (imported explicitly) prepares data and trainers.
"""

from cnnstudio.project.file import (
    FORMAT_VERSION,
    Project,
    ProjectFileError,
    load_project,
    new_history,
    new_metadata,
    save_project,
)

__all__ = ["FORMAT_VERSION", "Project", "ProjectFileError", "load_project", "new_history", "new_metadata",
           "save_project"]
