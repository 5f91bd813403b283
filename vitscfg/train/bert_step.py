"""ONE training step of the Bert-VITS2 family, as each fork's train script runs it: what
`vitscfg estimate` traces for Bert-VITS2 2.x, Style-Bert-VITS2 (train_ms.py and
train_ms_jp_extra.py) and MeloTTS configs (vitscfg does not train them: their inputs are
per-phone BERT features it cannot produce).

Common order: G forward under autocast (Bert-VITS2 and Style-Bert-VITS2: bfloat16 when
``train.bf16_run``; MeloTTS: float16 when ``train.fp16_run``) with the alignment noise of
this step; real mel from the linear spectrogram, fake mel from the decoded audio (float32),
both cut at G's random window; D on (real, fake.detach()); the duration discriminator's
LSGAN loss, backward and AdamW step; D's backward and step; D and the duration
discriminator again on G's live outputs; mel L1 x c_mel + KL x c_kl + both duration
predictors' losses + adversarial + feature matching (+ the WavLM terms); G's backward and
step; the grad scaler updates once. What differs, by ``BertFlavour``:

- Bert-VITS2 2.x: the duration discriminator (LSTM) judges the deterministic prediction and
  the stochastic predictor's sample, given the speaker vector, and sums their probabilities;
  the WavLM discriminator steps *after* D; the generator adds the WavLM feature-matching
  and adversarial terms. With bf16 it clips D's gradient norm at 200 and G's at 500.
- Style-Bert-VITS2 (train_ms.py) and MeloTTS: the duration discriminator takes
  ``(states, mask, predicted, target)`` without the speaker vector, so its "real" side is
  the prediction and the generator's term judges the alignment target (the scripts' order,
  kept); no WavLM.
- Style-Bert-VITS2 JP-Extra: the duration discriminator (LSTM) as Bert-VITS2's but on the
  deterministic prediction only; the WavLM discriminator (``model.use_wavlm_discriminator``)
  steps *before* D; the WavLM terms join G's loss only when a duration discriminator is
  trained too (the script adds them in that branch; they are computed either way); G's
  gradient norm is clipped at 500 always.

Losses are LSGAN as in VITS; the duration discriminators' outputs are (B, T, 1) tensors that
the forks' list-based losses iterate over the batch (one term per item, summed), kept here.
The frozen WavLM is a `vitscfg.model.bert_slm.SlmJudge` passed by the caller.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from vitscfg.model import losses as L
from vitscfg.model.bert_slm import (
    SlmJudge,
    build_slm_judge,
    slm_discriminator_loss,
    slm_feature_loss,
    slm_generator_loss,
)
from vitscfg.model.bert_synthesizer import (
    BertOptions,
    BertSynthesizer,
    BertTextInputs,
    BertTrainOutput,
)
from vitscfg.model.bert_vits2 import bert_hparams, bert_variant
from vitscfg.model.commons import slice_segments
from vitscfg.model.hparams import ModelHParams
from vitscfg.train.fork_settings import MelStepSettings
from vitscfg.train.mel_pair import fake_mel, real_mel


class BertFlavour(enum.Enum):
    """Which train script's step."""

    BERT_VITS2 = "bert-vits2"  # fishaudio/Bert-VITS2 train_ms.py
    STYLE = "style-bert-vits2"  # litagin02/Style-Bert-VITS2 train_ms.py
    JP_EXTRA = "style-bert-vits2-jp-extra"  # its train_ms_jp_extra.py
    MELOTTS = "melotts"  # myshell-ai/MeloTTS melo/train.py

    @classmethod
    def of(cls, config: Mapping[str, Any], dialect: str) -> BertFlavour:
        if dialect == "style-bert-vits2":
            jp_extra = config.get("data", {}).get("use_jp_extra") is True
            return cls.JP_EXTRA if jp_extra else cls.STYLE
        return cls.MELOTTS if dialect == "melotts" else cls.BERT_VITS2


#: The scripts' fixed alignment-noise schedule: 0.01 - 2e-6 x step, floored at 0.
MAS_NOISE_INITIAL, MAS_NOISE_DELTA = 0.01, 2e-6
#: Gradient-norm clips: D and G with bf16 (Bert-VITS2, Style-Bert-VITS2); JP-Extra's G always.
D_CLIP, G_CLIP = 200.0, 500.0


