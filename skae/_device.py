"""Where a model trains and where a saved model loads."""

import torch
from skorch.exceptions import DeviceWarning

from ._warnings import warn

__all__ = ["resolve_device", "loadable_device"]


def _device_error(device):
    """Why a tensor cannot be put on ``device`` here (as a string), or None if it can."""
    try:
        torch.empty(0, device=device)
    except (RuntimeError, AssertionError) as exc:  # torch asserts when CUDA is not compiled in
        return str(exc)
    return None


def resolve_device(device):
    """The torch device for an estimator's ``device`` parameter.

    ``"auto"`` is CUDA when available, else the CPU; anything else must name a
    device this machine has, or a ``ValueError`` says what to use instead.
    """
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device={device!r} is not a torch device: {exc}") from None
    if (error := _device_error(resolved)) is not None:
        raise ValueError(
            f"device={device!r} is not available on this machine ({error}). Use "
            "device='auto' (CUDA when available, else the CPU) or device='cpu'."
        )
    return resolved


def loadable_device(name):
    """The saved device ``name`` if this machine has it, else the CPU (with a warning)."""
    device = torch.device(name)
    if _device_error(device) is not None:
        warn(
            f"This model was saved on device {name!r}, which is not available here; "
            "it is loaded on the CPU.",
            DeviceWarning,
        )
        return torch.device("cpu")
    return device
