"""Monotonic alignment search: every implementation equals a plain-Python oracle exactly.

Why exact equality: the path decides which text token each frame trains, so a different tie
break from the reference would silently change training. The oracle below re-implements the
reference semantics in the most literal way (float32 arithmetic, -1e9 sentinel, strict
comparison in the backtrack) with plain loops, so it is easy to audit by eye.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pytest

if TYPE_CHECKING:
    import torch
else:
    torch = pytest.importorskip("torch")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from vitscfg.model import mas  # noqa: E402

pytestmark = pytest.mark.torch

Impl = Callable[["torch.Tensor", "torch.Tensor"], "torch.Tensor"]

IMPLS: dict[str, Impl] = {
    "dispatch": mas.maximum_path,
    "torch": mas.maximum_path_torch,
    "numpy": mas.maximum_path_numpy,
}
if mas.numba_available():
    IMPLS["numba"] = mas.maximum_path_numba


def oracle_path(neg_cent: np.ndarray, t_spec: int, t_text: int) -> np.ndarray:
    """Reference MAS for one item: O(t_spec * t_text) loops, float32 arithmetic throughout."""
    neg = np.float32(-1e9)
    value = neg_cent.astype(np.float32).copy()
    path = np.zeros(value.shape, dtype=np.float32)
    for y in range(t_spec):
        for x in range(max(0, t_text + y - t_spec), min(t_text, y + 1)):
            stay = neg if x == y else value[y - 1, x]
            if x > 0:
                move = value[y - 1, x - 1]
            elif y == 0:
                move = np.float32(0.0)
            else:
                move = neg
            value[y, x] = np.float32(value[y, x] + max(stay, move))
    index = t_text - 1
    for y in range(t_spec - 1, -1, -1):
        path[y, index] = 1.0
        if index != 0 and (index == y or value[y - 1, index] < value[y - 1, index - 1]):
            index -= 1
    return path


def oracle(neg_cent: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Batch wrapper deriving lengths from the mask like the reference."""
    spec_len = mask.sum(1)[:, 0].long().tolist()
    text_len = mask.sum(2)[:, 0].long().tolist()
    values = neg_cent.float().numpy()
    out = np.zeros(values.shape, dtype=np.float32)
    for b, (ts, tt) in enumerate(zip(spec_len, text_len, strict=True)):
        if ts > 0 and tt > 0:
            out[b] = oracle_path(values[b], ts, tt)
    return torch.from_numpy(out)


def make_mask(spec_len: list[int], text_len: list[int], t_spec: int, t_text: int) -> torch.Tensor:
    """(B, T_spec, T_text) float mask of each item's valid rectangle."""
    s = torch.tensor(spec_len)[:, None, None]
    t = torch.tensor(text_len)[:, None, None]
    frames = torch.arange(t_spec)[None, :, None]
    tokens = torch.arange(t_text)[None, None, :]
    return ((frames < s) & (tokens < t)).float()


def check_path_properties(path: torch.Tensor, spec_len: list[int], text_len: list[int]) -> None:
    """One token per valid frame, monotone steps of 0/1, from token 0 to the last, 0 outside."""
    for b, (ts, tt) in enumerate(zip(spec_len, text_len, strict=True)):
        p = path[b]
        assert torch.all((p == 0) | (p == 1))
        assert p[ts:].sum() == 0 and p[:, tt:].sum() == 0
        assert torch.all(p[:ts].sum(1) == 1)
        tokens = p[:ts].argmax(1)
        assert tokens[0] == 0 and tokens[-1] == tt - 1
        steps = tokens[1:] - tokens[:-1]
        assert torch.all((steps == 0) | (steps == 1))
        assert torch.all(p[:ts, :tt].sum(0) >= 1)


@st.composite
def batches(draw: st.DrawFn) -> tuple[torch.Tensor, torch.Tensor, list[int], list[int]]:
    """Ragged feasible batches (t_spec >= t_text), padded, with tie-prone or float values."""
    batch = draw(st.integers(1, 4))
    text_len = [draw(st.integers(1, 10)) for _ in range(batch)]
    spec_len = [tt + draw(st.integers(0, 24)) for tt in text_len]
    t_spec = max(spec_len) + draw(st.integers(0, 3))
    t_text = max(text_len) + draw(st.integers(0, 3))
    seed = draw(st.integers(0, 2**31 - 1))
    kind = draw(st.sampled_from(["ties", "float", "huge"]))
    rng = np.random.default_rng(seed)
    shape = (batch, t_spec, t_text)
    if kind == "ties":
        values = rng.integers(-2, 1, size=shape).astype(np.float32)
    elif kind == "float":
        values = (rng.standard_normal(shape) * 10).astype(np.float32)
    else:  # around the -1e9 sentinel, so its exact handling matters
        values = rng.choice(np.array([-3e9, -1e9, -1.0, 0.0], dtype=np.float32), size=shape)
    # Garbage outside the mask must not influence anything.
    mask = make_mask(spec_len, text_len, t_spec, t_text)
    neg_cent = torch.from_numpy(values)
    neg_cent = torch.where(mask.bool(), neg_cent, torch.full_like(neg_cent, 1e6))
    return neg_cent, mask, spec_len, text_len


