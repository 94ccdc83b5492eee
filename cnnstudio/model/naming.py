"""What a project is called (issue 13: a network rebuilt from the mlp template kept the name "mlp").

The rule: a saved project is called after its file (``digits.cnnproj`` -> "digits"); an
unsaved one keeps its template's name while it is still that template (same input, same
layers), and is "untitled" once it has been edited into something else. A network that was
renamed by hand (a name that is no template's) keeps its name until it is saved under a file.
"""

from __future__ import annotations

import os

from cnnstudio.model.spec import NetworkSpec
from cnnstudio.model.templates import TEMPLATES, get_template

UNTITLED = "untitled"


def project_name(spec: NetworkSpec, path: str | os.PathLike[str] | None = None) -> str:
    """The name to show and to export under (see the module's docstring)."""
    if path:
        stem = os.path.splitext(os.path.basename(os.fspath(path)))[0]
        if stem:
            return stem
    if spec.name in TEMPLATES:
        template = get_template(spec.name)
        return spec.name if spec == template else UNTITLED
    return spec.name or UNTITLED
