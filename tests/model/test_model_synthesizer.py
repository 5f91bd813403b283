"""End-to-end generator/discriminator behaviour on a tiny config: one full training step
(D then G, as the reference), mixed precision, inference lengths, speakers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

pytest.importorskip("torch")

import torch  # noqa: E402

from vitscfg.model import build_models  # noqa: E402
from vitscfg.model.commons import slice_segments  # noqa: E402
from vitscfg.model.discriminators import MultiPeriodDiscriminator  # noqa: E402
from vitscfg.model.duration import DurationPredictor  # noqa: E402
from vitscfg.model.hparams import ModelHParams  # noqa: E402
from vitscfg.model.losses import (  # noqa: E402
    discriminator_loss,
    duration_loss,
    feature_loss,
    generator_loss,
    kl_loss,
    mel_loss,
)
from vitscfg.model.mel import mel_spectrogram, spec_to_mel, spectrogram  # noqa: E402
from vitscfg.model.synthesizer import SynthesizerTrn  # noqa: E402

pytestmark = pytest.mark.torch

ConfigFactory = Callable[..., dict[str, Any]]


def _batch(
    hp: ModelHParams, device: str = "cpu", n_frames: tuple[int, int] = (40, 27)
) -> dict[str, Any]:
    """Random text and audio; the spectrogram is computed from the audio as the loader does."""
    text_lengths = torch.tensor([12, 7])
    text = torch.randint(1, hp.n_vocab, (2, 12)) * (torch.arange(12) < text_lengths[:, None])
    spec_lengths = torch.tensor(n_frames)
    audio = (torch.rand(2, max(n_frames) * hp.hop_length) * 2 - 1) * 0.5
    spec = spectrogram(audio, hp.filter_length, hp.hop_length, hp.win_length)
    batch = {
        "text": text,
        "text_lengths": text_lengths,
        "spec": spec,
        "spec_lengths": spec_lengths,
        "audio": audio.unsqueeze(1),
        "sid": torch.tensor([0, 2]) if hp.n_speakers > 1 else None,
    }
    return {k: v.to(device) if v is not None else None for k, v in batch.items()}


def _generator_pass(
    gen: SynthesizerTrn, batch: dict[str, Any], autocast_dtype: torch.dtype | None = None
) -> tuple[Any, torch.Tensor, dict[str, torch.Tensor]]:
    """Generator forward + mel + the D-free losses (mel, KL, duration), as the reference."""
    hp = gen.hp
    device = batch["text"].device.type
    with torch.autocast(
        device, dtype=autocast_dtype or torch.bfloat16, enabled=autocast_dtype is not None
    ):
        out = gen(
            batch["text"], batch["text_lengths"], batch["spec"], batch["spec_lengths"], batch["sid"]
        )
        mel = spec_to_mel(
            batch["spec"], hp.filter_length, hp.n_mel_channels, hp.sampling_rate, hp.mel_fmin, None
        )
        y_mel = slice_segments(mel, out.ids_slice, hp.segment_frames)
        y_hat_mel = mel_spectrogram(
            out.audio.squeeze(1),
            hp.filter_length,
            hp.n_mel_channels,
            hp.sampling_rate,
            hp.hop_length,
            hp.win_length,
            hp.mel_fmin,
            None,
        )
        y = slice_segments(batch["audio"], out.ids_slice * hp.hop_length, out.audio.size(-1))
    losses = {
        "mel": mel_loss(y_mel, y_hat_mel) * 45,
        "kl": kl_loss(out.z_p, out.logs_q, out.m_p, out.logs_p, out.y_mask),
        "dur": duration_loss(out.dur_loss),
        "y_hat_mel": y_hat_mel,
        "audio": out.audio,
    }
    return out, y, losses


def _train_step(
    gen: SynthesizerTrn,
    disc: MultiPeriodDiscriminator,
    batch: dict[str, Any],
    autocast_dtype: torch.dtype | None = None,
) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Reference order: G forward, D step on detached audio, G step; the models run under
    autocast when ``autocast_dtype`` is given, the losses always in fp32.

    Returns the losses and the names of discriminator parameters that got no gradient in
    the D step.
    """
    device = batch["text"].device.type
    autocast = torch.autocast(
        device, dtype=autocast_dtype or torch.bfloat16, enabled=autocast_dtype is not None
    )
    out, y, losses = _generator_pass(gen, batch, autocast_dtype)
    with autocast:
        real, fake, _, _ = disc(y, out.audio.detach())
    losses["d"], _, _ = discriminator_loss(real, fake)
    torch.autograd.backward(losses["d"])
    disc_missing = [
        n for n, p in disc.named_parameters() if p.grad is None or p.grad.abs().sum() == 0
    ]
    for param in disc.parameters():
        param.grad = None  # as the reference's optim_d.zero_grad() before the next D step

    with autocast:
        _, fake, fmap_r, fmap_g = disc(y, out.audio)
    losses["gen"], _ = generator_loss(fake)
    losses["fm"] = feature_loss(fmap_r, fmap_g)
    loss_g = losses["gen"] + losses["fm"] + losses["mel"] + losses["kl"] + losses["dur"]
    torch.autograd.backward(loss_g)
    return losses, disc_missing


