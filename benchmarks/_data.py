"""Datasets for the benchmark scripts: scikit-learn's digits and MNIST-format IDX files.

Nothing here downloads anything. MNIST-format IDX files (MNIST, Fashion-MNIST)
are read from a directory given on the command line or in the ``SKAE_DATA_DIR``
environment variable; a missing or malformed directory raises
:class:`DataError` with a message that says what was expected, which the
scripts print before exiting with status 2.

Every loader returns ``(X_train, y_train, X_test, y_test)`` with ``X`` as a
float32 array scaled to [0, 1] and ``y`` as an int64 array.
"""

import ast
import gzip
import os
import struct
import sys
from pathlib import Path

import numpy as np

__all__ = [
    "DataError",
    "IDX_FILES",
    "load_dataset",
    "load_digits_split",
    "load_idx",
    "load_mnist_format",
    "run_or_exit",
]

#: The four files of an MNIST-format directory (each may also be uncompressed).
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

_IDX_DTYPES = {
    0x08: np.uint8,
    0x09: np.int8,
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


class DataError(Exception):
    """A dataset could not be found or read; the message says what to do."""


def load_idx(path):
    """Read one IDX file (gzip-compressed or not) into a numpy array.

    Parameters
    ----------
    path : str or Path
        The file, for example ``train-images-idx3-ubyte.gz``.

    Returns
    -------
    array : ndarray
        Shaped as the file's header says, for example ``(60000, 28, 28)``.

    Raises
    ------
    DataError
        If the file is missing, truncated or not an IDX file.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DataError(f"{path} is not an IDX file (bad magic number).")
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path} is truncated (incomplete header).")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    count = int(np.prod(shape, dtype=np.int64))
    if len(raw) - header < count * dtype.itemsize:
        raise DataError(f"{path} is truncated: expected {count} values of shape {shape}.")
    return np.frombuffer(raw, dtype=dtype, count=count, offset=header).reshape(shape)


def _find(data_dir, stem):
    for name in (stem + ".gz", stem):
        candidate = data_dir / name
        if candidate.is_file():
            return candidate
    return None


def load_mnist_format(data_dir):
    """Load an MNIST-format directory (MNIST or Fashion-MNIST) of four IDX files.

    Parameters
    ----------
    data_dir : str or Path or None
        Directory holding ``train-images-idx3-ubyte[.gz]``,
        ``train-labels-idx1-ubyte[.gz]``, ``t10k-images-idx3-ubyte[.gz]`` and
        ``t10k-labels-idx1-ubyte[.gz]``. None reads ``SKAE_DATA_DIR``.

    Returns
    -------
    X_train : ndarray of shape (n_train, n_pixels), float32 in [0, 1]
    y_train : ndarray of shape (n_train,), int64
    X_test : ndarray of shape (n_test, n_pixels), float32 in [0, 1]
    y_test : ndarray of shape (n_test,), int64

    Raises
    ------
    DataError
        If the directory or one of the files is missing or malformed.
    """
    if data_dir is None:
        data_dir = os.environ.get("SKAE_DATA_DIR")
    if not data_dir:
        raise DataError(
            "no data directory given: pass --data-dir DIR (or set SKAE_DATA_DIR) "
            "pointing at the four MNIST-format IDX files "
            f"({', '.join(v + '.gz' for v in IDX_FILES.values())}). Nothing is downloaded."
        )
    data_dir = Path(data_dir).expanduser()
    if not data_dir.is_dir():
        raise DataError(f"data directory {data_dir} does not exist or is not a directory.")
    paths = {key: _find(data_dir, stem) for key, stem in IDX_FILES.items()}
    missing = [IDX_FILES[key] + "[.gz]" for key, path in paths.items() if path is None]
    if missing:
        raise DataError(
            f"{data_dir} lacks {', '.join(missing)}; expected the four MNIST-format "
            "IDX files of MNIST or Fashion-MNIST. Nothing is downloaded."
        )
    arrays = {key: load_idx(path) for key, path in paths.items()}
    out = []
    for part in ("train", "test"):
        images, labels = arrays[f"{part}_images"], arrays[f"{part}_labels"]
        if images.ndim < 2 or labels.ndim != 1 or len(images) != len(labels):
            raise DataError(
                f"{paths[part + '_images']} and {paths[part + '_labels']} do not match: "
                f"shapes {images.shape} and {labels.shape}."
            )
        X = images.reshape(len(images), -1).astype(np.float32) / 255.0
        out += [X, labels.astype(np.int64)]
    if out[0].shape[1] != out[2].shape[1]:
        raise DataError("training and test images have different sizes.")
    return tuple(out)


def load_digits_split(test_size=0.25, random_state=0):
    """scikit-learn's embedded 8x8 digits, scaled to [0, 1] and split stratified.

    Parameters
    ----------
    test_size : float, default=0.25
        Share of the 1,797 rows kept for testing.
    random_state : int, default=0
        Seed of the split.

    Returns
    -------
    X_train, y_train, X_test, y_test : ndarrays
        Rows of 64 float32 pixels in [0, 1] and int64 labels.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y.astype(np.int64), test_size=test_size, stratify=y, random_state=random_state
    )
    return X_train, y_train, X_test, y_test


def load_dataset(name, data_dir=None):
    """Load a benchmark dataset by name.

    Parameters
    ----------
    name : {"digits", "fashion-mnist", "mnist"}
        ``"digits"`` is embedded in scikit-learn; the others read IDX files
        from ``data_dir``.
    data_dir : str or Path or None
        Directory of the IDX files (ignored for digits).

    Returns
    -------
    X_train, y_train, X_test, y_test : ndarrays
        See :func:`load_mnist_format`.
    """
    if name == "digits":
        return load_digits_split()
    if name in ("fashion-mnist", "mnist", "idx"):
        return load_mnist_format(data_dir)
    raise DataError(f"unknown dataset {name!r}; expected 'digits', 'fashion-mnist' or 'mnist'.")


def image_shape(n_features):
    """Return ``(height, width)`` of square images with ``n_features`` pixels, or None."""
    side = int(round(n_features**0.5))
    return (side, side) if side * side == n_features else None


def parameters_from_pairs(pairs):
    """``key=value`` command-line settings as estimator parameters.

    Each value is read as a Python literal (numbers, booleans, None, quoted
    strings, tuples) and kept as a string where it is not one.
    """
    out = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value
    return out


def run_or_exit(function, *args, **kwargs):
    """Call ``function``; on :class:`DataError`, print the message and exit with status 2."""
    try:
        return function(*args, **kwargs)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
