"""Validation for the trainer: metrics over the WHOLE validation set, audio for a few
fixed utterances (the reference evaluates one batch and logs one utterance).

The reference evaluates one utterance and computes no metric, so a user cannot tell a
healthy run from a stuck one. Here every eval reports, averaged per utterance:

- ``mel_l1``: L1 between the log-mel of the real audio and of the audio decoded from
  the posterior latent of the WHOLE utterance (not a random 32-frame window, so it is
  comparable from one eval to the next). Unweighted: the training log shows it x c_mel.
- ``kl``: the KL term of the training loss (per frame, unweighted by c_kl).
- ``dur``: the duration-predictor loss.

No extra metric (mel-cepstral distortion, spectral convergence): each would need
another STFT pass per utterance for information mel L1 already carries. Everything
runs in float32 with dropout off, under a forked RNG seeded with the same value each
time: the posterior sample and the window choice are identical from eval to eval, and
the training RNG is untouched (exact resume does not depend on when evals happened).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch.utils.data import DataLoader

from vitscfg.data.batch import Batch as DataBatch
from vitscfg.data.batch import collate
from vitscfg.data.dataset import TextAudioDataset
from vitscfg.model import losses as L
from vitscfg.model.hparams import ModelHParams
from vitscfg.model.synthesizer import SynthesizerTrn
from vitscfg.train.mel_pair import fake_mel, target_mel
from vitscfg.train.step import Batch

EVAL_SEED = 1234  # fixed: the same posterior noise at every eval
SAMPLES = 4  # validation utterances whose audio goes to TensorBoard
INFER_MAX_FRAMES = 1000  # the reference's cap on generated frames in eval
# Synthesis settings of the audio samples (the reference eval used 1.0 for all three;
# these are the values people listen with, also `vitscfg synth`'s defaults).
NOISE_SCALE, NOISE_SCALE_W, LENGTH_SCALE = 0.667, 0.8, 1.0


def to_step_batch(b: DataBatch, device: torch.device, multi_speaker: bool) -> Batch:
    """The dataset's collate output as the training step's Batch (they differ in field
    names, in ``sid`` being None for one speaker and in ``ids`` being a list)."""
    return Batch(
        b.text,
        b.text_lengths,
        b.spec,
        b.spec_lengths,
        b.wave,
        b.wave_lengths,
        b.sid if multi_speaker else None,
        [int(i) for i in b.ids.tolist()],
    ).to(device)


@dataclass
class EvalSample:
    index: int  # dataset index in the validation set
    audio: torch.Tensor  # (T,) generated from text, CPU float32
    mel: torch.Tensor  # (n_mels, frames) of the generated audio
    alignment: torch.Tensor  # (T_text, frames) predicted path
    gt_audio: torch.Tensor  # (T,) the recording
    gt_mel: torch.Tensor  # (n_mels, frames)


@dataclass
class EvalResult:
    metrics: dict[str, float]
    samples: list[EvalSample] = field(default_factory=list)
    utterances: int = 0
    seconds: float = 0.0


def _speaker(
    net_g: SynthesizerTrn, hp: ModelHParams, sid: torch.Tensor | None
) -> torch.Tensor | None:
    if hp.n_speakers <= 1 or sid is None:
        return None
    g: torch.Tensor = net_g.emb_g(sid).unsqueeze(-1)
    return g


def _masked_l1(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per-item mean |a - b| over valid frames; a, b: (B, C, T), mask (B, 1, T)."""
    diff = (a - b).abs() * mask
    return diff.sum((1, 2)) / (mask.sum((1, 2)) * a.shape[1]).clamp_min(1)


@torch.no_grad()
def evaluate(
    net_g: SynthesizerTrn,
    dataset: TextAudioDataset,
    hp: ModelHParams,
    device: torch.device,
    *,
    batch_size: int,
    sample_indices: Sequence[int] = (),
) -> EvalResult:
    """Metrics over every validation utterance, then audio for ``sample_indices``.
    ``net_g`` is the bare generator (not DDP); its train/eval mode is restored."""
    start = time.perf_counter()
    was_training = net_g.training
    net_g.eval()
    sums = {"mel_l1": 0.0, "kl": 0.0, "dur": 0.0}
    count = 0
    devices = [device] if device.type == "cuda" else []
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, collate_fn=collate)
    try:
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(EVAL_SEED)
            for raw in loader:
                b = to_step_batch(raw, device, hp.n_speakers > 1)
                out = net_g(b.text, b.text_lengths, b.spec, b.spec_lengths, b.sid)
                y_hat = net_g.dec(out.z * out.y_mask, g=_speaker(net_g, hp, b.sid))
                mel = target_mel(b.spec, hp)
                mel_hat = fake_mel(y_hat.squeeze(1), hp)
                frames = min(mel.shape[-1], mel_hat.shape[-1])
                mask = out.y_mask[..., :frames].float()
                items = b.text.shape[0]
                mel_l1 = _masked_l1(mel[..., :frames], mel_hat[..., :frames], mask)
                sums["mel_l1"] += float(mel_l1.sum())
                kl = L.kl_loss(out.z_p, out.logs_q, out.m_p, out.logs_p, out.y_mask)
                sums["kl"] += float(kl) * items
                sums["dur"] += float(L.duration_loss(out.dur_loss)) * items
                count += items
            samples = [_sample(net_g, dataset, hp, device, i) for i in sample_indices]
    finally:
        net_g.train(was_training)
    metrics = {k: v / max(count, 1) for k, v in sums.items()}
    return EvalResult(metrics, samples, count, time.perf_counter() - start)


def _sample(
    net_g: SynthesizerTrn,
    dataset: TextAudioDataset,
    hp: ModelHParams,
    device: torch.device,
    i: int,
) -> EvalSample:
    """Synthesise validation utterance ``i`` from its text alone (what a user hears)."""
    item = dataset[i]
    text = item.text.unsqueeze(0).to(device)
    lengths = torch.tensor([text.shape[1]], device=device)
    sid = item.sid.view(1).to(device) if hp.n_speakers > 1 else None
    out = net_g.infer(
        text,
        lengths,
        sid,
        noise_scale=NOISE_SCALE,
        length_scale=LENGTH_SCALE,
        noise_scale_w=NOISE_SCALE_W,
        max_len=INFER_MAX_FRAMES,
    )
    audio = out.audio[0, 0, : int(out.lengths[0]) * hp.hop_length].float()
    mel = fake_mel(audio.unsqueeze(0), hp)[0]
    gt_mel = target_mel(item.spec.unsqueeze(0), hp)[0]
    return EvalSample(
        index=i,
        audio=audio.clamp(-1, 1).cpu(),
        mel=mel.cpu(),
        alignment=out.attn[0, 0].transpose(0, 1).float().cpu(),
        gt_audio=item.wave[0].cpu(),
        gt_mel=gt_mel.cpu(),
    )