def _perturb_zero_init(module: torch.nn.Module) -> None:
    """Zero-initialised projections block gradients to the layers before them at step 0."""
    with torch.no_grad():
        for name, param in module.named_parameters():
            if param.abs().sum() == 0 and name.rsplit(".", 1)[-1] in ("weight", "bias"):
                param.normal_(0.0, 0.1)


def _missing_grads(module: torch.nn.Module) -> list[str]:
    return [n for n, p in module.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]


def test_gradients_reach_every_parameter(tiny_config: ConfigFactory) -> None:
    """One D step and one G step (fp32): every parameter of both models gets a gradient."""
    gen, disc = build_models(tiny_config(data__n_speakers=3, model__gin_channels=4))
    _perturb_zero_init(gen)
    losses, disc_missing = _train_step(gen, disc, _batch(gen.hp))
    for name in ("d", "gen", "fm", "mel", "kl", "dur"):
        assert torch.isfinite(losses[name]), name
    assert not disc_missing, disc_missing
    assert not _missing_grads(gen), _missing_grads(gen)


def test_gradients_deterministic_duration_resblock2(tiny_config: ConfigFactory) -> None:
    """The other generator variant; the D-free losses already reach every G parameter."""
    config = tiny_config(
        model__use_sdp=False, model__resblock="2", model__resblock_dilation_sizes=[[1, 3], [1, 3]]
    )
    gen = SynthesizerTrn(ModelHParams.from_config(config))
    _perturb_zero_init(gen)
    _, _, losses = _generator_pass(gen, _batch(gen.hp))
    torch.autograd.backward(losses["mel"] + losses["kl"] + losses["dur"])
    assert not _missing_grads(gen), _missing_grads(gen)


def test_training_outputs_are_consistent(tiny_config: ConfigFactory) -> None:
    gen = SynthesizerTrn(ModelHParams.from_config(tiny_config()))
    batch = _batch(gen.hp)
    out = gen(batch["text"], batch["text_lengths"], batch["spec"], batch["spec_lengths"])
    hp = gen.hp
    assert out.audio.shape == (2, 1, hp.segment_frames * hp.hop_length)
    assert out.attn.shape == (2, 1, 40, 12)
    # Every valid frame is aligned to exactly one token, and padding to none.
    assert out.attn.sum((2, 3)).squeeze(1).tolist() == [40, 27]
    assert torch.all(out.attn.sum(-1)[1, 0, 27:] == 0)
    # Frames per token add up to the spectrogram length (the duration targets).
    assert out.attn.sum(2).sum(-1).squeeze(1).tolist() == [40, 27]
    assert out.m_p.shape == out.z_p.shape == out.logs_q.shape == (2, hp.inter_channels, 40)
    assert torch.all(out.ids_slice + hp.segment_frames <= batch["spec_lengths"])
    assert out.dur_loss.shape == (2,)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=["bf16", "fp16"])
