"""Monotonic alignment search (MAS) without a Cython build step.

VITS aligns text tokens with spectrogram frames by a Viterbi-like dynamic programme over the
``(T_spec, T_text)`` log-likelihood matrix. The reference ships it as a Cython extension that
users must compile by hand, which is the most common install failure. This module gives the
same results (bit for bit, including tie-breaking and the ``-1e9`` sentinel) from three
build-free implementations:

* :func:`maximum_path_torch` — vectorised torch, used for CUDA (and any non-CPU) tensors. It
  loops over the spectrogram axis with the whole batch and all text positions at once per frame
  (two kernels per frame), derives the backtrack decisions for all cells at once, and backtracks
  with one ``gather`` per frame on the device, so nothing waits on the host (no
  ``.item()``/``.cpu()``). neg_cent never leaves the GPU, which removes the reference's
  device→host copy and sync on every training step.
* :func:`maximum_path_numba` — a numba ``@njit(parallel=True, cache=True)`` kernel that runs the
  items of the batch in parallel; the default for CPU tensors when numba is installed.
* :func:`maximum_path_numpy` — numpy vectorised over batch and text axis per spectrogram frame;
  the CPU fallback when numba is not installed.

Semantics shared by all implementations (those of the reference algorithm): with
``value = float32(neg_cent)``, for frame ``y`` and token ``x`` inside the feasible band
``max(0, t_text + y - t_spec) <= x <= min(t_text - 1, y)``::

    stay = value[y-1, x]    if x != y          else -1e9
    move = value[y-1, x-1]  if x != 0          else (0 if y == 0 else -1e9)
    value[y, x] += max(stay, move)             # float32 arithmetic

The backtrack starts at the last token on the last frame and moves to the previous token when
``x == y`` or ``value[y-1, x] < value[y-1, x-1]`` (strict: ties stay on the same token), never
below token 0. Lengths come from the mask exactly as in the reference:
``t_spec = mask.sum(1)[:, 0]`` and ``t_text = mask.sum(2)[:, 0]``. Items with
``t_spec < t_text`` have no valid path; for them the reference reads out of bounds, and here the
output is some in-bounds 0/1 pattern without meaning (no error is raised, so the GPU path never
has to sync to check).
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

__all__ = [
    "MAX_NEG_VAL",
    "maximum_path",
    "maximum_path_numba",
    "maximum_path_numpy",
    "maximum_path_torch",
    "numba_available",
]

#: Sentinel of the reference for "no predecessor"; kept (not -inf) so results stay identical.
MAX_NEG_VAL: float = -1e9

_NEG32 = np.float32(MAX_NEG_VAL)


def _check_shapes(neg_cent: torch.Tensor, mask: torch.Tensor) -> None:
    """Fail early on shape errors: the kernels index by shape and would fail obscurely."""
    if neg_cent.dim() != 3:
        raise ValueError(f"neg_cent must be (B, T_spec, T_text), got shape {tuple(neg_cent.shape)}")
    if mask.shape != neg_cent.shape:
        raise ValueError(
            f"mask shape {tuple(mask.shape)} must equal neg_cent shape {tuple(neg_cent.shape)}"
        )


def _lengths(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-item (t_spec, t_text) as int64 on the mask's device, derived like the reference."""
    m = mask.detach()
    if m.dtype == torch.bool:
        m = m.to(torch.int32)
    spec_len = m.sum(1)[:, 0].to(torch.int64)
    text_len = m.sum(2)[:, 0].to(torch.int64)
    return spec_len, text_len


# ----------------------------------------------------------------------------------------------
# torch (CUDA) implementation
# ----------------------------------------------------------------------------------------------


