"""The iSTFT decoders' parts: the inverse STFT, the pseudo-QMF bank, precision and meta tensors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("torch")

import torch  # noqa: E402

from tests.model.mb_istft_golden import PARITY_CASES, case_config  # noqa: E402
from vitscfg.model import build_nets  # noqa: E402
from vitscfg.model.istft_decoder import inverse_stft  # noqa: E402
from vitscfg.model.pqmf import PQMF  # noqa: E402

pytestmark = pytest.mark.torch

V1_CASES = sorted(c for c, (dialect, _) in PARITY_CASES.items() if dialect == "mb-istft-vits")


@settings(max_examples=25, deadline=None)
@given(
    log2_fft=st.integers(2, 6),
    hop_divisor=st.sampled_from([1, 2, 4]),
    frames=st.integers(2, 40),
    seed=st.integers(0, 2**16),
)
def test_inverse_stft_is_torch_istft(
    log2_fft: int, hop_divisor: int, frames: int, seed: int
) -> None:
    n_fft = 2**log2_fft
    hop = max(1, n_fft // 4 // hop_divisor)
    gen = torch.Generator().manual_seed(seed)
    spec = torch.polar(
        torch.rand(3, n_fft // 2 + 1, frames, generator=gen),
        6.3 * torch.rand(3, n_fft // 2 + 1, frames, generator=gen),
    )
    window = torch.hann_window(n_fft)
    ours = inverse_stft(spec, hop, window)
    torch.testing.assert_close(ours, torch.istft(spec, n_fft, hop, n_fft, window=window))


@pytest.mark.parametrize("band", range(4))
def test_pqmf_analysis_puts_a_tone_in_its_band(band: int) -> None:
    """A tone at the centre of band k (of 4 equal bands up to Nyquist) ends up in band k."""
    pqmf = PQMF()
    t = torch.arange(4096, dtype=torch.float32)
    centre = (band + 0.5) / 4 * torch.pi  # radians per sample
    bands = pqmf.analysis(torch.sin(centre * t).reshape(1, 1, -1))
    assert bands.shape == (1, 4, 1024)
    energy = bands[..., 50:-50].pow(2).mean(-1).flatten()
    assert int(energy.argmax()) == band
    assert energy[band] > 0.999 * energy.sum()  # the stop bands reject the tone (~1e-8)


@pytest.mark.parametrize("case", V1_CASES)
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_decoders_run_under_autocast_with_finite_output(case: str, dtype: torch.dtype) -> None:
    decoder = build_nets(case_config(case), dialect="mb-istft-vits")["G"].dec
    with torch.autocast("cpu", dtype=dtype):
        audio, bands = decoder.decode(torch.randn(2, 8, 8))
    assert audio.shape == (2, 1, 128) and torch.isfinite(audio).all()
    assert bands is None or torch.isfinite(bands).all()


@pytest.mark.parametrize("case", V1_CASES)
def test_decoders_run_on_meta_tensors(case: str) -> None:
    """The estimator traces the step on meta tensors (torch.istft has no meta kernel)."""
    with torch.device("meta"):
        decoder = build_nets(case_config(case), dialect="mb-istft-vits")["G"].dec
        audio = decoder(torch.randn(2, 8, 8))
    assert audio.shape == (2, 1, 128) and audio.device.type == "meta"
