#!/usr/bin/env python3
"""Regenerate the VITS2 fixtures from a checkout of p0p4k/vits2_pytorch (never part of this repo).

    git clone https://github.com/p0p4k/vits2_pytorch /tmp/vits2
    git -C /tmp/vits2 checkout 1f4f3790568180f8dec4419d5cad5d0877b034bb
    pip install --target /tmp/forkdeps Cython librosa scipy setuptools
    (cd /tmp/vits2/monotonic_align && PYTHONPATH=/tmp/forkdeps python setup.py build_ext --inplace)
    PYTHONPATH=/tmp/forkdeps .venv/bin/python scripts/fixtures_vits2.py --fork /tmp/vits2

Writes, with the fork's commit recorded in each file:

- ``tests/model/fixtures/vits2_keys.json.gz``: every state_dict key and shape of the fork's
  generator, discriminator and duration discriminator for each shared VITS2 config
  (tests/fixtures/shared_configs/p0p4k__vits2_pytorch__*.json), built as its train scripts
  build them (see ``fork_nets``). Gzipped JSON: ``zcat`` reads it.
- ``tests/model/fixtures/vits2_parity.json.gz``: for each tiny case of
  tests/model/vits2_golden.py, with weights seeded by key name and the global generator seeded
  before the forward pass: the generator's outputs (audio, latents, alignment durations, the
  duration discriminator's inputs and probabilities) and the losses and gradient norms of one
  training step computed in train_ms.py's order (duration discriminator step, discriminator
  step, both with AdamW, then the generator's losses through the updated discriminators).

How the fork's scripts build the networks: ``SynthesizerTrn(len(symbols), posterior_channels,
segment_size // hop_length, n_speakers=data.n_speakers, mas_noise_scale_initial=...,
noise_scale_delta=..., **model)`` with posterior_channels 80 when ``model.use_mel_posterior_
encoder`` (else filter_length // 2 + 1), the MAS noise (0.01, 2e-6) when
``model.use_noise_scaled_mas`` (else 0, 0), ``MultiPeriodDiscriminator(use_spectral_norm)`` and
``DurationDiscriminatorV1/V2(hidden, hidden, 3, 0.1)`` when ``model.use_duration_
discriminator``. The type is ``model.duration_discriminator_type``, defaulting to
``dur_disc_1`` (train_ms.py then replaces it with a list and builds none; we keep the type).
The tiny parity cases give the posterior encoder ``n_mel_channels`` inputs (the model class
takes the width; the script's 80 is a constant for the shipped configs, which have 80 mels).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # also when imported as scripts.*
import fixture_common as fc  # noqa: E402

FORK = "p0p4k/vits2_pytorch"
SHIPPED_MEL_CHANNELS = 80  # train.py / train_ms.py: posterior_channels = 80


class Fork:
    """The fork's modules, imported from a checkout."""

    def __init__(self, path: Path) -> None:
        sys.path.insert(0, str(path))
        import commons
        import losses
        import mel_processing
        import models

        self.models, self.commons, self.losses, self.mel = models, commons, losses, mel_processing
        self.n_vocab = fc.symbol_count(path)
        self.commit = fc.git_commit(path)


def fork_nets(
    fork: Fork, config: dict[str, Any], posterior_channels: int
) -> dict[str, torch.nn.Module]:
    """The fork's networks for ``config`` under vitscfg's names, as its train scripts build them."""
    data, model, train = config["data"], config["model"], config["train"]
    noisy = model.get("use_noise_scaled_mas") is True
    nets: dict[str, torch.nn.Module] = {
        "G": fork.models.SynthesizerTrn(
            fork.n_vocab,
            posterior_channels,
            train["segment_size"] // data["hop_length"],
            n_speakers=data["n_speakers"],
            mas_noise_scale_initial=0.01 if noisy else 0.0,
            noise_scale_delta=2e-6 if noisy else 0.0,
            **model,
        ),
        "D": fork.models.MultiPeriodDiscriminator(model["use_spectral_norm"]),
    }
    if model.get("use_duration_discriminator") is True:
        kind = model.get("duration_discriminator_type", "dur_disc_1")
        cls = {
            "dur_disc_1": fork.models.DurationDiscriminatorV1,
            "dur_disc_2": fork.models.DurationDiscriminatorV2,
        }[kind]
        gin = model.get("gin_channels", 0) if data["n_speakers"] != 0 else 0
        nets["DurDisc"] = cls(model["hidden_channels"], model["hidden_channels"], 3, 0.1, gin)
    return nets


def write_keys(fork: Fork) -> Path:
    configs: dict[str, Any] = {}
    for path in sorted(fc.CONFIGS.glob("p0p4k__vits2_pytorch__*.json")):
        config = json.loads(path.read_text())
        model, data = config["model"], config["data"]
        posterior = (
            SHIPPED_MEL_CHANNELS
            if model.get("use_mel_posterior_encoder") is True
            else data["filter_length"] // 2 + 1
        )
        with torch.device("meta"):
            nets = fork_nets(fork, config, posterior)
        configs[path.name] = {name: fc.shapes(net) for name, net in nets.items()}
    out = fc.FIXTURES / "vits2_keys.json.gz"
    fc.write_gz_json(out, {"fork": FORK, "commit": fork.commit, "configs": configs}, indent=1)
    return out


def floats9(t: torch.Tensor) -> dict[str, Any]:
    return fc.floats(t, digits=9)


