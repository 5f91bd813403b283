"""The frozen WavLM that Bert-VITS2 runs in its step, built with wavlm-base-plus's sizes."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

import torch  # noqa: E402

from vitscfg.model.bert_parts import WavLMDiscriminator  # noqa: E402
from vitscfg.model.wavlm import WavLM, WavLMSizes, _buckets  # noqa: E402

pytestmark = pytest.mark.torch


def test_base_plus_has_its_published_parameter_count() -> None:
    with torch.device("meta"):
        model = WavLM()
    count = sum(p.numel() for p in model.parameters())
    # wavlm-base-plus: 94.38 M parameters (the forks' slm/wavlm-base-plus checkpoint).
    assert abs(count / 1e6 - 94.38) < 0.05, count


def test_hidden_states_feed_the_wavlm_discriminator() -> None:
    sizes = WavLMSizes(conv_dim=(16,) * 7, hidden=32, layers=2, heads=2, intermediate=32)
    torch.manual_seed(0)
    model = WavLM(sizes).eval()
    wav = torch.randn(2, 16000)  # one second at 16 kHz -> 49 frames
    with torch.no_grad():
        states = model(wav)
    assert len(states) == sizes.layers + 1
    assert all(tuple(s.shape) == (2, 49, 32) for s in states)
    head = WavLMDiscriminator(32, sizes.layers + 1, 4)
    # As the forks stack them: (B, layers, T, H) -> (B, layers * H, T).
    logits = head(torch.stack(states, dim=1).transpose(-1, -2).flatten(1, 2))
    assert tuple(logits.shape) == (2, 49)


def test_position_buckets_are_signed_and_bounded() -> None:
    rel = torch.arange(-2000, 2001)
    buckets = _buckets(rel, 320, 800)
    assert int(buckets.min()) == 0 and int(buckets.max()) == 319
    assert int(buckets[2000]) == 0  # offset 0
    assert bool((buckets[2001:] >= 160).all()) and bool((buckets[:2000] < 160).all())