def maximum_path_torch(neg_cent: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Vectorised torch MAS on neg_cent's device with no host synchronisation.

    Why this shape of algorithm: the DP is sequential over spectrogram frames but independent
    across batch items and text positions within a frame, so each frame is two element-wise
    kernels over ``(B, min(y+1, T_text))`` — on a GPU the cost is dominated by kernel launches,
    so the per-frame kernel count is what matters. Two layout tricks remove all other per-frame
    work: the value buffer has an extra leading column fixed at the sentinel (the "move"
    candidate of token 0), and it is pre-filled with the sentinel so that the never-written cell
    right of the diagonal provides the diagonal's "stay" sentinel. The backtrack bits are then
    derived for all cells in one comparison, and the backtrack is one ``gather`` per frame,
    entirely on the device.
    """
    _check_shapes(neg_cent, mask)
    batch, t_spec, t_text = neg_cent.shape
    device = neg_cent.device
    if batch == 0 or t_spec == 0 or t_text == 0:
        return torch.zeros_like(neg_cent)

    ll = neg_cent.detach().to(torch.float32)
    spec_len, text_len = _lengths(mask.to(device))

    # value[:, y, x + 1] is the DP value of cell (y, x); column 0 is a sentinel "token -1".
    value = torch.full((batch, t_spec, t_text + 1), MAX_NEG_VAL, dtype=torch.float32, device=device)
    value[:, 0, 1] = ll[:, 0, 0]  # + max(0, sentinel) == + 0
    # Without data (a memory trace), the per-frame loops are skipped: they write into the
    # buffers through views and allocate nothing, and they are 2*T_spec ops of the ~10k a
    # traced step has (half of an fp16 trace's time for ljs_base). Every buffer below is
    # still allocated and freed in the same order, so the traced memory is unchanged.
    loop_frames = 0 if _shapes_only(neg_cent) else t_spec  # frames the two loops run over
    prev = cur = value  # loop views; dropped with value below so its storage is freed there
    for y in range(1, loop_frames):
        width = min(y + 1, t_text)  # cells x <= y; those right of the diagonal stay sentinel
        prev = value[:, y - 1]
        cur = value[:, y, 1 : width + 1]
        torch.maximum(prev[:, 1 : width + 1], prev[:, :width], out=cur)
        cur.add_(ll[:, y, :width])

    # moves[:, y, x]: the backtrack goes from (y, x) to token x-1 (strict: ties stay).
    moves = torch.zeros((batch, t_spec, t_text), dtype=torch.bool, device=device)
    torch.lt(value[:, :-1, 2:], value[:, :-1, 1:-1], out=moves[:, 1:, 1:])
    # The diagonal always moves (token 0, column 0 above, never does); a view, no indexing.
    moves.diagonal(dim1=1, dim2=2)[:, 1:].fill_(True)
    del value, prev, cur
    frames = torch.arange(t_spec, device=device)
    active = (frames.unsqueeze(0) < spec_len.unsqueeze(1)) & (text_len > 0).unsqueeze(1)
    moves &= active.unsqueeze(2)  # padding frames never move
    # Token reached at frame y-1 from each cell of frame y, as gather's int64 index type, so
    # each backtrack step is a single gather (no dtype conversion or subtraction kernel).
    positions = torch.arange(t_text, device=device)
    prev_token = positions - moves.to(torch.int64)
    del moves

    tokens = torch.empty((batch, t_spec), dtype=torch.int64, device=device)
    tokens[:, -1] = (text_len - 1).clamp(min=0)
    for y in range(loop_frames - 1, 0, -1):
        torch.gather(prev_token[:, y], 1, tokens[:, y : y + 1], out=tokens[:, y - 1 : y])

    path = (tokens.unsqueeze(2) == positions) & active.unsqueeze(2)
    return path.to(neg_cent.dtype)


# ----------------------------------------------------------------------------------------------
# numpy implementation
# ----------------------------------------------------------------------------------------------


def _to_numpy_f32(neg_cent: torch.Tensor) -> npt.NDArray[np.float32]:
    """C-contiguous float32 view/copy: the reference casts to float32 before the DP."""
    t = neg_cent.detach().to(device="cpu", dtype=torch.float32).contiguous()
    return t.numpy()


def _mas_numpy_tokens(
    ll: npt.NDArray[np.float32],
    spec_len: npt.NDArray[np.int64],
    text_len: npt.NDArray[np.int64],
) -> npt.NDArray[np.int64]:
    """Token index per (item, frame); vectorised over batch and text axis per frame.

    Unlike the torch version this keeps only one value row and records the backtrack bit per
    step: on a CPU, memory traffic (not the number of operations) is what costs, and a
    ``(B, T_spec, T_text)`` float32 buffer is 4x the bytes of the bit array.
    """
    batch, t_spec, t_text = ll.shape
    moves = np.empty((batch, t_spec, t_text), dtype=np.bool_)
    moves[:, 0] = False
    row = ll[:, 0].copy()  # value[0, 0] = ll[0, 0] + max(0, sentinel); x > 0 is unused
    step = np.empty((batch, t_text), dtype=np.float32)
    step[:, 0] = _NEG32  # token 0 has no "move" predecessor
    for y in range(1, t_spec):
        step[:, 1:] = row[:, :-1]
        if y < t_text:
            row[:, y] = _NEG32  # the diagonal's "stay" candidate is the sentinel
        np.less(row, step, out=moves[:, y])
        np.maximum(row, step, out=row)
        np.add(row, ll[:, y], out=row)
    diag = np.arange(1, min(t_spec, t_text))
    moves[:, diag, diag] = True  # the diagonal always moves, token 0 never does
    moves[:, :, 0] = False
    active = (np.arange(t_spec)[None, :] < spec_len[:, None]) & (text_len > 0)[:, None]
    moves &= active[:, :, None]

    items = np.arange(batch)
    tokens = np.empty((batch, t_spec), dtype=np.int64)
    index = np.maximum(text_len - 1, 0)
    tokens[:, -1] = index
    for y in range(t_spec - 1, 0, -1):
        index = index - moves[items, y, index]
        tokens[:, y - 1] = index
    return tokens


def maximum_path_numpy(neg_cent: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """numpy MAS (the CPU fallback without numba); returns on neg_cent's device and dtype."""
    _check_shapes(neg_cent, mask)
    batch, t_spec, t_text = neg_cent.shape
    if batch == 0 or t_spec == 0 or t_text == 0:
        return torch.zeros_like(neg_cent)
    ll = _to_numpy_f32(neg_cent)
    spec_len_t, text_len_t = _lengths(mask)
    spec_len = spec_len_t.cpu().numpy()
    text_len = text_len_t.cpu().numpy()
    tokens = _mas_numpy_tokens(ll, spec_len, text_len)

    path = np.zeros((batch, t_spec, t_text), dtype=np.float32)
    active = (np.arange(t_spec)[None, :] < spec_len[:, None]) & (text_len > 0)[:, None]
    b_idx, y_idx = np.nonzero(active)
    path[b_idx, y_idx, tokens[b_idx, y_idx]] = 1.0
    return torch.from_numpy(path).to(device=neg_cent.device, dtype=neg_cent.dtype)


# ----------------------------------------------------------------------------------------------
# numba implementation
# ----------------------------------------------------------------------------------------------

# Replaced by numba.prange when the kernel is compiled; plain range keeps the function importable
# (and runnable, slowly) without numba.
_prange: Callable[..., Any] = range


def _mas_numba_py(
    ll: npt.NDArray[np.float32],
    spec_len: npt.NDArray[np.int64],
    text_len: npt.NDArray[np.int64],
    path: npt.NDArray[np.float32],
) -> None:  # pragma: no cover - executed compiled by numba
    """Per-item banded DP over two float32 row buffers; fills ``path`` (zeros on entry).

    Why this layout: numba runs the batch items on separate threads; within an item only the
    band the reference visits is computed, and the two special cells of a row (the diagonal,
    whose "stay" candidate is the sentinel, and token 0, which cannot "move") are peeled off so
    the inner loop is branch-free and SIMD-vectorisable. Instead of the value matrix, one
    backtrack bit per cell is kept (``move[y, x]``: go to token x-1 before frame y-1).
    """
    neg = np.float32(-1e9)
    for i in _prange(ll.shape[0]):
        t_y = spec_len[i]
        t_x = text_len[i]
        if t_y <= 0 or t_x <= 0:
            continue
        prev = np.full(t_x, neg, dtype=np.float32)
        cur = np.full(t_x, neg, dtype=np.float32)
        move = np.zeros((t_y, t_x), dtype=np.bool_)
        cur[0] = ll[i, 0, 0]  # + max(0, sentinel) == + 0
        for y in range(1, t_y):
            prev, cur = cur, prev
            lo = max(1, t_x + y - t_y)
            top = min(t_x - 1, y)
            if top == y and y >= lo:  # diagonal: stay is the sentinel, the backtrack must move
                v = prev[y - 1]
                cur[y] = ll[i, y, y] + (v if v > neg else neg)
                move[y, y] = True
                top -= 1
            ll_row = ll[i, y]
            move_row = move[y]
            for x in range(lo, top + 1):
                stay = prev[x]
                step = prev[x - 1]
                move_row[x] = stay < step  # strict: ties stay on the token
                cur[x] = ll_row[x] + (step if step > stay else stay)
            if t_x + y - t_y <= 0:  # token 0 is in the band: its move candidate is the sentinel
                stay = prev[0]
                cur[0] = ll[i, y, 0] + (stay if stay > neg else neg)
        index = t_x - 1
        for y in range(t_y - 1, -1, -1):
            path[i, y, index] = 1.0
            if move[y, index]:
                index -= 1


_numba_kernel: Callable[..., None] | None = None
_numba_chunksize: Callable[[int], Any] | None = None


@functools.cache
def numba_available() -> bool:
    """True when numba can be imported (checked once, without importing it, which is slow)."""
    return importlib.util.find_spec("numba") is not None


def _get_numba_kernel() -> Callable[..., None]:
    """Compile (or load from numba's on-disk cache) the kernel on first use.

    Lazy so that importing this module never pays numba's import/JIT time.
    """
    global _numba_kernel, _numba_chunksize, _prange
    if _numba_kernel is None:
        import numba

        _prange = numba.prange
        _numba_chunksize = numba.parallel_chunksize
        try:
            _numba_kernel = numba.njit(parallel=True, cache=True, nogil=True)(_mas_numba_py)
        except RuntimeError:  # no writable cache location: compile per process instead
            _numba_kernel = numba.njit(parallel=True, nogil=True)(_mas_numba_py)
    return _numba_kernel


def maximum_path_numba(neg_cent: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """numba MAS, parallel over the batch; raises ImportError when numba is not installed."""
    _check_shapes(neg_cent, mask)
    kernel = _get_numba_kernel()
    batch, t_spec, t_text = neg_cent.shape
    if batch == 0 or t_spec == 0 or t_text == 0:
        return torch.zeros_like(neg_cent)
    ll = _to_numpy_f32(neg_cent)
    spec_len_t, text_len_t = _lengths(mask)
    spec_len = np.ascontiguousarray(spec_len_t.cpu().numpy())
    text_len = np.ascontiguousarray(text_len_t.cpu().numpy())
    # np.zeros (calloc: the OS hands out zeroed pages lazily) is much cheaper than a memset
    # for the large output; the kernel then touches the pages from all threads.
    path = np.zeros((batch, t_spec, t_text), dtype=np.float32)
    assert _numba_chunksize is not None
    # Items differ in size (ragged batch) and cores may be shared: hand out one item at a time
    # instead of numba's default static split, so no thread idles behind a slow one.
    with _numba_chunksize(1):
        kernel(ll, spec_len, text_len, path)
    return torch.from_numpy(path).to(device=neg_cent.device, dtype=neg_cent.dtype)


# ----------------------------------------------------------------------------------------------
# dispatch
# ----------------------------------------------------------------------------------------------


def _is_fake(t: torch.Tensor) -> bool:
    """A FakeTensor (``vitscfg estimate`` traces the step without data): it has no storage for
    numpy/numba to read, so it takes the torch path, which only needs shapes."""
    return type(t).__name__ == "FakeTensor"


def _shapes_only(t: torch.Tensor) -> bool:
    """No data behind the tensor (fake or meta): only allocations can be observed."""
    return t.device.type == "meta" or _is_fake(t)


def maximum_path(neg_cent: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Maximum-likelihood monotonic alignment path, drop-in for ``monotonic_align.maximum_path``.

    neg_cent: (B, T_spec, T_text) log-likelihood of frame t given token s.
    mask: (B, T_spec, T_text), 1 inside each item's valid rectangle.
    Returns the 0/1 path, same shape, in neg_cent's dtype and on its device.

    CPU tensors go to numba (or numpy without numba); any other device stays on that device
    with the torch implementation, so a GPU training step never copies neg_cent to the host.
    Fake tensors (memory estimation) take the torch implementation too.
    """
    if neg_cent.device.type != "cpu" or _is_fake(neg_cent):
        return maximum_path_torch(neg_cent, mask)
    if numba_available():
        return maximum_path_numba(neg_cent, mask)
    return maximum_path_numpy(neg_cent, mask)
