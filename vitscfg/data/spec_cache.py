"""The shape of a cached `x.spec.pt` spectrogram, read without torch.

The reference loaders write `x.spec.pt` next to `x.wav` on first use and reuse it
forever, whatever the current STFT settings. Checking a cache
only needs its shape. A `torch.save` file is a zip whose `*/data.pkl` pickle
rebuilds the tensor with `torch._utils._rebuild_tensor_v2(storage, offset, size,
...)`; unpickling it with a closed list of globals, where that call returns the
size and storages stay placeholders, yields the shape while nothing else in the
file can run.
"""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from typing import Any

_MAX_PICKLE_BYTES = 1 << 20  # a tensor's data.pkl is ~200 bytes; refuse anything odd


class _Storage:
    """Stands in for a torch storage class and for the storages themselves."""


def _rebuild_tensor(_storage: Any, _offset: Any, size: Any, *_rest: Any) -> tuple[int, ...]:
    return tuple(int(n) for n in size)


class _ShapeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor
        if module == "torch" and name.endswith("Storage"):
            return _Storage
        if module == "collections" and name == "OrderedDict":
            return dict  # the (always empty) backward-hooks argument
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")

    def persistent_load(self, pid: Any) -> Any:
        return _Storage()


def read_tensor_shape(path: str | os.PathLike[str]) -> tuple[int, ...] | str:
    """The shape of the single tensor saved at `path`, or why it is not known."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n == "data.pkl" or n.endswith("/data.pkl")]
            if not names:
                return "no data.pkl in the archive"
            info = archive.getinfo(names[0])
            if info.file_size > _MAX_PICKLE_BYTES:
                return "data.pkl is too large for a single tensor"
            payload = archive.read(info)
    except zipfile.BadZipFile:
        return "not a zip archive (legacy torch.save format)"
    except (OSError, ValueError, RuntimeError, EOFError) as exc:
        return f"cannot be read ({exc})"
    try:
        value = _ShapeUnpickler(io.BytesIO(payload)).load()
    except Exception as exc:  # any malformed pickle: report, never propagate
        return f"not a tensor pickle ({type(exc).__name__})"
    if isinstance(value, tuple) and all(isinstance(n, int) for n in value):
        return value
    return "does not hold a single tensor"
