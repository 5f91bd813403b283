"""What the RVC parity fixture and its test share: a tiny RVC config, weights that depend only
on each state_dict key, deterministic inputs, and a record/replay of the model's random draws.

``scripts/fixtures_rvc.py`` runs RVC's own code with these (weights, inputs, recorded draws)
and writes ``tests/model/fixtures/rvc_parity.json``; ``tests/model/test_rvc_parity.py`` runs
vitscfg's RVC model with the same weights and inputs, replays the recorded draws, and compares.

Weights are not stored (RVC's discriminator alone has 71 M parameters): each tensor is filled
from a generator seeded by the CRC-32 of its key, so any model with the same keys and shapes
gets the same weights, whatever its module order.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch

#: Tiny sizes: every RVC component exists, a G+D step runs in about a second on 2 cores.
TINY_RVC_CONFIG: dict[str, Any] = {
    "train": {
        "segment_size": 128,
        "learning_rate": 1e-4,
        "betas": [0.8, 0.99],
        "eps": 1e-9,
        "c_mel": 45,
        "c_kl": 1.0,
    },
    "data": {
        "max_wav_value": 32768.0,
        "sampling_rate": 16000,
        "filter_length": 64,
        "hop_length": 16,
        "win_length": 64,
        "n_mel_channels": 20,
        "mel_fmin": 0.0,
        "mel_fmax": None,
    },
    "model": {
        "inter_channels": 8,
        "hidden_channels": 16,
        "filter_channels": 32,
        "n_heads": 2,
        "n_layers": 2,
        "kernel_size": 3,
        "p_dropout": 0,
        "resblock": "1",
        "resblock_kernel_sizes": [3, 5],
        "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5]],
        "upsample_rates": [4, 4],
        "upsample_initial_channel": 16,
        "upsample_kernel_sizes": [8, 8],
        "use_spectral_norm": False,
        "gin_channels": 8,
        "spk_embed_dim": 3,
    },
}

#: The variants the parity fixture covers: (version, f0).
PARITY_VARIANTS: tuple[tuple[str, bool], ...] = (("v2", True), ("v1", False))
BATCH, FRAMES, LENGTHS = 2, 12, (12, 10)
FEATURE_DIMS = {"v1": 256, "v2": 768}


def seeded_tensor(key: str, shape: tuple[int, ...]) -> torch.Tensor:
    """A float32 tensor for state_dict entry ``key``, from a generator seeded by its name.

    Scales keep activations O(1) through deep stacks: weight-norm gains and LayerNorm gammas
    near 1, biases and betas small, other weights ~ N(0, 1 / fan_in).
    """
    gen = torch.Generator().manual_seed(zlib.crc32(key.encode()))
    values = torch.randn(shape, generator=gen)
    name = key.rsplit(".", 1)[-1]
    if name in ("weight_g", "gamma"):
        return 1.0 + 0.1 * values
    if len(shape) <= 1:
        return 0.1 * values
    fan_in = max(1, values.numel() // shape[0])
    scaled: torch.Tensor = values / fan_in**0.5
    return scaled


def seeded_state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A full state_dict of ``module``'s keys and shapes filled by ``seeded_tensor``."""
    return {
        key: seeded_tensor(key, tuple(value.shape)) for key, value in module.state_dict().items()
    }


def load_seeded(module: torch.nn.Module) -> None:
    """Give ``module`` (built on any device, meta included: no init cost) the seeded weights."""
    module.load_state_dict(seeded_state(module), strict=True, assign=True)


@dataclass
class Batch:
    """One training batch as RVC's collate function hands it to the train step."""

    phone: torch.Tensor  # (B, T, D) content features
    phone_lengths: torch.Tensor  # (B,)
    pitch: torch.Tensor  # (B, T) coarse pitch bins 1..255
    pitchf: torch.Tensor  # (B, T) F0 in Hz, 0 where unvoiced
    spec: torch.Tensor  # (B, F, T) linear magnitude
    spec_lengths: torch.Tensor  # (B,)
    wave: torch.Tensor  # (B, 1, T * hop)
    sid: torch.Tensor  # (B,)


