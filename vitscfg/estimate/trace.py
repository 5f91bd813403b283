"""Peak tensor memory of the trainer's own step (`vitscfg.train.step.train_step`), traced.

Why this module exists: the estimator's prediction is only worth something if it is about
exactly the code `vitscfg train` runs, so nothing here re-implements the step or its state.
The state comes from the trainer's own builder (`vitscfg.train.state.build_step_state`); it
is put in the steady state of a training loop (gradients of the previous step still
allocated, AdamW moments created), a worst-case batch is made (every item at the longest
text and spectrogram) and `train_step` runs under a :class:`StorageTracker`.

Two backends supply the tensors, each a small module: meta.py (``meta`` tensors, C++
shape functions: the fast path) and fake.py (FakeTensorMode, the fall-back where meta
cannot emulate the step; with ``fake=False`` real CPU tensors, the ground truth of the
tests). Both run :func:`trace_step_peaks` here, in a disposable child process
(children.py).

Fake CUDA cannot run autograd without a GPU (the process aborts), so a trace always runs
CPU or meta tensors; a CUDA target only changes what can be emulated from the outside:
512-byte block rounding, AdamW's foreach path (the CUDA default) and CUDA's autocast
policy (meta_autocast.py).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch

from vitscfg.config.schema.train import VitsTrain
from vitscfg.estimate.tracker import StorageTracker
from vitscfg.train.state import StepParts

#: CUDA caching allocator minimum block size (c10/cuda/CUDACachingAllocator.cpp kMinBlockSize).
CUDA_BLOCK_BYTES = 512


@dataclass(frozen=True)
class StepConfig:
    """A checked config as the step builder reads it: the mapping (model sizes), its typed
    `train` section (hyper-parameters, with the schema's defaults) and its dialect (which
    networks). Picklable: it travels to the trace processes."""

    config: Mapping[str, Any]
    train: VitsTrain
    dialect: str | None = None

    @classmethod
    def of(cls, config: Mapping[str, Any], dialect: str | None = None) -> StepConfig:
        """Read ``config``'s train section with ``dialect``'s schema."""
        from vitscfg.config.typed import dialect_settings

        return cls(dict(config), dialect_settings(config, dialect), dialect)

    def with_segment(self, segment_size: int) -> StepConfig:
        """The same config with another train.segment_size."""
        config = dict(self.config)
        config["train"] = {**dict(self.config.get("train") or {}), "segment_size": segment_size}
        train = self.train.model_copy(update={"segment_size": segment_size})
        return StepConfig(config, train, self.dialect)


class ModelBuildError(Exception):
    """The config passes `check`, yet the model builders refuse one of its values (a
    decoder, flow or vocoder type vitscfg does not build, a key a fork's network needs):
    a problem of the config, said in one message rather than as a failed trace."""


def _built(build: Callable[[], StepParts]) -> StepParts:
    try:
        return build()
    except KeyError as exc:
        raise ModelBuildError(
            f"the model needs the key {exc.args[0]!r}, which is missing"
        ) from None
    except (TypeError, ValueError) as exc:
        raise ModelBuildError(str(exc)) from None


@dataclass(frozen=True)
class StepPoint:
    """One traced configuration: a batch of ``batch_size`` items, all at the worst case."""

    batch_size: int
    segment_size: int  # waveform samples (train.segment_size)
    text_len: int  # token ids per item (after cleaning and add_blank)
    spec_frames: int  # spectrogram frames per item


@dataclass(frozen=True)
class StepPeak:
    point: StepPoint
    precision: str
    peak_bytes: int  # live tensor bytes at the worst moment of the step
    start_bytes: int  # live tensor bytes when the step starts (model state + batch)
    seconds: float  # CPU time of the traced step (not a speed prediction)
    # The autocast policy the trace applied: "none" (fp32), "cpu" or "cuda" (meta_autocast.py).
    autocast: str = "none"
    backend: str = "fake"  # the tensors that ran: "meta", "fake" or "real"


def _warm_caches(hp: Any, device: torch.device) -> None:
    """Fill the mel filterbank / window caches before any trace: an lru_cache filled inside
    FakeTensorMode would hand fake tensors to the real trainer, and one filled inside the
    traced step would count the cached tensors as step memory (they are not, in the real
    run, once the first step has filled the cache)."""
    from vitscfg.model.mel import hann_window, mel_filterbank

    mel_filterbank(
        hp.filter_length, hp.n_mel_channels, hp.sampling_rate, hp.mel_fmin, hp.mel_fmax, device
    )
    hann_window(hp.win_length, device)


def make_batch(hp: Any, point: StepPoint, gen: torch.Generator | None = None) -> Any:
    """A worst-case batch: every item at the longest text and spectrogram."""
    from vitscfg.train.step import Batch

    b, t_text, t_spec = point.batch_size, point.text_len, point.spec_frames
    n_wav = t_spec * hp.hop_length
    full = torch.full((b,), 0, dtype=torch.long)
    text = torch.randint(1, max(2, hp.n_vocab), (b, t_text), generator=gen)
    spec = torch.rand(b, hp.spec_channels, t_spec, generator=gen) + 1e-3
    wav = torch.rand(b, 1, n_wav, generator=gen) * 2 - 1
    sid = torch.zeros(b, dtype=torch.long) if hp.n_speakers > 1 else None
    return Batch(text, full + t_text, spec, full + t_spec, wav, full + n_wav, sid)


def _batch_tensors(batch: Any) -> list[torch.Tensor]:
    fields = (batch.text, batch.text_lengths, batch.spec, batch.spec_lengths, batch.wav)
    return [*fields, batch.wav_lengths, *([batch.sid] if batch.sid is not None else [])]


def state_tensors(parts: StepParts) -> list[torch.Tensor]:
    """Tensors that outlive a step, in the order the builder (and so the probe) creates
    them: every parameter, buffer and tensor attribute of each network, then per parameter
    its gradient and AdamW state."""
    out: list[torch.Tensor] = []
    for net in parts.nets.values():
        out.extend(net.parameters())
        out.extend(net.buffers())
        # Plain tensor attributes live across steps too: weight_norm's computed ``weight``
        # is replaced by each forward, so the step frees the old one and keeps a new one.
        for module in net.modules():
            out.extend(v for v in vars(module).values() if isinstance(v, torch.Tensor))
    for name, net in parts.nets.items():
        opt = parts.optimizers[name]
        for p in net.parameters():
            if p.grad is not None:
                out.append(p.grad)
            out.extend(v for v in opt.state.get(p, {}).values() if isinstance(v, torch.Tensor))
    return out


def _adam_state(p: torch.Tensor) -> dict[str, torch.Tensor]:
    """The per-parameter state AdamW's first step creates (torch/optim/adam.py ``_init_group``,
    non-capturable, non-fused): a 0-d float32 step counter on the CPU and two moments shaped
    like the parameter. Creating it directly costs 3 ops per parameter instead of a traced
    optimiser step (~12 ops per parameter), the largest part of a fake build."""
    return {
        "step": torch.tensor(0.0, dtype=torch.float32, device="cpu"),
        "exp_avg": torch.zeros_like(p, memory_format=torch.preserve_format),
        "exp_avg_sq": torch.zeros_like(p, memory_format=torch.preserve_format),
    }


def steady_parts(
    step: StepConfig,
    precision: str,
    device: torch.device,
    foreach: bool | None,
    init_scale: float | None = None,
) -> StepParts:
    """The trainer's step state (its own builder), in the steady state of a loop that has
    already stepped once: every parameter has a gradient and AdamW has its moments (created
    directly, see :func:`_adam_state`). ``foreach``, ``init_scale``: as the builder's."""
    from vitscfg.train.state import build_step_state

    parts = build_step_state(
        step.config,
        step.train,
        precision,
        device,
        dialect=step.dialect,
        foreach=foreach,
        init_scale=init_scale,
    )
    for name, net in parts.nets.items():
        for p in net.parameters():
            p.grad = torch.zeros_like(p)
            parts.optimizers[name].state[p] = _adam_state(p)
    return parts


