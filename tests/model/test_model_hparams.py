"""ModelHParams: explicit fields read from a config mapping, one source for optional defaults."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")

import torch  # noqa: E402

from vitscfg.model import build_models  # noqa: E402
from vitscfg.model.hparams import VITS_ENGLISH_N_SYMBOLS, ModelHParams  # noqa: E402

pytestmark = pytest.mark.torch


def test_reads_sections(tiny_config: Any) -> None:
    hp = ModelHParams.from_config(tiny_config())
    assert hp.n_vocab == VITS_ENGLISH_N_SYMBOLS == 178
    assert hp.spec_channels == 33
    assert hp.segment_frames == 8
    assert hp.upsample_factor == 16
    assert hp.resblock_dilation_sizes == ((1, 3, 5), (1, 3, 5))
    assert (hp.n_speakers, hp.gin_channels, hp.use_sdp, hp.decoder) == (0, 0, True, "hifigan")
    assert hp.mel_fmax is None


def test_n_vocab_from_symbols_or_override(tiny_config: Any) -> None:
    config = tiny_config()
    config["symbols"] = ["_", "a", "b"]
    assert ModelHParams.from_config(config).n_vocab == 3
    assert ModelHParams.from_config(config, n_vocab=42).n_vocab == 42


def test_optional_keys_and_errors(tiny_config: Any) -> None:
    hp = ModelHParams.from_config(
        tiny_config(model__use_sdp=False, model__gin_channels=4, data__n_speakers=3)
    )
    assert (hp.use_sdp, hp.gin_channels, hp.n_speakers) == (False, 4, 3)
    config = tiny_config()
    del config["model"]["hidden_channels"]
    with pytest.raises(ValueError, match="model.hidden_channels"):
        ModelHParams.from_config(config)
    with pytest.raises(ValueError, match="'data' section"):
        ModelHParams.from_config({"model": {}, "train": {}})
    with pytest.raises(ValueError, match="unknown decoder 'wavenet'"):
        build_models(tiny_config(model__decoder="wavenet"))
    # A registered iSTFT decoder needs its geometry, which only an MB-iSTFT builder reads.
    with pytest.raises(ValueError, match="needs the iSTFT geometry"):
        build_models(tiny_config(model__decoder="istft"))


def test_build_models_from_path(tmp_path: Path, tiny_config: Any) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(tiny_config()))
    with torch.device("meta"):
        generator, discriminator = build_models(path)
        from_str, _ = build_models(str(path), n_vocab=10)
    assert generator.enc_p.emb.num_embeddings == 178
    assert from_str.enc_p.emb.num_embeddings == 10
    assert len(discriminator.discriminators) == 6


def test_config_and_lint_do_not_import_the_model() -> None:
    """``vitscfg check`` must stay torch-free: config/lint never import vitscfg.model."""
    code = (
        "import sys, vitscfg.config, vitscfg.lint; "
        "sys.exit(1 if 'vitscfg.model' in sys.modules else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