@pytest.fixture(scope="module", autouse=True)
def _warm_numba() -> None:
    """Compile the numba kernel once so hypothesis timing is not charged with the JIT."""
    if "numba" in IMPLS:
        m = torch.ones(1, 2, 2)
        mas.maximum_path_numba(torch.zeros(1, 2, 2), m)


@pytest.mark.parametrize("name", list(IMPLS))
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=batches())
def test_equals_oracle_random(
    name: str, data: tuple[torch.Tensor, torch.Tensor, list[int], list[int]]
) -> None:
    neg_cent, mask, spec_len, text_len = data
    expected = oracle(neg_cent, mask)
    got = IMPLS[name](neg_cent, mask)
    assert torch.equal(got, expected)
    check_path_properties(got, spec_len, text_len)


EDGE_CASES = [
    # (t_spec, t_text) per item
    [(1, 1)],
    [(7, 1)],
    [(5, 5)],
    [(60, 3)],
    [(9, 9), (9, 1), (30, 4)],
    [(1, 1), (12, 12), (40, 2)],
]


@pytest.mark.parametrize("name", list(IMPLS))
@pytest.mark.parametrize("items", EDGE_CASES)
@pytest.mark.parametrize("kind", ["ties", "zeros", "float"])
def test_edge_cases(name: str, items: list[tuple[int, int]], kind: str) -> None:
    spec_len = [s for s, _ in items]
    text_len = [t for _, t in items]
    t_spec, t_text = max(spec_len), max(text_len)
    gen = torch.Generator().manual_seed(len(items) * 1000 + t_spec * 10 + t_text)
    shape = (len(items), t_spec, t_text)
    if kind == "ties":
        neg_cent = torch.randint(-1, 1, shape, generator=gen).float()
    elif kind == "zeros":
        neg_cent = torch.zeros(shape)  # everything ties: pure tie-breaking
    else:
        neg_cent = torch.randn(shape, generator=gen)
    mask = make_mask(spec_len, text_len, t_spec, t_text)
    got = IMPLS[name](neg_cent, mask)
    assert torch.equal(got, oracle(neg_cent, mask))
    check_path_properties(got, spec_len, text_len)


def test_all_ties_backtrack_stays_on_token() -> None:
    """With all-equal values the strict backtrack comparison keeps the current token until the
    diagonal forces a move: tokens 0..t_text-2 get one frame each, the last token the rest."""
    mask = torch.ones(1, 6, 3)
    path = mas.maximum_path_torch(torch.zeros(1, 6, 3), mask)
    assert path[0].argmax(1).tolist() == [0, 1, 2, 2, 2, 2]


@pytest.mark.parametrize("name", list(IMPLS))
@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16])
def test_dtype_and_bool_mask(name: str, dtype: torch.dtype) -> None:
    """Output follows neg_cent's dtype; values are rounded to float32 first, like the
    reference; a bool mask gives the same lengths as a float one."""
    gen = torch.Generator().manual_seed(3)
    neg_cent = (torch.randn(3, 20, 6, generator=gen) * 5).to(dtype)
    mask = make_mask([20, 11, 6], [6, 4, 6], 20, 6)
    expected = oracle(neg_cent.float(), mask)
    got = IMPLS[name](neg_cent, mask.bool())
    assert got.dtype == dtype and got.device == neg_cent.device
    assert torch.equal(got.float(), expected)


@pytest.mark.parametrize("name", list(IMPLS))
def test_empty_items_and_shapes(name: str) -> None:
    """Fully masked items (length 0) get an all-zero path; an empty batch is fine."""
    mask = make_mask([5, 0], [3, 0], 5, 3)
    got = IMPLS[name](torch.randn(2, 5, 3), mask)
    assert got[1].sum() == 0 and torch.all(got[0].sum(1) == 1)
    assert IMPLS[name](torch.zeros(0, 4, 2), torch.zeros(0, 4, 2)).shape == (0, 4, 2)


