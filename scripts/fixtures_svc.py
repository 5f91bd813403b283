#!/usr/bin/env python3
"""Regenerate the so-vits-svc fixtures from checkouts of its own code (never part of this repo).

    git clone https://github.com/svc-develop-team/so-vits-svc /tmp/svc41
    git -C /tmp/svc41 checkout 730930d337d171479eadf305f96cbed4bb393e77   # 4.1
    git clone https://github.com/svc-develop-team/so-vits-svc /tmp/svc40
    git -C /tmp/svc40 checkout 02de07a8f1c44b1324618e20abab884cbee9af35   # 4.0
    git clone https://github.com/innnky/so-vits-svc /tmp/innnky40
    git -C /tmp/innnky40 checkout e1b8e575b7fc21b38f613fa5b49ab25e5eb66a74  # innnky 4.0
    python -m venv /tmp/svcenv && /tmp/svcenv/bin/pip install torch==2.9.1 librosa scipy \
        scikit-learn
    /tmp/svcenv/bin/python scripts/fixtures_svc.py --fork41 /tmp/svc41 --fork40 /tmp/svc40 \
        --innnky40 /tmp/innnky40

(faiss and matplotlib, which so-vits-svc imports for its feature index and its plots, are
stubbed when absent: building and training the networks never calls them.)

Writes, with each checkout's commit recorded:

- ``tests/model/fixtures/svc_keys.json.gz``: every state_dict key and shape of so-vits-svc's
  generator and discriminator for each shared config
  (tests/fixtures/shared_configs/svc-develop-team__*.json and innnky__*.json), each built by
  the checkout its file name names (``@4.0_02de07a``: 4.0, innnky: innnky's 4.0, else 4.1),
  as train.py builds them: ``SynthesizerTrn(filter_length // 2 + 1, segment_size //
  hop_length, **model)`` and ``MultiPeriodDiscriminator(model.use_spectral_norm)``.
- ``tests/model/fixtures/svc_parity.json.gz``: for each case of tests/model/svc_golden.py
  (three 4.1 configs from the 4.1 checkout, one 4.0 config from the 4.0 checkout), with weights seeded by key name and the global generator seeded before the forward
  pass: the generator's outputs (audio, latents, predicted/target log-F0), the discriminator's
  logits and the losses and gradient norms of one step in train.py's order (D step with AdamW,
  then the generator's losses through the updated D, incl. the F0 loss).
"""

from __future__ import annotations

import argparse
import json
import sys
import types
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # also when imported as scripts.*
import fixture_common as fc  # noqa: E402

FORK = "svc-develop-team/so-vits-svc"
# Top-level module names of a so-vits-svc checkout (purged between checkouts).
FORK_MODULES = ("models", "modules", "utils", "vdecoder", "data_utils")


def _import_fork(path: Path, others: list[Path]) -> dict[str, Any]:
    """The checkout's models / commons / losses / mel modules, imported fresh (``others``:
    the other checkouts, taken off sys.path)."""
    for name in list(sys.modules):
        if name.split(".")[0] in FORK_MODULES:
            del sys.modules[name]
    sys.path[:] = [p for p in sys.path if p not in {str(o) for o in others}]
    sys.path.insert(0, str(path))
    for optional in ("faiss", "matplotlib", "matplotlib.pylab"):
        try:
            __import__(optional)
        except ImportError:
            sys.modules[optional] = types.ModuleType(optional)
    import models
    from modules import commons, losses, mel_processing

    return {"models": models, "commons": commons, "losses": losses, "mel": mel_processing}


def _build(models: Any, config: dict[str, Any]) -> tuple[Any, Any]:
    data, train, model = config["data"], config["train"], config["model"]
    net_g = models.SynthesizerTrn(
        data["filter_length"] // 2 + 1, train["segment_size"] // data["hop_length"], **model
    )
    return net_g, models.MultiPeriodDiscriminator(model["use_spectral_norm"])


def _checkout_for(name: str, forks: dict[str, Path]) -> str:
    if name.startswith("innnky__"):
        return "innnky40"
    return "fork40" if "@4.0_" in name else "fork41"


def write_keys(forks: dict[str, Path]) -> Path:
    configs: dict[str, Any] = {}
    paths = sorted(fc.CONFIGS.glob("svc-develop-team__*.json")) + sorted(
        fc.CONFIGS.glob("innnky__*")
    )
    for path in paths:
        which = _checkout_for(path.name, forks)
        fork = _import_fork(forks[which], list(forks.values()))
        with torch.device("meta"):
            net_g, net_d = _build(fork["models"], json.loads(path.read_text()))
        configs[path.name] = {
            "checkout": which,
            "G": fc.shapes(net_g),
            "D": fc.shapes(net_d),
        }
    commits = {name: fc.git_commit(p) for name, p in forks.items()}
    payload = {
        "fork": FORK,
        "commits": commits,
        "repos": {
            "fork41": FORK,
            "fork40": FORK,
            "innnky40": "innnky/so-vits-svc",
        },
        "generated_by": "scripts/fixtures_svc.py",
        "configs": configs,
    }
    return fc.write_gz_json(fc.FIXTURES / "svc_keys.json.gz", payload)


def parity_case(fork: dict[str, Any], name: str) -> dict[str, Any]:
    from tests.model.golden import seeded_state
    from tests.model.svc_golden import FORWARD_SEED, case_config, floats, grad_norm, make_batch

    models, commons, losses, mel = fork["models"], fork["commons"], fork["losses"], fork["mel"]
    config = case_config(name)
    train = config["train"]
    net_g, net_d = _build(models, config)
    net_g.load_state_dict(seeded_state(net_g), strict=True)
    net_d.load_state_dict(seeded_state(net_d), strict=True)
    net_g.train()
    net_d.train()
    b = make_batch(config)
    # 4.0's forward has no volume argument.
    extra = {"vol": b.vol} if config["model"].get("vol_embedding") else {}

    # train.py's step, in its order (fp32: fp16_run false; GradScaler disabled is a no-op).
    torch.manual_seed(FORWARD_SEED)
    y_hat, ids, z_mask, lat, pred_lf0, norm_lf0, lf0 = net_g(
        b.c, b.f0, b.uv, b.spec, g=b.sid, c_lengths=b.lengths, spec_lengths=b.lengths, **extra
    )
    seg = fc.segments(mel, commons, config, b.spec, y_hat, ids, b.wave)
    d_real, d_fake, _, _ = net_d(seg.wave, y_hat.detach())
    loss_disc, _, _ = losses.discriminator_loss(d_real, d_fake)
    optim_g, optim_d = fc.adamw(net_g, train), fc.adamw(net_d, train)
    optim_d.zero_grad()
    loss_disc.backward()
    grad_d = grad_norm(net_d)
    optim_d.step()
    _, d_fake2, fmap_r, fmap_g = net_d(seg.wave, y_hat)
    g = fc.gen_losses(losses, train, seg, lat, z_mask, d_fake2, fmap_r, fmap_g)
    use_f0 = getattr(net_g, "use_automatic_f0_prediction", True)  # 4.0: always
    loss_lf0 = torch.nn.functional.mse_loss(pred_lf0, lf0) if use_f0 else torch.zeros(())
    loss_gen_all = g.total() + g.kl + loss_lf0
    optim_g.zero_grad()
    loss_gen_all.backward()
    grad_g = grad_norm(net_g)
    optim_g.step()

    names = ("z", "z_p", "m_p", "logs_p", "m_q", "logs_q")
    outputs: dict[str, Any] = {
        "audio": floats(y_hat),
        "ids_slice": ids.tolist(),
        **{n: floats(t) for n, t in zip(names, lat, strict=True)},
        "y_hat_mel": floats(seg.y_hat_mel),
        "d_real": [floats(t) for t in d_real],
        "d_fake": [floats(t) for t in d_fake],
    }
    if use_f0:
        outputs.update(pred_lf0=floats(pred_lf0), norm_lf0=floats(norm_lf0), lf0=floats(lf0))
    return {
        "name": name,
        "outputs": outputs,
        "losses": {
            "disc": loss_disc.item(),
            "gen": g.gen.item(),
            "fm": g.fm.item(),
            "mel": g.mel.item(),
            "kl": g.kl.item(),
            "lf0": loss_lf0.item(),
            "gen_all": loss_gen_all.item(),
        },
        "grad_norms": {"D": grad_d, "G": grad_g},
    }


def write_parity(forks: dict[str, Path]) -> Path:
    from tests.model.svc_golden import CASES, case_version

    cases = []
    for name in CASES:
        which = "fork40" if case_version(name) == "4.0" else "fork41"
        fork = _import_fork(forks[which], list(forks.values()))
        cases.append({**parity_case(fork, name), "commit": fc.git_commit(forks[which])})
    payload = {
        "fork": FORK,
        "commit": fc.git_commit(forks["fork41"]),
        "generated_by": "scripts/fixtures_svc.py",
        "torch": torch.__version__,
        "cases": cases,
    }
    return fc.write_gz_json(fc.FIXTURES / "svc_parity.json.gz", payload)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--fork41", type=Path, required=True, help="so-vits-svc 4.1 checkout")
    parser.add_argument("--fork40", type=Path, required=True, help="so-vits-svc 4.0 checkout")
    parser.add_argument("--innnky40", type=Path, required=True, help="innnky's 4.0 checkout")
    args = parser.parse_args()
    forks = {k: getattr(args, k).resolve() for k in ("fork41", "fork40", "innnky40")}
    sys.path.insert(0, str(fc.ROOT))
    torch.set_num_threads(1)
    for path in (write_keys(forks), write_parity(forks)):
        print(f"wrote {path.relative_to(fc.ROOT)} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