def trace_step_peaks(
    step: StepConfig,
    precision: str,
    points: Sequence[StepPoint],
    mode: Callable[[], contextlib.AbstractContextManager[Any]],
    device: torch.device,
    *,
    round_to: int = 1,
    foreach: bool = False,
    seed: int = 0,
    backend: str = "fake",
) -> list[StepPeak]:
    """The loop shared by every backend: ``mode()`` is entered around each state build and
    its steps; the state and batches are created on ``device`` (cpu: real or fake tensors,
    meta: shapes only). Points with the same segment size share one build (the build
    depends on it only through the decoder window). Peaks in point order."""
    from vitscfg.model.hparams import ModelHParams
    from vitscfg.train.fork_steps import fork_step
    from vitscfg.train.step import train_step

    # A fork with its own step (vitscfg/train/fork_steps.py: RVC, so-vits-svc, VITS2) runs
    # it on its own worst-case batch.
    fork = fork_step(step.dialect)
    _warm_caches(ModelHParams.from_config(step.config), device)
    results: dict[int, StepPeak] = {}
    by_segment: dict[int, list[int]] = {}
    for i, p in enumerate(points):
        by_segment.setdefault(p.segment_size, []).append(i)
    torch.manual_seed(seed)
    placed: Callable[[], contextlib.AbstractContextManager[Any]] = (
        contextlib.nullcontext if device.type == "cpu" else lambda: torch.device(device)
    )
    for segment, indices in by_segment.items():
        segment_step = step.with_segment(segment)
        with mode():
            with placed():
                parts = _built(partial(steady_parts, segment_step, precision, device, foreach))
            for i in indices:
                point = points[i]
                with placed():
                    batch = (
                        fork.make_batch(
                            segment_step.config,
                            point.batch_size,
                            point.spec_frames,
                            device,
                            text_len=point.text_len,
                        )
                        if fork
                        else make_batch(parts.step.hp, point)
                    )
                counter = StorageTracker(round_to)
                counter.track(state_tensors(parts))
                counter.track(fork.batch_tensors(batch) if fork else _batch_tensors(batch))
                start = counter.live
                t0 = time.process_time()
                last = parts.step.micro_batches - 1  # with accumulation: the one that steps
                with counter:
                    if fork:
                        result = fork.run(segment_step.config, parts, batch)
                    else:
                        result = train_step(parts.step, batch, micro_index=last)
                del result  # the step's outputs die before the next step: part of it
                seconds = time.process_time() - t0
                results[i] = StepPeak(
                    point, precision, counter.peak, start, seconds, backend=backend
                )
                del batch, counter
            del parts
        gc.collect()
    return [results[i] for i in range(len(points))]


def with_autocast(peaks: list[StepPeak], policy: str) -> list[StepPeak]:
    """``peaks`` marked with the autocast policy their trace applied."""
    return [dataclasses.replace(x, autocast=policy) for x in peaks]