def make_batch(version: str) -> Batch:
    """Deterministic inputs (a seeded generator; the same on every run of this torch)."""
    gen = torch.Generator().manual_seed(20241205)
    hop = TINY_RVC_CONFIG["data"]["hop_length"]
    n_freq = TINY_RVC_CONFIG["data"]["filter_length"] // 2 + 1
    lengths = torch.tensor(LENGTHS, dtype=torch.long)
    phone = torch.randn(BATCH, FRAMES, FEATURE_DIMS[version], generator=gen)
    pitch = torch.randint(1, 256, (BATCH, FRAMES), generator=gen)
    pitchf = 100.0 + 300.0 * torch.rand(BATCH, FRAMES, generator=gen)
    pitchf[:, 3] = 0.0  # an unvoiced frame: the source switches to noise there
    spec = 0.01 + torch.rand(BATCH, n_freq, FRAMES, generator=gen)
    wave = 0.5 * torch.tanh(torch.randn(BATCH, 1, FRAMES * hop, generator=gen))
    sid = torch.tensor([0, 2], dtype=torch.long)
    return Batch(phone, lengths, pitch, pitchf, spec, lengths.clone(), wave, sid)


@dataclass
class Draws:
    """Random tensors drawn through ``torch.rand`` / ``torch.randn_like``, in call order."""

    calls: list[tuple[str, torch.Tensor]] = field(default_factory=list)

    def to_json(self) -> list[dict[str, Any]]:
        return [
            {"fn": fn, "shape": list(t.shape), "values": t.flatten().tolist()}
            for fn, t in self.calls
        ]

    @classmethod
    def from_json(cls, items: list[Mapping[str, Any]]) -> Draws:
        return cls(
            [
                (str(i["fn"]), torch.tensor(i["values"], dtype=torch.float32).view(i["shape"]))
                for i in items
            ]
        )


@contextmanager
def recording(draws: Draws) -> Iterator[None]:
    """Let ``torch.rand`` / ``torch.randn_like`` draw as usual and record what they return."""
    rand, randn_like = torch.rand, torch.randn_like

    def wrap(name: str, fn: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
        def recorded(*args: Any, **kwargs: Any) -> torch.Tensor:
            out = fn(*args, **kwargs)
            draws.calls.append((name, out.detach().clone()))
            return out

        return recorded

    torch.rand = wrap("rand", rand)
    torch.randn_like = wrap("randn_like", randn_like)
    try:
        yield
    finally:
        torch.rand, torch.randn_like = rand, randn_like


@contextmanager
def replaying(draws: Draws) -> Iterator[list[tuple[str, tuple[int, ...]]]]:
    """Answer ``torch.rand`` / ``torch.randn_like`` with the recorded draws, in order; each
    call must ask for the recorded function and shape. Yields the calls seen (to check that
    all were consumed)."""
    rand, randn_like = torch.rand, torch.randn_like
    queue = list(draws.calls)
    seen: list[tuple[str, tuple[int, ...]]] = []

    def take(name: str, shape: tuple[int, ...], like: torch.Tensor | None) -> torch.Tensor:
        if not queue:
            raise AssertionError(f"unexpected extra draw {name}{shape}")
        fn, value = queue.pop(0)
        seen.append((name, shape))
        if (fn, tuple(value.shape)) != (name, shape):
            raise AssertionError(f"draw {name}{shape} where the fork drew {fn}{tuple(value.shape)}")
        return value.clone() if like is None else value.to(like.dtype, copy=True)

    def fake_rand(*size: Any, **kwargs: Any) -> torch.Tensor:
        shape = tuple(size[0]) if len(size) == 1 and not isinstance(size[0], int) else size
        return take("rand", tuple(int(s) for s in shape), None)

    def fake_randn_like(x: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        return take("randn_like", tuple(x.shape), x)

    torch.rand = fake_rand
    torch.randn_like = fake_randn_like  # type: ignore[assignment]
    try:
        yield seen
    finally:
        torch.rand, torch.randn_like = rand, randn_like
    if queue:
        raise AssertionError(f"{len(queue)} recorded draws were not used")
