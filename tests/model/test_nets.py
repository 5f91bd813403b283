"""`build_nets`: the fork registry that names every trained network of a config's model."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")

import torch  # noqa: E402

from vitscfg.model import build_models, build_nets  # noqa: E402
from vitscfg.model.discriminators import MultiPeriodDiscriminator  # noqa: E402
from vitscfg.model.nets import NET_BUILDERS, nets_dialect, register_nets  # noqa: E402
from vitscfg.model.synthesizer import SynthesizerTrn  # noqa: E402

pytestmark = pytest.mark.torch

ConfigFactory = Callable[..., dict[str, Any]]
CONFIGS = Path(__file__).resolve().parents[1] / "fixtures" / "shared_configs"


def _shapes(module: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    return {key: tuple(value.shape) for key, value in module.state_dict().items()}


def test_vits_nets_equal_build_models() -> None:
    path = CONFIGS / "jaywalnut310__vits__configs_vctk_base.json"
    with torch.device("meta"):
        nets = build_nets(path)
        generator, discriminator = build_models(path)
    assert set(nets) == {"G", "D"}
    assert isinstance(nets["G"], SynthesizerTrn)
    assert isinstance(nets["D"], MultiPeriodDiscriminator)
    assert _shapes(nets["G"]) == _shapes(generator)
    assert _shapes(nets["D"]) == _shapes(discriminator)


def test_dialect_detection_and_fallback(tiny_config: ConfigFactory) -> None:
    assert nets_dialect(tiny_config()) == "vits"
    assert nets_dialect(tiny_config(), "vitscfg") == "vitscfg"
    # A fork without its own builder gets the VITS model (the proxy).
    assert "so-vits-svc-fork" not in NET_BUILDERS
    assert nets_dialect(tiny_config(), "so-vits-svc-fork") == "vits"


def test_n_vocab_override(tiny_config: ConfigFactory) -> None:
    with torch.device("meta"):
        nets = build_nets(tiny_config(), n_vocab=7)
    assert nets["G"].state_dict()["enc_p.emb.weight"].shape[0] == 7


def test_register_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="already has a network builder"):
        register_nets("vits")(lambda config, n_vocab: {})


def test_not_an_object() -> None:
    with pytest.raises(ValueError, match="JSON object"):
        build_nets([1, 2])  # type: ignore[arg-type]
