"""State-dict compatibility with jaywalnut310/vits checkpoints.

The fixtures list every key and shape of the reference SynthesizerTrn / MultiPeriodDiscriminator
for the three reference configs. They were derived by hand from the reference architecture
(models.py, modules.py, attentions.py), independently of vitscfg's modules.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")

import torch  # noqa: E402

from vitscfg.model import build_models  # noqa: E402
from vitscfg.model.checkpoint_compat import (  # noqa: E402
    load_reference_checkpoint,
    load_reference_state,
    reference_checkpoint,
)
from vitscfg.model.discriminators import MultiPeriodDiscriminator  # noqa: E402
from vitscfg.model.hparams import ModelHParams  # noqa: E402
from vitscfg.model.synthesizer import SynthesizerTrn  # noqa: E402

pytestmark = pytest.mark.torch

ConfigFactory = Callable[..., dict[str, Any]]

FIXTURES = Path(__file__).parent / "fixtures"
CONFIGS = Path(__file__).resolve().parents[1] / "fixtures" / "shared_configs"
REFERENCE = ("ljs_base", "ljs_nosdp", "vctk_base")
# (generator, discriminator) parameter counts of the reference models.
PARAM_COUNTS = {
    "ljs_base": (36_321_072, 46_747_132),
    "ljs_nosdp": (35_349_761, 46_747_132),
    "vctk_base": (39_700_208, 46_747_132),
}


def _config_path(name: str) -> Path:
    return CONFIGS / f"jaywalnut310__vits__configs_{name}.json"


def _shapes(module: torch.nn.Module) -> dict[str, list[int]]:
    return {key: list(value.shape) for key, value in module.state_dict().items()}


@pytest.mark.parametrize("name", REFERENCE)
def test_state_dict_matches_reference(name: str) -> None:
    # Built on the meta device: shapes only, no memory, no random init (fast).
    with torch.device("meta"):
        generator, discriminator = build_models(_config_path(name))
    for tag, module in (("G", generator), ("D", discriminator)):
        expected = json.loads((FIXTURES / f"{name}_{tag}.json").read_text())
        got = _shapes(module)
        missing = sorted(set(expected) - set(got))
        unexpected = sorted(set(got) - set(expected))
        assert not missing and not unexpected, (tag, missing[:5], unexpected[:5])
        wrong = {k: (expected[k], got[k]) for k in expected if expected[k] != got[k]}
        assert not wrong, (tag, wrong)
        assert sum(math.prod(shape) for shape in expected.values()) == sum(
            math.prod(shape) for shape in got.values()
        )
    counts = tuple(sum(p.numel() for p in m.parameters()) for m in (generator, discriminator))
    assert counts == PARAM_COUNTS[name]


def test_spectral_norm_keys() -> None:
    with torch.device("meta"):
        disc = MultiPeriodDiscriminator(use_spectral_norm=True)
    shapes = _shapes(disc)
    assert shapes["discriminators.0.convs.1.weight_orig"] == [64, 4, 41]
    assert shapes["discriminators.0.convs.1.weight_u"] == [64]
    assert shapes["discriminators.0.convs.1.weight_v"] == [4 * 41]
    assert shapes["discriminators.3.convs.2.weight_orig"] == [512, 128, 5, 1]
    assert shapes["discriminators.3.convs.2.weight_v"] == [128 * 5]
    assert not any(key.endswith("weight_g") for key in shapes)


def test_no_deprecation_warning_on_build(
    tiny_config: ConfigFactory, recwarn: pytest.WarningsRecorder
) -> None:
    with torch.device("meta"):
        build_models(tiny_config())
    assert not [w for w in recwarn if issubclass(w.category, (FutureWarning, DeprecationWarning))]


def test_load_reference_dict_strict_with_ddp_prefix(tiny_config: ConfigFactory) -> None:
    source = SynthesizerTrn(ModelHParams.from_config(tiny_config()))
    target = SynthesizerTrn(ModelHParams.from_config(tiny_config()))
    state = {f"module.{k}": v for k, v in source.state_dict().items()}
    load_reference_state(target, {"model": state, "iteration": 3, "learning_rate": 2e-4})
    for key, value in source.state_dict().items():
        assert torch.equal(value, target.state_dict()[key]), key

    broken = dict(source.state_dict())
    broken.pop("enc_p.emb.weight")
    with pytest.raises(RuntimeError, match="enc_p.emb.weight"):
        load_reference_state(target, {"model": broken})
    with pytest.raises(ValueError, match="not a VITS checkpoint"):
        load_reference_state(target, {"state_dict": broken})


def test_reference_checkpoint_file_roundtrip(tmp_path: Path, tiny_config: ConfigFactory) -> None:
    generator = SynthesizerTrn(ModelHParams.from_config(tiny_config()))
    optimizer = torch.optim.AdamW(generator.parameters(), 2e-4, betas=(0.8, 0.99), eps=1e-9)
    path = tmp_path / "G_100.pth"
    torch.save(reference_checkpoint(generator, optimizer, epoch=7, learning_rate=2e-4), path)
    fresh = SynthesizerTrn(ModelHParams.from_config(tiny_config()))
    checkpoint = load_reference_checkpoint(fresh, path)
    assert set(checkpoint) == {"model", "iteration", "optimizer", "learning_rate"}
    assert checkpoint["iteration"] == 7
    key = "dec.conv_pre.weight"
    assert torch.equal(fresh.state_dict()[key], generator.state_dict()[key])


@pytest.mark.parametrize("width", [0.5, 0.25, 0.125])
def test_narrow_discriminator_keeps_the_reference_keys(width: float) -> None:
    """model.discriminator_width shrinks every channel count (parameters ~ width**2) but
    keeps the state-dict keys and the layer structure of the reference discriminator."""
    with torch.device("meta"):
        full = _shapes(MultiPeriodDiscriminator())
        narrow = _shapes(MultiPeriodDiscriminator(width=width))
    assert list(narrow) == list(full)
    for key, shape in full.items():
        assert len(narrow[key]) == len(shape), key
        if key.endswith(("weight", "weight_v")) and shape[0] > 1:
            assert narrow[key][0] == max(1, round(shape[0] * width)), key
    params = sum(math.prod(s) for s in narrow.values())
    reference = sum(math.prod(s) for s in full.values())
    assert 0.5 * width**2 < params / reference < 2 * width**2