def mas_noise_scale(global_step: int) -> float:
    """The alignment noise of step ``global_step`` (the generator applies it only when
    ``model.use_noise_scaled_mas``)."""
    return max(MAS_NOISE_INITIAL - MAS_NOISE_DELTA * global_step, 0.0)


@dataclass(frozen=True)
class BertStepSettings(MelStepSettings):
    """The config values the family's step reads, its flavour and autocast dtype."""

    flavour: BertFlavour = BertFlavour.BERT_VITS2
    half: torch.dtype | None = None  # autocast dtype, None: fp32

    @classmethod
    def from_config(
        cls, config: Mapping[str, Any], dialect: str, precision: str = "fp32"
    ) -> BertStepSettings:
        """``precision``: the builder's ("fp32", "fp16", "bf16"), from the config's switch."""
        half = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(precision)
        return cls(
            **MelStepSettings.read(config), flavour=BertFlavour.of(config, dialect), half=half
        )

    @property
    def clip_d(self) -> float | None:
        bf16 = self.half is torch.bfloat16 and self.flavour is not BertFlavour.MELOTTS
        return D_CLIP if bf16 else None

    @property
    def clip_g(self) -> float | None:
        if self.flavour is BertFlavour.JP_EXTRA:
            return G_CLIP
        return G_CLIP if self.clip_d is not None else None


@dataclass
class BertBatch:
    """A padded batch as the family's collate returns it."""

    text: torch.Tensor  # (B, T) phone ids
    text_lengths: torch.Tensor  # (B,)
    spec: torch.Tensor  # (B, F, T_spec) linear magnitude
    spec_lengths: torch.Tensor  # (B,)
    wav: torch.Tensor  # (B, 1, T_spec * hop)
    wav_lengths: torch.Tensor  # (B,)
    sid: torch.Tensor | None  # (B,) long
    inputs: BertTextInputs  # tones, languages, BERT features (per phone), style vector

    def tensors(self) -> list[torch.Tensor]:
        """Every tensor of the batch (live before the step)."""
        side = [self.inputs.tone, self.inputs.language, *self.inputs.berts]
        if self.inputs.style is not None:
            side.append(self.inputs.style)
        fields = [self.text, self.text_lengths, self.spec, self.spec_lengths, self.wav]
        return [*fields, self.wav_lengths, *([self.sid] if self.sid is not None else []), *side]


def bert_trace_batch(
    hp: ModelHParams,
    options: BertOptions,
    batch_size: int,
    text_len: int,
    frames: int,
    device: torch.device,
) -> BertBatch:
    """A worst-case batch: every item ``text_len`` phones (with their BERT features, one
    vector per phone) and ``frames`` frames; finite values (silence, a flat spectrogram,
    zero features), so a real probe step meets no NaNs."""
    b, t = batch_size, text_len
    full = torch.full((b,), 0, dtype=torch.long, device=device)
    zeros = torch.zeros(b, t, dtype=torch.long, device=device)
    berts = [torch.zeros(b, width, t, device=device) for _, width in options.bert_inputs]
    style = None
    if options.style_channels is not None:
        style = torch.zeros(b, options.style_channels, device=device)
    samples = frames * hp.hop_length
    return BertBatch(
        text=torch.zeros(b, t, dtype=torch.long, device=device),
        text_lengths=full + t,
        spec=torch.full((b, hp.spec_channels, frames), 1e-3, device=device),
        spec_lengths=full + frames,
        wav=torch.zeros(b, 1, samples, device=device),
        wav_lengths=full + samples,
        sid=torch.zeros(b, dtype=torch.long, device=device) if hp.n_speakers >= 1 else None,
        inputs=BertTextInputs(zeros, zeros.clone(), berts, style),
    )


@dataclass
class BertStepResult:
    """Losses under the forks' log names (0-d, detached) and the gradient norms they log
    (after unscaling and any clipping, before each optimizer step)."""

    losses: dict[str, torch.Tensor]
    grad_norms: dict[str, torch.Tensor]


