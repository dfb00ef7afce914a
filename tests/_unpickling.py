"""An unpickler that refuses every torch and skorch object: plain data only."""

import io
import pickle


class NoTorchUnpickler(pickle.Unpickler):
    """Unpickle, raising ``pickle.UnpicklingError`` on any torch or skorch global.

    A saved skae model holds numpy arrays and builtins only, so it loads with
    torch and skorch refused: nothing in it is tied to a device or runs
    torch's own unpickling code.
    """

    def find_class(self, module, name):
        if module.split(".")[0] in {"torch", "skorch"}:
            raise pickle.UnpicklingError(f"the pickle holds {module}.{name}")
        return super().find_class(module, name)


def loads_without_torch(data):
    """``pickle.loads`` with torch and skorch refused."""
    return NoTorchUnpickler(io.BytesIO(data)).load()
