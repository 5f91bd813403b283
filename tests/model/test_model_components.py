"""Shapes and exact behaviour of the individual components, against naive re-derivations."""

from __future__ import annotations

import math

import pytest

pytest.importorskip("torch")

import torch  # noqa: E402

from vitscfg.model.attentions import Encoder, MultiHeadAttention  # noqa: E402
from vitscfg.model.commons import generate_path, sequence_mask, slice_segments  # noqa: E402
from vitscfg.model.decoder import Generator  # noqa: E402
from vitscfg.model.discriminators import MultiPeriodDiscriminator  # noqa: E402
from vitscfg.model.duration import (  # noqa: E402
    ConvFlow,
    DurationPredictor,
    StochasticDurationPredictor,
)
from vitscfg.model.flow import ResidualCouplingBlock  # noqa: E402
from vitscfg.model.posterior_encoder import PosteriorEncoder  # noqa: E402
from vitscfg.model.spline import rational_quadratic_spline  # noqa: E402
from vitscfg.model.text_encoder import TextEncoder  # noqa: E402
from vitscfg.model.wavenet import WN  # noqa: E402

pytestmark = pytest.mark.torch


def _randomize_zero_init(module: torch.nn.Module) -> None:
    """Zero-initialised output projections make flows the identity; perturb them for tests."""
    with torch.no_grad():
        for name, param in module.named_parameters():
            if param.abs().sum() == 0 and name.rsplit(".", 1)[-1] in ("weight", "bias"):
                param.normal_(0.0, 0.3)


def test_sequence_mask_and_generate_path() -> None:
    assert sequence_mask(torch.tensor([1, 3]), 4).tolist() == [
        [True, False, False, False],
        [True, True, True, False],
    ]
    durations = torch.tensor([[[2.0, 0.0, 3.0]]])  # (1, 1, T_text)
    mask = torch.ones(1, 1, 5, 3)
    path = generate_path(durations, mask)[0, 0]  # (T_spec, T_text)
    assert path.tolist() == [[1, 0, 0], [1, 0, 0], [0, 0, 1], [0, 0, 1], [0, 0, 1]]


def test_slice_segments_matches_manual_and_pads_short_items() -> None:
    x = torch.arange(2 * 3 * 10, dtype=torch.float32).view(2, 3, 10)
    starts = torch.tensor([0, 6])
    out = slice_segments(x, starts, 4)
    assert torch.equal(out[0], x[0, :, 0:4])
    assert torch.equal(out[1], x[1, :, 6:10])
    padded = slice_segments(x, torch.tensor([0, 8]), 4)
    assert torch.equal(padded[1, :, :2], x[1, :, 8:10])
    assert torch.all(padded[1, :, 2:] == 0)


def _naive_relative_attention(attn: MultiHeadAttention, x: torch.Tensor) -> torch.Tensor:
    """Textbook Shaw et al. attention with explicit loops over query/key positions."""
    batch, channels, length = x.shape
    heads, d_k, w = attn.n_heads, attn.k_channels, attn.window_size
    q = attn.conv_q(x).view(batch, heads, d_k, length)
    k = attn.conv_k(x).view(batch, heads, d_k, length)
    v = attn.conv_v(x).view(batch, heads, d_k, length)
    emb_k, emb_v = attn.emb_rel_k[0], attn.emb_rel_v[0]  # (2w+1, d_k)
    out = torch.zeros(batch, heads, d_k, length)
    for i in range(length):
        logits = torch.zeros(batch, heads, length)
        for j in range(length):
            logits[:, :, j] = (q[..., i] * k[..., j]).sum(-1)
            if abs(j - i) <= w:
                logits[:, :, j] += (q[..., i] * emb_k[j - i + w]).sum(-1)
        probs = torch.softmax(logits / math.sqrt(d_k), dim=-1)
        for j in range(length):
            value = v[..., j]
            if abs(j - i) <= w:
                value = value + emb_v[j - i + w]
            out[..., i] += probs[..., j : j + 1] * value
    result: torch.Tensor = attn.conv_o(out.reshape(batch, channels, length))
    return result