def parity_case(fork: Fork, case: str) -> dict[str, Any]:
    """Outputs and one training step of the fork's networks for a tiny case."""
    from tests.model.vits2_golden import SEED, case_config, make_batch, seeded_state

    config = case_config(case)
    data, model, train = config["data"], config["model"], config["train"]
    posterior = (
        data["n_mel_channels"]
        if model["use_mel_posterior_encoder"]
        else data["filter_length"] // 2 + 1
    )
    nets = fork_nets(fork, config, posterior)
    for net in nets.values():
        net.load_state_dict(seeded_state(net), strict=True)
        net.eval()
    net_g: Any = nets["G"]  # the fork's classes are untyped
    net_d, net_dd = nets["D"], nets["DurDisc"]
    b = make_batch(config)
    # As train_ms.py at global step 0.
    net_g.current_mas_noise_scale = max(net_g.mas_noise_scale_initial, 0.0)
    torch.manual_seed(SEED)
    (
        y_hat,
        l_length,
        attn,
        ids_slice,
        x_mask,
        z_mask,
        (z, z_p, m_p, logs_p, m_q, logs_q),
        (hidden_x, logw, logw_),
    ) = net_g(b.text, b.text_lengths, b.spec, b.spec_lengths, b.sid)

    seg = fc.segments(
        fork.mel,
        fork.commons,
        config,
        b.spec,
        y_hat,
        ids_slice,
        b.wave,
        spec_is_mel=model["use_mel_posterior_encoder"],
    )
    y = seg.wave

    optim_g, optim_d, optim_dd = (
        fc.adamw(net_g, train),
        fc.adamw(net_d, train),
        fc.adamw(net_dd, train),
    )
    L = fork.losses

    y_d_hat_r, y_d_hat_g, _, _ = net_d(y, y_hat.detach())
    loss_disc, _, _ = L.discriminator_loss(y_d_hat_r, y_d_hat_g)

    p_real, p_fake = net_dd(hidden_x.detach(), x_mask.detach(), logw_.detach(), logw.detach())
    loss_dur_disc, _, _ = L.discriminator_loss(p_real, p_fake)
    optim_dd.zero_grad()
    loss_dur_disc.backward()
    grad_norm_dd = fork.commons.clip_grad_value_(net_dd.parameters(), None)
    optim_dd.step()

    optim_d.zero_grad()
    loss_disc.backward()
    grad_norm_d = fork.commons.clip_grad_value_(net_d.parameters(), None)
    optim_d.step()

    _, y_d_hat_g, fmap_r, fmap_g = net_d(y, y_hat)
    _, y_dur_hat_g = net_dd(hidden_x, x_mask, logw_, logw)
    loss_dur = torch.sum(l_length.float())
    g = fc.gen_losses(
        L, train, seg, (z, z_p, m_p, logs_p, m_q, logs_q), z_mask, y_d_hat_g, fmap_r, fmap_g
    )
    loss_dur_gen, _ = L.generator_loss(y_dur_hat_g)
    loss_gen_all = g.total() + loss_dur + g.kl + loss_dur_gen
    optim_g.zero_grad()
    loss_gen_all.backward()
    grad_norm_g = fork.commons.clip_grad_value_(net_g.parameters(), None)

    def first(p: Any) -> torch.Tensor:  # dur_disc_2 wraps each output in a list
        tensor: torch.Tensor = p[0] if isinstance(p, list) else p
        return tensor

    return {
        "outputs": {
            "audio": floats9(y_hat),
            "l_length": floats9(l_length),
            "durations": floats9(attn.sum(2)),
            "ids_slice": ids_slice.tolist(),
            "z_p": floats9(z_p),
            "m_p": floats9(m_p),
            "logs_p": floats9(logs_p),
            "hidden_x": floats9(hidden_x),
            "logw": floats9(logw),
            "logw_target": floats9(logw_),
            "dur_prob_real": floats9(first(p_real)),
            "dur_prob_fake": floats9(first(p_fake)),
        },
        "step": {
            "loss_disc": float(loss_disc),
            "loss_dur_disc": float(loss_dur_disc),
            "loss_gen": float(g.gen),
            "loss_fm": float(g.fm),
            "loss_mel": float(g.mel),
            "loss_dur": float(loss_dur),
            "loss_kl": float(g.kl),
            "loss_dur_gen": float(loss_dur_gen),
            "loss_gen_all": float(loss_gen_all),
            "grad_norm_dur_disc": float(grad_norm_dd),
            "grad_norm_d": float(grad_norm_d),
            "grad_norm_g": float(grad_norm_g),
        },
    }


def write_parity(fork: Fork) -> Path:
    from tests.model.vits2_golden import PARITY_CASES

    cases = {case: parity_case(fork, case) for case in PARITY_CASES}
    out = fc.FIXTURES / "vits2_parity.json.gz"
    payload = {"fork": FORK, "commit": fork.commit, "torch": torch.__version__, "cases": cases}
    fc.write_gz_json(out, payload, indent=1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fork", type=Path, required=True, help="p0p4k/vits2_pytorch checkout")
    args = parser.parse_args()
    sys.path.insert(0, str(fc.ROOT))
    torch.set_num_threads(1)
    fork = Fork(args.fork.resolve())
    for out in (write_keys(fork), write_parity(fork)):
        print(
            f"wrote {out.relative_to(fc.ROOT)} ({out.stat().st_size} bytes, fork {fork.commit[:7]})"
        )


if __name__ == "__main__":
    main()