def test_input_not_modified_and_shape_errors() -> None:
    neg_cent = torch.randn(2, 8, 3)
    before = neg_cent.clone()
    mask = torch.ones(2, 8, 3)
    for impl in IMPLS.values():
        impl(neg_cent, mask)
    assert torch.equal(neg_cent, before)
    with pytest.raises(ValueError):
        mas.maximum_path(neg_cent, torch.ones(2, 3, 8))
    with pytest.raises(ValueError):
        mas.maximum_path(neg_cent[0], mask[0])


def test_matches_cython_package_when_installed() -> None:
    """Cross-check with the real Cython kernel (PyPI monotonic-alignment-search, glow-tts
    layout (B, T_text, T_spec)) on realistic sizes, when it happens to be installed."""
    mas_pkg = pytest.importorskip("monotonic_alignment_search")
    gen = torch.Generator().manual_seed(7)
    text_len = [40, 25, 33, 12]
    spec_len = [160, 90, 150, 12]
    mask = make_mask(spec_len, text_len, 160, 40)
    for neg_cent in (torch.randn(4, 160, 40, generator=gen), torch.randint(-1, 1, (4, 160, 40))):
        neg_cent = neg_cent.float()
        ref = mas_pkg.maximum_path_cython(
            neg_cent.transpose(1, 2).contiguous(), mask.transpose(1, 2).contiguous()
        ).transpose(1, 2)
        for impl in IMPLS.values():
            assert torch.equal(impl(neg_cent, mask), ref)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("kind", ["ties", "float"])
def test_cuda_equals_oracle(kind: str) -> None:
    """The CUDA path (via the dispatcher) equals the oracle and stays on the device."""
    gen = torch.Generator().manual_seed(11)
    text_len = [30, 1, 17, 30, 9]
    spec_len = [120, 40, 17, 64, 100]
    mask = make_mask(spec_len, text_len, 128, 32)
    shape = (5, 128, 32)
    if kind == "ties":
        neg_cent = torch.randint(-2, 1, shape, generator=gen).float()
    else:
        neg_cent = torch.randn(shape, generator=gen) * 10
    expected = oracle(neg_cent, mask)
    for dtype in (torch.float32, torch.float16):
        neg_gpu, mask_gpu = neg_cent.to("cuda", dtype), mask.cuda()
        torch.cuda.synchronize()
        torch.cuda.set_sync_debug_mode("error")  # any host sync inside raises
        try:
            got = mas.maximum_path(neg_gpu, mask_gpu)
        finally:
            torch.cuda.set_sync_debug_mode("default")
        assert got.is_cuda and got.dtype == dtype
        exp = expected if dtype == torch.float32 else oracle(neg_cent.half().float(), mask)
        assert torch.equal(got.float().cpu(), exp)
    check_path_properties(got.float().cpu(), spec_len, text_len)


def test_dispatch_cpu_falls_back_to_numpy_without_numba(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without numba the CPU dispatcher must use the numpy implementation, not fail."""
    calls: list[str] = []
    numpy_impl = mas.maximum_path_numpy

    def spy(neg_cent: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        calls.append("numpy")
        return numpy_impl(neg_cent, mask)

    monkeypatch.setattr(mas, "numba_available", lambda: False)
    monkeypatch.setattr(mas, "maximum_path_numpy", spy)
    neg_cent, mask = torch.randn(2, 9, 4), make_mask([9, 5], [4, 2], 9, 4)
    assert torch.equal(mas.maximum_path(neg_cent, mask), oracle(neg_cent, mask))
    assert calls == ["numpy"]


def test_import_does_not_load_numba() -> None:
    """The model imports this module; numba (slow to import, optional) loads only on first use."""
    import subprocess
    import sys

    code = "import sys, vitscfg.model.mas; assert 'numba' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_shapes_only_path_allocates_what_the_full_path_does() -> None:
    """On meta/fake tensors the per-frame loops are skipped (they only write through views);
    the memory estimator needs every buffer allocated and freed in the same order, so the
    allocation log of the shortcut equals that of the full run on real tensors."""
    from vitscfg.estimate.tracker import StorageTracker

    def log(device: str) -> list[tuple[int, int]]:
        gen = torch.Generator().manual_seed(0)
        neg_cent = torch.randn(3, 40, 12, generator=gen).to(device)
        mask = torch.ones(3, 40, 12, device=device)
        mask[1, 30:] = 0
        mask[2, :, 9:] = 0
        events: list[tuple[int, int]] = []
        tracker = StorageTracker(1, events)
        tracker.track([neg_cent, mask])
        with tracker:
            path = mas.maximum_path_torch(neg_cent, mask)
        assert path.shape == neg_cent.shape
        return events

    real, meta = log("cpu"), log("meta")
    assert meta == real
    assert mas._shapes_only(torch.empty(1, device="meta"))
    assert not mas._shapes_only(torch.empty(1))
