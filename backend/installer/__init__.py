"""Installs the Anima backend into its own virtual environment (issue 14, items 2 and 4).

STANDARD LIBRARY ONLY: this package runs inside Blender's Python (no bpy, numpy or torch).

    options = InstallOptions(target=user_dir, base_python=sys.executable, wheel_folder="",
                             torch_variant="auto", online_access=True)
    runner = Runner(options, cache_dir)        # plan.preflight() ran inside: InstallError
    runner.run()                               # blocking; a thread in Blender (runner.cancel())
    runner.progress()                          # (step index, step count, step title, last line)

`plan` chooses the interpreter, torch build and pip commands and checks the input before
anything is written; `state` is the resumable record of finished steps; `runner` runs the
steps as subprocesses with a log; `probe` checks an existing interpreter ("Use existing
Python"); `upgrade` says what an installed environment needs after an add-on update.
"""
from .plan import (InstallError, InstallOptions, STEPS, SUPPORTED_PYTHONS, TORCH_SPEC,
                   detect_torch_variant, venv_python)
from .probe import check_python
from .runner import Runner
from .state import InstallState, load_state
from .upgrade import update_needed

__all__ = ["InstallError", "InstallOptions", "STEPS", "SUPPORTED_PYTHONS", "TORCH_SPEC",
           "detect_torch_variant", "venv_python", "check_python", "Runner", "InstallState",
           "load_state", "update_needed"]
