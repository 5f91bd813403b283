"""What every fork's parity fixture and its test share, whatever the fork.

- The tiny sections each fork's golden config starts from (``TINY_TRAIN``, ``TINY_DATA``,
  ``TINY_MODEL``) and ``with_overrides`` for its ``"section.key"`` cases.
- Weights that depend only on each state_dict key (``seeded_state``): not stored (a fork's
  discriminator alone has 47-71 M parameters), each tensor is filled from a generator seeded by
  the CRC-32 of its key, so any model with the same keys and shapes gets the same weights,
  whatever its module order.
- A record/replay of ``torch.rand`` / ``torch.randn_like`` (``Draws``) for a fork whose draws
  come in another order than ours (RVC); the others seed the global generator instead.
- The JSON form of a tensor in a golden (``floats`` / ``tensor``), its comparison
  (``assert_matches``), gradient norms, and the key/shape listing of the keys tests.

``scripts/fixtures_*.py`` run the forks' code with these and write ``tests/model/fixtures/``;
``tests/model/test_*_parity.py`` / ``test_*_keys.py`` run vitscfg's networks and compare.
"""

from __future__ import annotations

import copy
import json
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

#: The vendored shared fork configs (what the keys tests build).
SHARED_CONFIGS = Path(__file__).resolve().parents[1] / "fixtures" / "shared_configs"

#: Sizes every tiny golden config shares: every component exists, a G+D step runs in about a
#: second on 2 cores. Forks add their own keys (appended: key order is that of the fixtures').
TINY_TRAIN: dict[str, Any] = {
    "segment_size": 128,
    "learning_rate": 1e-4,
    "betas": [0.8, 0.99],
    "eps": 1e-9,
    "c_mel": 45,
    "c_kl": 1.0,
}
TINY_DATA: dict[str, Any] = {
    "sampling_rate": 16000,
    "filter_length": 64,
    "hop_length": 16,
    "win_length": 64,
    "n_mel_channels": 20,
    "mel_fmin": 0.0,
    "mel_fmax": None,
}
TINY_MODEL: dict[str, Any] = {
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
}
#: The original VITS's 16-bit PCM scale, which the forks' data sections start with.
MAX_WAV_VALUE = {"max_wav_value": 32768.0}


def tiny_sections(
    train: Mapping[str, Any], data: Mapping[str, Any], model: Mapping[str, Any]
) -> dict[str, Any]:
    """A fresh config: each ``TINY_*`` section updated by the fork's keys (new keys last)."""
    return copy.deepcopy(
        {
            "train": {**TINY_TRAIN, **train},
            "data": {**MAX_WAV_VALUE, **TINY_DATA, **data},
            "model": {**TINY_MODEL, **model},
        }
    )


def with_overrides(config: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of ``config`` with ``{"section.key": value}`` overrides set."""
    out = copy.deepcopy(dict(config))
    for path, value in overrides.items():
        section, key = path.split(".")
        out[section][key] = copy.deepcopy(value)
    return out


def shared_config(name: str) -> dict[str, Any]:
    """A vendored shared fork config, parsed."""
    config: dict[str, Any] = json.loads((SHARED_CONFIGS / name).read_text())
    return config


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


def shapes(module: torch.nn.Module) -> dict[str, list[int]]:
    """Every state_dict key of ``module`` with its shape (what a keys fixture lists)."""
    return {key: list(value.shape) for key, value in module.state_dict().items()}


def shape_diff(ours: Mapping[str, list[int]], theirs: Mapping[str, list[int]]) -> str:
    """The first few keys missing, unexpected or of another shape (an assertion message)."""
    missing = sorted(theirs.keys() - ours.keys())[:5]
    extra = sorted(ours.keys() - theirs.keys())[:5]
    shape = [k for k in sorted(ours.keys() & theirs.keys()) if ours[k] != theirs[k]][:5]
    return f"missing {missing}, unexpected {extra}, shape mismatch {shape}"


def floats(t: torch.Tensor) -> dict[str, Any]:
    """A tensor as a golden stores it: its shape and its float values, flattened."""
    return {"shape": list(t.shape), "values": t.detach().float().flatten().tolist()}


def tensor(entry: Mapping[str, Any], values: str = "values") -> torch.Tensor:
    """The float32 tensor a golden entry (``floats``'s form) stores."""
    return torch.tensor(entry[values], dtype=torch.float32).view(entry["shape"])


def assert_matches(
    name: str, ours: torch.Tensor | None, theirs: torch.Tensor, *, rtol: float, atol: float
) -> None:
    """``ours`` has the golden's shape and values within the tolerances (``name`` on failure)."""
    assert ours is not None, name
    assert tuple(ours.shape) == tuple(theirs.shape), name
    torch.testing.assert_close(
        ours.detach().float(), theirs, rtol=rtol, atol=atol, msg=lambda m: f"{name}: {m}"
    )


def grad_norm(module: torch.nn.Module) -> float:
    """L2 norm over every parameter gradient (a check that backward reached the same places)."""
    grads = [p.grad.detach().float().flatten() for p in module.parameters() if p.grad is not None]
    return float(torch.cat(grads).norm())


def first_outputs(*named: tuple[str, torch.nn.Module]) -> dict[str, Any]:
    """Hooks that keep each module's output of its first call, under its name; the dict fills
    as the modules run."""
    seen: dict[str, Any] = {}

    def keep_first(name: str) -> Any:
        def hook(module: torch.nn.Module, args: Any, output: Any) -> None:
            seen.setdefault(name, output)  # returns None: the output stays as it is

        return hook

    for name, module in named:
        module.register_forward_hook(keep_first(name))
    return seen


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
        return cls([(str(i["fn"]), tensor(i)) for i in items])


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