@pytest.mark.parametrize("length", [3, 12])
def test_relative_attention_matches_naive(length: int) -> None:
    attn = MultiHeadAttention(8, 8, n_heads=2, window_size=4).eval()
    x = torch.randn(2, 8, length)
    with torch.no_grad():
        assert torch.allclose(attn(x), _naive_relative_attention(attn, x), atol=1e-5)


def test_encoder_masks_padding() -> None:
    enc = Encoder(16, 32, n_heads=2, n_layers=2, kernel_size=3).eval()
    x = torch.randn(2, 16, 7)
    x_mask = sequence_mask(torch.tensor([7, 4]), 7).unsqueeze(1).float()
    out = enc(x, x_mask)
    assert out.shape == (2, 16, 7)
    assert torch.all(out[1, :, 4:] == 0)
    # Padding content must not leak into valid positions.
    x2 = x.clone()
    x2[1, :, 4:] = 100.0
    assert torch.allclose(enc(x2, x_mask), out, atol=1e-5)


def test_text_and_posterior_encoder_shapes() -> None:
    text_enc = TextEncoder(50, 8, 16, 32, 2, 2, 3, 0.0)
    x, m_p, logs_p, x_mask = text_enc(torch.randint(0, 50, (2, 9)), torch.tensor([9, 5]))
    assert (x.shape, m_p.shape, logs_p.shape, x_mask.shape) == (
        (2, 16, 9),
        (2, 8, 9),
        (2, 8, 9),
        (2, 1, 9),
    )
    post = PosteriorEncoder(33, 8, 16, 5, 1, 3, gin_channels=4)
    z, m_q, logs_q, y_mask = post(
        torch.rand(2, 33, 20), torch.tensor([20, 11]), torch.randn(2, 4, 1)
    )
    assert z.shape == m_q.shape == logs_q.shape == (2, 8, 20)
    assert y_mask[:, 0].sum(1).tolist() == [20, 11]
    assert torch.all(z[1, :, 11:] == 0)


def test_wavenet_condition_changes_output() -> None:
    wn = WN(16, 5, 1, 3, gin_channels=4)
    _randomize_zero_init(wn)
    x, mask = torch.randn(1, 16, 10), torch.ones(1, 1, 10)
    a = wn(x, mask, g=torch.zeros(1, 4, 1))
    b = wn(x, mask, g=torch.ones(1, 4, 1))
    assert a.shape == (1, 16, 10)
    assert not torch.allclose(a, b)


def test_flow_is_invertible() -> None:
    flow = ResidualCouplingBlock(8, 16, 5, 1, 2, n_flows=4, gin_channels=4).eval()
    _randomize_zero_init(flow)
    x = torch.randn(2, 8, 15)
    mask = sequence_mask(torch.tensor([15, 9]), 15).unsqueeze(1).float()
    x = x * mask
    g = torch.randn(2, 4, 1)
    z = flow(x, mask, g=g)
    assert not torch.allclose(z, x)
    assert torch.allclose(flow(z, mask, g=g, reverse=True), x, atol=1e-5)