def test_autocast_cpu_step_has_no_nan(tiny_config: ConfigFactory, dtype: torch.dtype) -> None:
    """A full D + G step under CPU autocast: finite fp32 losses and finite gradients."""
    gen, disc = build_models(tiny_config(data__n_speakers=3, model__gin_channels=4))
    _perturb_zero_init(gen)
    try:
        losses, _ = _train_step(gen, disc, _batch(gen.hp), autocast_dtype=dtype)
    except (RuntimeError, NotImplementedError) as err:  # pragma: no cover - depends on the build
        if dtype == torch.float16:
            pytest.skip(f"CPU autocast fp16 unsupported by this torch build: {err}")
        raise
    assert losses["audio"].dtype == dtype  # the decoder really ran in low precision
    assert losses["y_hat_mel"].dtype == torch.float32  # mel always in fp32
    for name in ("d", "gen", "fm", "mel", "kl", "dur"):
        assert losses[name].dtype == torch.float32
        assert torch.isfinite(losses[name]), name
    for module in (gen, disc):
        for name, param in module.named_parameters():
            assert param.grad is not None and torch.isfinite(param.grad).all(), name


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=["bf16", "fp16"])
def test_autocast_cuda_step_has_no_nan(tiny_config: ConfigFactory, dtype: torch.dtype) -> None:
    """The same step on CUDA with the reference-width discriminator."""
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    gen, disc = build_models(tiny_config(model__discriminator_width=1.0))
    gen, disc = gen.cuda(), disc.cuda()
    losses, _ = _train_step(gen, disc, _batch(gen.hp, "cuda"), autocast_dtype=dtype)
    assert losses["y_hat_mel"].dtype == torch.float32
    for name in ("d", "gen", "fm", "mel", "kl", "dur"):
        assert torch.isfinite(losses[name]), name
    for module in (gen, disc):
        for name, param in module.named_parameters():
            assert param.grad is not None and torch.isfinite(param.grad).all(), name


def test_inference_length_is_sum_of_durations(tiny_config: ConfigFactory) -> None:
    gen = SynthesizerTrn(ModelHParams.from_config(tiny_config(model__use_sdp=False))).eval()
    # Deterministic predictor forced to log(3): every token lasts exactly 3 frames.
    assert isinstance(gen.dp, DurationPredictor) and gen.dp.proj.bias is not None
    with torch.no_grad():
        gen.dp.proj.weight.zero_()
        gen.dp.proj.bias.fill_(torch.log(torch.tensor(3.0)).item() - 1e-4)
    batch = _batch(gen.hp)
    out = gen.infer(batch["text"], batch["text_lengths"])
    assert out.durations.sum((1, 2)).tolist() == [36, 21]
    assert out.lengths.tolist() == [36, 21]
    assert out.audio.shape == (2, 1, 36 * gen.hp.hop_length)
    assert out.attn.shape == (2, 1, 36, 12)
    slow = gen.infer(batch["text"], batch["text_lengths"], length_scale=2.0)
    assert slow.lengths.tolist() == [72, 42]


def test_sdp_inference_lengths_and_bf16(tiny_config: ConfigFactory) -> None:
    hp = ModelHParams.from_config(tiny_config(data__n_speakers=3, model__gin_channels=4))
    gen = SynthesizerTrn(hp).eval()
    batch = _batch(gen.hp)
    out = gen.infer(batch["text"], batch["text_lengths"], sid=batch["sid"])
    lengths = out.durations.sum((1, 2)).clamp(min=1).long()
    assert torch.equal(out.lengths, lengths)
    assert out.audio.size(-1) == int(lengths.max()) * gen.hp.hop_length
    assert torch.isfinite(out.audio).all()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = gen.infer(batch["text"], batch["text_lengths"], sid=batch["sid"])
    assert torch.isfinite(low.audio.float()).all()
    assert low.audio.size(-1) == int(low.lengths.max()) * gen.hp.hop_length
    with pytest.raises(ValueError, match="pass sid"):
        gen.infer(batch["text"], batch["text_lengths"])
    converted = gen.voice_conversion(
        batch["spec"], batch["spec_lengths"], batch["sid"], torch.tensor([1, 1])
    )
    assert converted.shape == (2, 1, 40 * gen.hp.hop_length)


def _fit_steps(config: dict[str, Any], steps: int) -> list[float]:
    """Seeded G-only optimisation on one fixed batch; returns the mel loss per step."""
    torch.manual_seed(1234)
    gen = SynthesizerTrn(ModelHParams.from_config(config))
    optim = torch.optim.AdamW(gen.parameters(), 2e-3, betas=(0.8, 0.99), eps=1e-9)
    batch = _batch(gen.hp)
    history = []
    for _ in range(steps):
        _, _, losses = _generator_pass(gen, batch)
        optim.zero_grad()
        torch.autograd.backward(losses["mel"] + losses["kl"] + losses["dur"])
        optim.step()
        history.append(float(losses["mel"].detach()))
    return history


def test_seeded_runs_repeat_and_learn(tiny_config: ConfigFactory) -> None:
    """Same seed -> same losses (no unseeded randomness), and the mel loss goes down."""
    config = tiny_config(model__p_dropout=0.0)
    first = _fit_steps(config, 6)
    assert _fit_steps(config, 2) == first[:2]
    assert min(first[-2:]) < 0.7 * first[0], first
