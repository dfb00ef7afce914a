"""Warnings that point at the user's line, not at skae's or scikit-learn's."""

import os
import sys
import warnings

import joblib
import sklearn
import skorch
import torch

__all__ = ["warn"]

# Frames in these packages are skipped: a fit called from a Pipeline, a
# search or joblib runs several calls below the user's own line.
_INTERNAL_DIRS = tuple(
    os.path.dirname(module.__file__) + os.sep
    for module in (sys.modules["skae"], sklearn, skorch, torch, joblib)
)


def _is_internal(filename):
    # Code that libraries compile at run time (dask's and cloudpickle's
    # "<dynamic-code>") is not the user's either.
    return filename.startswith(_INTERNAL_DIRS) or filename == "<dynamic-code>"


def warn(message, category=UserWarning):
    """Issue a warning attributed to the first calling frame outside skae.

    ``warnings.warn``'s fixed ``stacklevel`` points at the right line only for
    one call depth: called through ``Pipeline.fit`` or ``GridSearchCV.fit``,
    a warning would name scikit-learn's source. This walks up the stack past
    skae, scikit-learn, skorch, torch and joblib, so the warning names the
    user's own line (or the outermost library frame when there is none).

    Parameters
    ----------
    message : str
        The warning's text.
    category : type of Warning, default=UserWarning
        Its class.
    """
    frame = sys._getframe(1)
    level = 1
    while frame.f_back is not None and _is_internal(frame.f_code.co_filename):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level + 1)