def test_spline_roundtrip_and_logdet() -> None:
    shape = (3, 40)
    inputs = torch.linspace(-6, 6, 120, dtype=torch.float64).view(shape)
    widths, heights = torch.randn(*shape, 10), torch.randn(*shape, 10)
    derivs = torch.randn(*shape, 9)
    out, logdet = rational_quadratic_spline(inputs, widths, heights, derivs, tail_bound=5.0)
    back, inv_logdet = rational_quadratic_spline(
        out, widths, heights, derivs, inverse=True, tail_bound=5.0
    )
    assert torch.allclose(back.double(), inputs, atol=1e-4)
    assert torch.allclose(logdet, -inv_logdet, atol=1e-4)
    outside = inputs.abs() > 5
    assert torch.equal(out[outside].double(), inputs[outside])
    assert torch.all(logdet[outside] == 0)
    # Monotonic increasing, and log|dy/dx| agrees with a finite difference.
    x = torch.tensor([-4.0, -1.3, 0.2, 2.7, 4.9], dtype=torch.float64)
    w, h, d = widths[0, :5], heights[0, :5], derivs[0, :5]
    eps = 1e-4
    y_plus, _ = rational_quadratic_spline(x + eps, w, h, d)
    y_minus, _ = rational_quadratic_spline(x - eps, w, h, d)
    _, lad = rational_quadratic_spline(x, w, h, d)
    numeric = torch.log((y_plus.double() - y_minus.double()) / (2 * eps))
    assert torch.all(y_plus > y_minus)
    assert torch.allclose(lad.double(), numeric, atol=1e-3)


def test_conv_flow_roundtrip() -> None:
    flow = ConvFlow(2, 16, 3, n_layers=3).eval()
    _randomize_zero_init(flow)
    x, mask = torch.randn(2, 2, 11), torch.ones(2, 1, 11)
    y, logdet = flow(x, mask)
    back, inv_logdet = flow(y, mask, reverse=True)
    assert logdet.shape == (2,)
    assert torch.allclose(back, x, atol=1e-4)
    assert torch.allclose(logdet, -inv_logdet, atol=1e-3)


def test_duration_predictors_shapes_and_detach() -> None:
    x = torch.randn(2, 16, 7, requires_grad=True)
    mask = sequence_mask(torch.tensor([7, 3]), 7).unsqueeze(1).float()
    sdp = StochasticDurationPredictor(16, 3, 0.5, 4, gin_channels=4)
    g = torch.randn(2, 4, 1)
    nll = sdp(x, mask, torch.randint(1, 5, (2, 1, 7)).float() * mask, g=g)
    assert nll.shape == (2,) and torch.isfinite(nll).all()
    torch.autograd.backward(nll.sum())
    assert x.grad is None  # duration modelling must not train the text encoder
    logw = sdp.eval().infer(x, mask, g=g, noise_scale=0.8)
    assert logw.shape == (2, 1, 7)
    dp = DurationPredictor(16, 32, 3, 0.5)
    assert dp(x, mask).shape == (2, 1, 7)


@pytest.mark.parametrize("resblock", ["1", "2"])
@pytest.mark.parametrize("rates,kernels", [([4, 4], [8, 8]), ([5, 3, 2], [11, 7, 4])])
def test_generator_upsamples_by_product_of_rates(
    resblock: str, rates: list[int], kernels: list[int]
) -> None:
    dilations = [[1, 3, 5], [1, 3, 5]] if resblock == "1" else [[1, 3], [1, 3]]
    gen = Generator(8, resblock, [3, 5], dilations, rates, 16, kernels, gin_channels=4)
    audio = gen(torch.randn(2, 8, 6), g=torch.randn(2, 4, 1))
    assert audio.shape == (2, 1, 6 * math.prod(rates))
    assert audio.abs().max() <= 1.0


def test_discriminator_outputs() -> None:
    disc = MultiPeriodDiscriminator()
    y, y_hat = torch.randn(2, 1, 301), torch.randn(2, 1, 301)
    real, fake, fmap_r, fmap_g = disc(y, y_hat)
    assert len(real) == len(fake) == len(fmap_r) == len(fmap_g) == 6
    assert all(r.shape[0] == 2 and r.dim() == 2 for r in real)
    assert [len(f) for f in fmap_r] == [7, 6, 6, 6, 6, 6]
    # Batched real+fake equals separate passes.
    alone, _ = disc.discriminators[2](y)
    assert torch.allclose(alone, real[2], atol=1e-5)
