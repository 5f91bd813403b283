"""Peak tensor memory of the trainer's own step (`vitscfg.train.step.train_step`), traced.

Why this module exists: the estimator's prediction is only worth something if it is about
exactly the code `vitscfg train` runs, so nothing here re-implements the step. It builds the
real models (`build_models`), the real optimisers (`make_optimizers`) and a GradScaler, puts
them in the steady state of a training loop (gradients of the previous step still allocated,
AdamW moments created), makes a worst-case batch (every item at the longest text and
spectrogram) and runs `train_step` under a :class:`StorageTracker`.

With ``fake=True`` everything lives in a ``FakeTensorMode``: shapes, dtypes and storage
lifetimes are exact, no data is computed, and the cost is per op, independent of the batch
size. With ``fake=False`` the same code runs on real CPU tensors; that is the ground truth
the tests compare the fake prediction with. The same loop on ``meta`` tensors
(:func:`trace_step_peaks`, used by meta.py) gives the fake trace's bytes ~20x faster in
fp32, and the real CPU step's bytes with autocast (meta_autocast.py); the fake trace stays
the path where that emulation cannot be installed.

Fake CUDA cannot run autograd without a GPU (the process aborts, estimator.md 2.1), so the
trace always uses CPU tensors; a CUDA target only changes what can be emulated from the
outside: 512-byte block rounding and AdamW's foreach path (the CUDA default).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from vitscfg.estimate.allocator import StepTrace, replay_steps
from vitscfg.estimate.tracker import StorageTracker

#: CUDA caching allocator minimum block size (c10/cuda/CUDACachingAllocator.cpp kMinBlockSize).
CUDA_BLOCK_BYTES = 512


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
    # With ``allocator=True``: the step's allocations (allocator.StepTrace) and the CUDA
    # caching allocator's reserved bytes after the state is built and two such steps ran.
    trace: StepTrace | None = None
    reserved_bytes: int = 0
    # The autocast policy the trace applied: "none" (fp32), "cpu" or "cuda" (meta_autocast.py).
    autocast: str = "none"


class _ScalarDefault(TorchDispatchMode):
    """Answer data-dependent scalar reads of fake tensors with zero.

    The only one in the step is GradScaler's ``found_inf.item()``: zero means "no overflow",
    so the optimisers always step and their state exists, which is the steady-state worst
    case (a real fp16 run skips the first steps, estimator.md 2.3).
    """

    def __torch_dispatch__(
        self,
        func: Any,
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        from torch._subclasses.fake_tensor import DataDependentOutputException

        try:
            return func(*args, **(kwargs or {}))
        except DataDependentOutputException:
            if func is not torch.ops.aten._local_scalar_dense.default:
                raise
            dtype = args[0].dtype
            if dtype == torch.bool:
                return False
            return 0.0 if dtype.is_floating_point else 0


def config_precisions(config: Mapping[str, Any]) -> list[str]:
    """The precision(s) a config trains in: fp16_run / bf16_run, else fp32."""
    train = config.get("train") or {}
    out = [p for p, key in (("fp16", "fp16_run"), ("bf16", "bf16_run")) if train.get(key)]
    return out or ["fp32"]


def with_segment(config: Mapping[str, Any], segment_size: int) -> dict[str, Any]:
    """A shallow copy of the config with another train.segment_size."""
    copy = dict(config)
    copy["train"] = {**dict(config.get("train") or {}), "segment_size": segment_size}
    return copy


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


def state_tensors(state: Any) -> list[torch.Tensor]:
    """Tensors that outlive a step, in the order `build_state` (and so the probe) creates
    them: every parameter, buffer and tensor attribute, then per parameter its gradient and
    AdamW state."""
    out: list[torch.Tensor] = []
    for net in (state.net_g, state.net_d):
        out.extend(net.parameters())
        out.extend(net.buffers())
        # Plain tensor attributes live across steps too: weight_norm's computed ``weight``
        # is replaced by each forward, so the step frees the old one and keeps a new one.
        for module in net.modules():
            out.extend(v for v in vars(module).values() if isinstance(v, torch.Tensor))
    for net, opt in ((state.net_g, state.optim_g), (state.net_d, state.optim_d)):
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


def build_state(config: Mapping[str, Any], precision: str, *, foreach: bool | None = False) -> Any:
    """Models, optimisers and scaler as the trainer builds them, in the steady state.

    Steady state: after a previous step, every parameter has a gradient and AdamW has its
    moments (created directly, see :func:`_adam_state`); the memory is that of a loop that
    has already stepped once.
    """
    from vitscfg.model import build_models
    from vitscfg.model.hparams import ModelHParams
    from vitscfg.train.step import StepState, make_optimizers

    train = config.get("train") or {}
    hp = ModelHParams.from_config(config)
    net_g, net_d = build_models(config)
    net_g.train()
    net_d.train()
    betas = tuple(train.get("betas", (0.8, 0.99)))
    optim_g, optim_d = make_optimizers(
        net_g,
        net_d,
        float(train.get("learning_rate", 2e-4)),
        (float(betas[0]), float(betas[1])),
        float(train.get("eps", 1e-9)),
    )
    for opt in (optim_g, optim_d):
        for group in opt.param_groups:
            if foreach is not None:  # None: torch's own choice (foreach on CUDA)
                group["foreach"] = foreach
    scaler = torch.amp.GradScaler("cpu", enabled=precision == "fp16")  # type: ignore[attr-defined]
    for net, opt in ((net_g, optim_g), (net_d, optim_d)):
        for p in net.parameters():
            p.grad = torch.zeros_like(p)
            opt.state[p] = _adam_state(p)
    return StepState(
        net_g,
        net_d,
        optim_g,
        optim_d,
        scaler,
        hp,
        float(train.get("c_mel", 45.0)),
        float(train.get("c_kl", 1.0)),
        precision,
    )


@contextlib.contextmanager
def _fake_mode(fake: bool, precision: str) -> Iterator[None]:
    if not fake:
        yield
        return
    from torch._subclasses.fake_tensor import FakeTensorMode

    # Only GradScaler (fp16) reads a scalar; another Python mode layer costs ~5 % per op.
    scalars: contextlib.AbstractContextManager[Any] = (
        _ScalarDefault()  # type: ignore[no-untyped-call]
        if precision == "fp16"
        else contextlib.nullcontext()
    )
    with FakeTensorMode(allow_non_fake_inputs=True), scalars:
        yield


def step_peaks(
    config: Mapping[str, Any],
    precision: str,
    points: Sequence[StepPoint],
    *,
    fake: bool = True,
    round_to: int = 1,
    foreach: bool = False,
    seed: int = 0,
    allocator: bool = False,
) -> list[StepPeak]:
    """Trace (fake) or run (real, CPU) one `train_step` per point; peaks in point order.

    Points with the same segment size share one model build (the build depends on it only
    through the decoder window), so a grid costs one build per segment size plus one step
    per point. The fast path is :func:`vitscfg.estimate.meta.meta_step_peaks`. Fake (and
    real) CPU tensors get CPU autocast's policy.
    """
    peaks = trace_step_peaks(
        config,
        precision,
        points,
        lambda: _fake_mode(fake, precision),
        torch.device("cpu"),
        round_to=round_to,
        foreach=foreach,
        seed=seed,
        allocator=allocator,
    )
    if precision == "fp32":
        return peaks
    return [dataclasses.replace(x, autocast="cpu") for x in peaks]


def trace_step_peaks(
    config: Mapping[str, Any],
    precision: str,
    points: Sequence[StepPoint],
    mode: Callable[[], contextlib.AbstractContextManager[Any]],
    device: torch.device,
    *,
    round_to: int = 1,
    foreach: bool = False,
    seed: int = 0,
    allocator: bool = False,
) -> list[StepPeak]:
    """The loop shared by every backend: ``mode()`` is entered around each model build and
    its steps; models and batches are created on ``device`` (cpu: real or fake tensors,
    meta: shapes only). Peaks in point order."""
    from vitscfg.model.hparams import ModelHParams
    from vitscfg.train.step import train_step

    _warm_caches(ModelHParams.from_config(config), device)
    results: dict[int, StepPeak] = {}
    by_segment: dict[int, list[int]] = {}
    for i, p in enumerate(points):
        by_segment.setdefault(p.segment_size, []).append(i)
    torch.manual_seed(seed)
    placed: Callable[[], contextlib.AbstractContextManager[Any]] = (
        contextlib.nullcontext if device.type == "cpu" else lambda: torch.device(device)
    )
    for segment, indices in by_segment.items():
        with mode():
            with placed():
                state = build_state(with_segment(config, segment), precision, foreach=foreach)
            for i in indices:
                point = points[i]
                with placed():
                    batch = make_batch(state.hp, point)
                events: list[tuple[int, int]] | None = [] if allocator else None
                tracker = StorageTracker(round_to, events)
                tracker.track(state_tensors(state))
                n_state = tracker.seen
                tracker.track(_batch_tensors(batch))
                n_batch = tracker.seen
                start = tracker.live
                t0 = time.process_time()
                with tracker:
                    result = train_step(state, batch)
                del result  # the step's outputs die before the next step: part of it
                seconds = time.process_time() - t0
                peak = StepPeak(point, precision, tracker.peak, start, seconds)
                if events is not None:
                    trace = StepTrace(
                        tuple(n for _, n in events[:n_state]),
                        (*events[n_state:], *((uid, -1) for uid in range(n_state, n_batch))),
                    )
                    reserved = replay_steps([trace, trace]).peak_reserved
                    peak = dataclasses.replace(peak, trace=trace, reserved_bytes=reserved)
                results[i] = peak
                del batch, tracker
            del state
        gc.collect()
    return [results[i] for i in range(len(points))]
