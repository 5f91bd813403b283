"""The WavLM losses of Bert-VITS2 and Style-Bert-VITS2 JP-Extra: a frozen WavLM judges
real and generated audio, resampled to its rate.

In the forks' steps the frozen WavLM runs four times per step: twice without gradients for
the WavLM discriminator's update (real and generated audio), then on the generated audio
twice more with gradients flowing back into the generator (a feature-matching term against
the real audio's states, computed without gradients, and the adversarial term through the
WavLM discriminator head). Each run first resamples the audio from the config's
``data.sampling_rate`` to ``model.slm.sr`` with a windowed-sinc resampler (torchaudio's
``Resample``, the one the forks use), so the same numbers come out.

``SlmJudge`` owns the frozen parts (WavLM and resampler); the discriminator head is a
trained network of `build_nets` ("WavLMDisc") and is passed in.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from vitscfg.model.wavlm import WavLM, WavLMSizes

#: The forks' ``model.slm.sr`` (wavlm-base-plus reads 16 kHz audio).
SLM_RATE = 16000


class SlmJudge(nn.Module):
    """Frozen WavLM behind a resampler: audio (B, samples) at ``source_rate`` -> hidden
    states. Randomly initialised (memory traces and tests need the shapes, not the
    pretrained weights); ``requires_grad`` is off, as in the forks."""

    def __init__(
        self, source_rate: int, slm_rate: int = SLM_RATE, sizes: WavLMSizes | None = None
    ) -> None:
        super().__init__()
        import torchaudio

        device = torch.get_default_device()
        # The resampler's kernel is computed from real values, which a meta device lacks:
        # build it on the CPU (a fake mode makes it fake there too) and move it.
        with torch.device("cpu"):
            resample = torchaudio.transforms.Resample(source_rate, slm_rate)
        self.resample = resample.to(device)
        self.wavlm = WavLM(sizes)
        self.wavlm.eval()
        self.wavlm.requires_grad_(False)

    def states(self, wav: torch.Tensor) -> list[torch.Tensor]:
        """WavLM's hidden states (B, T', H) of ``wav`` (B, samples)."""
        states: list[torch.Tensor] = self.wavlm(self.resample(wav))
        return states


def slm_sizes(hidden: int, states: int) -> WavLMSizes:
    """The WavLM whose hidden states the config's head reads (``model.slm.hidden`` wide,
    ``model.slm.nlayers`` of them): wavlm-base-plus's published sizes for its 768 x 13 (the
    forks' configs), else the same layout scaled to those two numbers (tests' tiny configs;
    no other published model is known here)."""
    base = WavLMSizes()
    if (hidden, states) == (base.hidden, base.layers + 1):
        return base
    heads = 2 if hidden % 2 == 0 else 1
    return WavLMSizes(
        conv_dim=(hidden,) * len(base.conv_dim),
        hidden=hidden,
        layers=states - 1,
        heads=heads,
        intermediate=2 * hidden,
        pos_kernel=16,
        pos_groups=math.gcd(hidden, base.pos_groups),
    )


def build_slm_judge(config: Mapping[str, Any]) -> SlmJudge:
    """The judge of a config (``data.sampling_rate`` -> ``model.slm.sr``, sizes from
    ``model.slm``), on the default device."""
    slm = config["model"].get("slm") or {}
    sizes = slm_sizes(int(slm.get("hidden", 768)), int(slm.get("nlayers", 13)))
    return SlmJudge(int(config["data"]["sampling_rate"]), int(slm.get("sr", SLM_RATE)), sizes)


def stacked(states: Sequence[torch.Tensor]) -> torch.Tensor:
    """All layers' states on channels, as the WavLM discriminator reads them:
    (B, layers * H, T')."""
    return torch.stack(list(states), dim=1).transpose(-1, -2).flatten(start_dim=1, end_dim=2)


def slm_feature_loss(judge: SlmJudge, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Sum over layers of mean |states(real) - states(fake)|; gradients reach ``fake``."""
    with torch.no_grad():
        target = judge.states(real)
    loss = torch.zeros((), device=fake.device)
    for r, g in zip(target, judge.states(fake), strict=True):
        loss = loss + torch.mean(torch.abs(r - g))
    return loss


def slm_generator_loss(judge: SlmJudge, head: nn.Module, fake: torch.Tensor) -> torch.Tensor:
    """LSGAN generator term of the WavLM discriminator head on ``fake``."""
    logits: torch.Tensor = head(stacked(judge.states(fake)))
    return torch.mean((1 - logits) ** 2)


def slm_discriminator_loss(
    judge: SlmJudge, head: nn.Module, real: torch.Tensor, fake: torch.Tensor
) -> torch.Tensor:
    """LSGAN loss of the head on real and (detached) generated audio."""
    with torch.no_grad():
        states = judge.states(real), judge.states(fake)
        real_states, fake_states = stacked(states[0]), stacked(states[1])
    return torch.mean((1 - head(real_states)) ** 2) + torch.mean(head(fake_states) ** 2)