def _norm(net: nn.Module, clip: float | None) -> torch.Tensor:
    params = [p for p in net.parameters() if p.grad is not None]
    if not params:
        return torch.zeros(())
    if clip is not None:
        torch.nn.utils.clip_grad_norm_(params, clip)
    return torch.nn.utils.get_total_norm([p.grad for p in params if p.grad is not None])


def _update(
    name: str,
    loss: torch.Tensor,
    nets: Mapping[str, nn.Module],
    optimizers: Mapping[str, torch.optim.Optimizer],
    scaler: Any,
    norms: dict[str, torch.Tensor],
    clip: float | None = None,
) -> None:
    """One network's update as the scripts write it: zero_grad, scaled backward, unscale,
    (clip,) step."""
    optimizer = optimizers[name]
    optimizer.zero_grad()
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    norms[name] = _norm(nets[name], clip)
    scaler.step(optimizer)


def _dur_probs(
    flavour: BertFlavour, dd: nn.Module, out: BertTrainOutput, detach: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """(real, fake) probabilities (B, T, 1) of the duration discriminator, called as the
    flavour's script calls it (see the module doc)."""

    def d(t: torch.Tensor) -> torch.Tensor:
        return t.detach() if detach else t

    x, mask = d(out.hidden_x), d(out.x_mask)
    if flavour in (BertFlavour.STYLE, BertFlavour.MELOTTS):
        real, fake = dd(x, mask, d(out.logw), d(out.logw_target))
        return real, fake
    real, fake = dd(x, mask, d(out.logw_target), d(out.logw), d(out.g))
    if flavour is BertFlavour.BERT_VITS2:
        assert out.logw_sdp is not None
        real_sdp, fake_sdp = dd(x, mask, d(out.logw_target), d(out.logw_sdp), d(out.g))
        real, fake = real + real_sdp, fake + fake_sdp
    return real, fake


def bert_train_step(
    nets: Mapping[str, nn.Module],
    optimizers: Mapping[str, torch.optim.Optimizer],
    batch: BertBatch,
    settings: BertStepSettings,
    scaler: Any,
    judge: SlmJudge | None = None,
    global_step: int = 0,
) -> BertStepResult:
    """Update "DurDisc" and "WavLMDisc" (when built), "D" and "G" on ``batch`` in the
    flavour's order. ``nets``/``optimizers``: by the names of `vitscfg.model.build_nets`;
    ``judge``: the frozen WavLM, needed when "WavLMDisc" is present. ``global_step``:
    optimizer steps taken so far (the alignment noise decays with it)."""
    net_g, net_d = nets["G"], nets["D"]
    generator = getattr(net_g, "module", net_g)
    if not isinstance(generator, BertSynthesizer):
        raise TypeError(f"the Bert-VITS2 step needs its generator, got {type(generator).__name__}")
    has_dd, has_wd = "DurDisc" in nets, "WavLMDisc" in nets
    if has_wd and judge is None:
        raise ValueError("the WavLM discriminator needs the frozen WavLM (judge)")
    s, flavour = settings, settings.flavour
    device = batch.spec.device.type
    norms: dict[str, torch.Tensor] = {}

    def autocast() -> contextlib.AbstractContextManager[None]:
        # No autocast object in fp32: meta tensors (traces) have no autocast.
        if s.half is None:
            return contextlib.nullcontext()
        return torch.autocast(device, dtype=s.half)

    def wavlm_disc_update() -> None:
        assert judge is not None
        with autocast():
            real, fake = y.squeeze(1), out.audio.detach().squeeze(1)
            loss = slm_discriminator_loss(judge, nets["WavLMDisc"], real, fake)
        losses["wd/total"] = loss
        _update("WavLMDisc", loss, nets, optimizers, scaler, norms)

    with autocast():
        out = net_g(
            batch.text,
            batch.text_lengths,
            batch.spec,
            batch.spec_lengths,
            batch.sid,
            batch.inputs,
            mas_noise_scale=mas_noise_scale(global_step),
        )
        mel = real_mel(batch.spec, s)
        frames = s.segment_size // s.hop_length
        y_mel = slice_segments(mel, out.ids_slice, frames)
        y_hat_mel = fake_mel(out.audio.squeeze(1).float(), s)
        y = slice_segments(batch.wav, out.ids_slice * s.hop_length, s.segment_size)
        real, fake, _, _ = net_d(y, out.audio.detach())
        loss_disc = L.discriminator_loss(real, fake)[0]
        losses = {"d/total": loss_disc}
        if has_dd:
            p_real, p_fake = _dur_probs(flavour, nets["DurDisc"], out, detach=True)
            loss_dd = L.discriminator_loss(list(p_real.unbind(0)), list(p_fake.unbind(0)))[0]
            losses["dur_disc/total"] = loss_dd
            _update("DurDisc", loss_dd, nets, optimizers, scaler, norms)
        if has_wd and flavour is BertFlavour.JP_EXTRA:
            wavlm_disc_update()

    _update("D", loss_disc, nets, optimizers, scaler, norms, s.clip_d)
    if has_wd and flavour is BertFlavour.BERT_VITS2:
        wavlm_disc_update()

    with autocast():
        _, fake, fmap_real, fmap_fake = net_d(y, out.audio)
        if has_dd:
            p_fake = _dur_probs(flavour, nets["DurDisc"], out, detach=False)[1]
        if has_wd and flavour is BertFlavour.JP_EXTRA:
            assert judge is not None
            losses["g/lm"] = slm_feature_loss(judge, y.detach().squeeze(1), out.audio.squeeze(1))
            losses["g/lm_gen"] = slm_generator_loss(judge, nets["WavLMDisc"], out.audio.squeeze(1))
        losses["g/dur"] = L.duration_loss(out.dur_loss)
        losses["g/mel"] = L.mel_loss(y_mel, y_hat_mel) * s.c_mel
        losses["g/kl"] = L.kl_loss(out.z_p, out.logs_q, out.m_p, out.logs_p, out.y_mask) * s.c_kl
        losses["g/fm"] = L.feature_loss(fmap_real, fmap_fake)
        losses["g/gen"] = L.generator_loss(fake)[0]
        if has_wd and flavour is BertFlavour.BERT_VITS2:
            assert judge is not None
            losses["g/lm"] = slm_feature_loss(judge, y.detach().squeeze(1), out.audio.squeeze(1))
            losses["g/lm_gen"] = slm_generator_loss(judge, nets["WavLMDisc"], out.audio.squeeze(1))
        loss_g = losses["g/gen"] + losses["g/fm"] + losses["g/mel"]
        loss_g = loss_g + losses["g/dur"] + losses["g/kl"]
        if has_wd and (flavour is BertFlavour.BERT_VITS2 or has_dd):
            loss_g = loss_g + losses["g/lm"] + losses["g/lm_gen"]
        if has_dd:
            losses["g/dur_gen"] = L.generator_loss(list(p_fake.unbind(0)))[0]
            loss_g = loss_g + losses["g/dur_gen"]
        losses["g/total"] = loss_g

    _update("G", loss_g, nets, optimizers, scaler, norms, s.clip_g)
    scaler.update()
    return BertStepResult({k: v.detach() for k, v in losses.items()}, norms)


def bert_fork_batch(
    config: Mapping[str, Any],
    dialect: str,
    batch_size: int,
    frames: int,
    device: torch.device,
    text_len: int = 1,
) -> BertBatch:
    """`bert_trace_batch` for a ``dialect`` config (the estimator's fork-step entry)."""
    hp, options = bert_hparams(config, bert_variant(config, dialect))
    return bert_trace_batch(hp, options, batch_size, text_len, frames, device)


def bert_fork_run(config: Mapping[str, Any], dialect: str, parts: Any, batch: BertBatch) -> Any:
    """The step on the builder's parts (``nets``, ``optimizers``, ``scaler``,
    ``step.precision``), in the steady state of a loop (the first step's alignment noise).
    The frozen WavLM is built here, inside the step, with its real shapes (random values):
    a trace counts its ~94 M parameters as the step's."""
    settings = BertStepSettings.from_config(config, dialect, parts.step.precision)
    judge = None
    if "WavLMDisc" in parts.nets:
        device = next(parts.nets["WavLMDisc"].parameters()).device
        with torch.device(device):
            judge = build_slm_judge(config)
    return bert_train_step(parts.nets, parts.optimizers, batch, settings, parts.scaler, judge)
