"""The bundled trainer (`vitscfg train`): imports torch; never imported by `check`."""

from __future__ import annotations


class TrainError(Exception):
    """A problem the user must fix; ``run_train`` prints it without a traceback."""
