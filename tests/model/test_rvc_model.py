"""RVC's generator at tiny sizes: shapes of training and conversion, and clear errors."""

from __future__ import annotations

import copy

import pytest

pytest.importorskip("torch")

import torch  # noqa: E402

from tests.model.rvc_golden import TINY_RVC_CONFIG, make_batch  # noqa: E402
from vitscfg.model.rvc import RvcHParams, RvcSynthesizer, RvcVariant  # noqa: E402

pytestmark = pytest.mark.torch

HOP = TINY_RVC_CONFIG["data"]["hop_length"]
SEGMENT = TINY_RVC_CONFIG["train"]["segment_size"]


def _generator(version: str, f0: bool) -> RvcSynthesizer:
    torch.manual_seed(0)
    hp = RvcHParams.from_config(copy.deepcopy(TINY_RVC_CONFIG), RvcVariant(version, f0))  # type: ignore[arg-type]
    return RvcSynthesizer(hp)


@pytest.mark.parametrize(("version", "f0"), [("v1", True), ("v2", False)])
def test_train_and_convert_shapes(version: str, f0: bool) -> None:
    g = _generator(version, f0)
    b = make_batch(version)
    pitch = (b.pitch, b.pitchf) if f0 else (None, None)
    out = g(b.phone, b.phone_lengths, b.spec, b.spec_lengths, b.sid, *pitch)
    assert tuple(out.audio.shape) == (2, 1, SEGMENT)
    assert tuple(out.z_p.shape) == tuple(out.m_p.shape) == (2, 8, 12)
    assert float(out.y_mask[1, 0, 10:].abs().sum()) == 0.0  # the shorter item is masked
    audio, x_mask = g.infer(b.phone, b.phone_lengths, b.sid, *pitch)
    assert tuple(audio.shape) == (2, 1, 12 * HOP) and tuple(x_mask.shape) == (2, 1, 12)
    assert torch.isfinite(audio).all() and float(audio.abs().max()) <= 1.0


def test_pitch_models_need_pitch() -> None:
    g = _generator("v2", True)
    b = make_batch("v2")
    with pytest.raises(ValueError, match="pitch-conditioned"):
        g(b.phone, b.phone_lengths, b.spec, b.spec_lengths, b.sid)
    with pytest.raises(ValueError, match="needs pitchf"):
        g.infer(b.phone, b.phone_lengths, b.sid, pitch=b.pitch)


def test_missing_speaker_table_size_is_named() -> None:
    config = copy.deepcopy(TINY_RVC_CONFIG)
    del config["model"]["spk_embed_dim"]
    with pytest.raises(ValueError, match="model.spk_embed_dim"):
        RvcHParams.from_config(config, None)
