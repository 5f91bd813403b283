"""What the fork step-peak benches (bench/*_step_peak.py) share: the optimizer and a loop's
steady state (gradients and AdamW moments), the traced peak of a step on meta tensors, the
host-free stand-ins for the forks' per-item slicing, the GAN half of a VITS train script's
step, and the table of peaks per batch size.

A "step" here is a callable on a batch dict with two attributes: ``params`` (the tensors
that exist before it runs) and ``make_batch(batch_size, frames)``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import torch

GIB = 1024**3
META = torch.device("meta")
Step = Callable[[dict[str, Any]], Any]


def adamw(params: Any, train: dict[str, Any]) -> torch.optim.AdamW:
    """AdamW as the train scripts make it, from the config's train section."""
    return torch.optim.AdamW(
        params, train["learning_rate"], betas=tuple(train["betas"]), eps=train["eps"]
    )


def steady_adamw(
    nets: dict[str, Any],
) -> tuple[dict[str, torch.optim.Optimizer], list[torch.Tensor]]:
    """AdamW per network (the VITS defaults: 2e-4, betas (0.8, 0.99), eps 1e-9), every
    parameter with a gradient and moments, as in the steady state of a loop; the live tensors."""
    opts: dict[str, torch.optim.Optimizer] = {
        k: torch.optim.AdamW(n.parameters(), 2e-4, betas=(0.8, 0.99), eps=1e-9)
        for k, n in nets.items()
    }
    live: list[torch.Tensor] = []
    for k, net in nets.items():
        net.train()
        for p in net.parameters():
            p.grad = torch.zeros_like(p)
            state = {
                "step": torch.tensor(0.0),
                "exp_avg": torch.zeros_like(p),
                "exp_avg_sq": torch.zeros_like(p),
            }
            opts[k].state[p] = state
            live += [p, p.grad, state["exp_avg"], state["exp_avg_sq"]]
        live += list(net.buffers())
        for m in net.modules():
            live += [v for v in vars(m).values() if isinstance(v, torch.Tensor)]
    return opts, live


def warm_filterbank(data: dict[str, Any]) -> None:
    """Make the config's cached mel filterbank (vitscfg.model.mel) on the CPU now: it is real
    data, made outside a fake mode, and then read from the cache inside it."""
    from vitscfg.model.mel import mel_filterbank

    mel_filterbank(
        data["filter_length"],
        data["n_mel_channels"],
        data["sampling_rate"],
        data["mel_fmin"],
        data["mel_fmax"],
        torch.device("cpu"),
    )


def first_frames(x: torch.Tensor, ids: Any, size: int = 4) -> torch.Tensor:
    """The forks' ``slice_segments`` on (B, C, T), cut at frame 0: their per-item slicing reads
    start indices on the host, which meta tensors cannot give; the copy sizes are the same."""
    ret = torch.zeros_like(x[:, :, :size])
    for i in range(x.size(0)):
        ret[i] = x[i, :, :size]
    return ret


def first_frames_2d(x: torch.Tensor, ids: Any, size: int = 4) -> torch.Tensor:
    """``first_frames`` for (B, T) inputs (the forks' pitch slicing)."""
    ret = torch.zeros_like(x[:, :size])
    for i in range(x.size(0)):
        ret[i] = x[i, :size]
    return ret


def gan_step(
    losses: Any,
    nets: tuple[Any, Any],
    optims: tuple[torch.optim.Optimizer, torch.optim.Optimizer],
    train: dict[str, Any],
    wave: torch.Tensor,
    y_hat: torch.Tensor,
    mels: tuple[torch.Tensor, torch.Tensor],
    latents: tuple[torch.Tensor, ...],
    z_mask: torch.Tensor,
    extra_loss: torch.Tensor | None = None,
) -> Any:
    """A VITS train script's step after the generator's forward, in its order: D on (real,
    fake.detach()), its update, then G's losses (adversarial, feature matching, mel, KL and
    the fork's ``extra_loss``) through the updated D and G's update. ``losses``: the fork's
    losses module; ``nets`` / ``optims``: (G, D); ``mels``: (target, generated)."""
    net_g, net_d = nets
    optim_g, optim_d = optims
    y_mel, y_hat_mel = mels
    _, z_p, m_p, logs_p, _, logs_q = latents
    y_d_hat_r, y_d_hat_g, _, _ = net_d(wave, y_hat.detach())
    loss_disc, _, _ = losses.discriminator_loss(y_d_hat_r, y_d_hat_g)
    optim_d.zero_grad()
    loss_disc.backward()
    optim_d.step()
    y_d_hat_r, y_d_hat_g, fmap_r, fmap_g = net_d(wave, y_hat)
    loss_mel = torch.nn.functional.l1_loss(y_mel, y_hat_mel) * train["c_mel"]
    loss_kl = losses.kl_loss(z_p, logs_q, m_p, logs_p, z_mask) * train["c_kl"]
    loss_fm = losses.feature_loss(fmap_r, fmap_g)
    loss_gen, _ = losses.generator_loss(y_d_hat_g)
    loss_gen_all = loss_gen + loss_fm + loss_mel + loss_kl
    if extra_loss is not None:
        loss_gen_all = loss_gen_all + extra_loss
    optim_g.zero_grad()
    loss_gen_all.backward()
    optim_g.step()
    return loss_gen_all


@contextlib.contextmanager
def meta_items() -> Iterator[None]:
    """``Tensor.item`` on a meta tensor answers 0 (the fork's loss logging reads values)."""
    original = torch.Tensor.item

    def item(self: torch.Tensor) -> Any:
        return 0.0 if self.is_meta else original(self)

    torch.Tensor.item = item  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        torch.Tensor.item = original  # type: ignore[method-assign]


def traced_peak(step: Step, batch: dict[str, Any]) -> tuple[int, int]:
    """(peak bytes of the second step, bytes live at its start)."""
    from vitscfg.estimate.tracker import StorageTracker

    tracker = StorageTracker()
    tracker.track(step.params)  # type: ignore[attr-defined]
    tracker.track(t for t in batch.values() if isinstance(t, torch.Tensor) and t.is_meta)
    with tracker, meta_items():
        step(batch)  # creates Adam state and gradients
        start = tracker.live
        tracker.reset_peak()
        step(batch)
    return tracker.peak, start


def peak_rows(
    sides: list[tuple[str, Callable[[], Step]]], batches: list[int], frames: int
) -> list[dict[str, Any]]:
    """For each batch size, every side's traced peak (built fresh, under fp32 meta mode), and
    vitscfg's ratio to the fork's; each row is printed as JSON as it is done."""
    from vitscfg.estimate.meta import meta_mode

    mode = meta_mode("fp32")  # C++ meta kernels, torch.autocast on meta (this process only)
    rows = []
    for batch_size in batches:
        row: dict[str, Any] = {"batch": batch_size, "frames": frames}
        for name, build in sides:
            with mode():
                step = build()
                batch = step.make_batch(batch_size, frames)  # type: ignore[attr-defined]
                peak, start = traced_peak(step, batch)
            row[name] = {"peak_gib": round(peak / GIB, 3), "start_gib": round(start / GIB, 3)}
        if "fork" in row:
            row["ratio"] = round(row["vitscfg"]["peak_gib"] / row["fork"]["peak_gib"], 4)
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows
