"""The skewed relative attention (the forks' memory form) computes what the banded one does."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("torch")

import torch  # noqa: E402

from vitscfg.model.attentions import MultiHeadAttention  # noqa: E402
from vitscfg.model.skewed_attention import SkewedRelativeAttention  # noqa: E402

pytestmark = pytest.mark.torch


@settings(max_examples=25, deadline=None)
@given(
    length=st.integers(1, 24),
    window=st.integers(1, 10),
    heads=st.sampled_from([1, 2]),
    pad=st.integers(0, 5),
    seed=st.integers(0, 2**16),
)
def test_skewed_equals_banded(length: int, window: int, heads: int, pad: int, seed: int) -> None:
    torch.manual_seed(seed)
    banded = MultiHeadAttention(8, 8, heads, window_size=window)
    skewed = SkewedRelativeAttention(8, 8, heads, window_size=window)
    skewed.load_state_dict(banded.state_dict(), strict=True)
    x = torch.randn(2, 8, length, requires_grad=True)
    valid = torch.ones(2, length)
    valid[1, max(1, length - pad) :] = 0  # a shorter second item
    mask = valid[:, None, :, None] * valid[:, None, None, :]
    out_b, out_s = banded(x, mask), skewed(x, mask)
    torch.testing.assert_close(out_s, out_b, atol=1e-5, rtol=1e-5)
    grad_b = torch.autograd.grad(out_b.square().sum(), [x, banded.emb_rel_v])
    grad_s = torch.autograd.grad(out_s.square().sum(), [x, skewed.emb_rel_v])
    for a, b in zip(grad_s, grad_b, strict=True):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
