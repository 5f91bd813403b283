"""Checkpoint writer for tests/train/test_crash.py (not collected by pytest).

    python tests/train/_crash_writer.py RUN_DIR

Imports torch once, then serves: for each "go" line on stdin it forks a child that
resumes from RUN_DIR like a trainer (``find_resumable``) and saves pairs of a few MB with
increasing steps until it is killed; the parent prints "child PID", reaps it and prints
"reaped PID". Forking keeps 20 kills inside seconds (a fresh interpreter would pay the
torch import each time); the parent never runs a torch op, so its fork is safe.

Every pair stores its step in the bias of G and D, so the test can check that what a
scan returns is exactly what that step saved. The child prints "saved STEP" only after
``save_pair`` returned: from then on that step must survive any kill.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch
import torch._dynamo  # noqa: F401  (imported lazily by the first optimizer step: ~3 s per child)

from vitscfg.train import checkpoint as ckpt

WIDTH_G = 1024  # G: 4 MB of weights + 8 MB of Adam moments per file
WIDTH_D = 512


def _say(text: str) -> None:
    os.write(1, (text + "\n").encode())  # unbuffered: no stdio buffer shared across fork


def _state(step: int) -> ckpt.TrainingState:
    return ckpt.TrainingState(
        step=step,
        epoch=step // 10,
        scheduler_g={},
        scheduler_d={},
        scaler={},
        rng=ckpt.capture_rng(),
        sampler={},
        best_val_mel=None,
        config_digest="crash-test",
        hyper={"learning_rate": 2e-4},
    )


def child(folder: Path) -> None:
    torch.set_num_threads(1)
    point, _ = ckpt.find_resumable(folder)
    step = point.step + 1 if point else 1
    net_g = torch.nn.Linear(WIDTH_G, WIDTH_G)
    net_d = torch.nn.Linear(WIDTH_D, WIDTH_D)
    optim_g = torch.optim.AdamW(net_g.parameters(), 2e-4)
    optim_d = torch.optim.AdamW(net_d.parameters(), 2e-4)
    for net, optim in ((net_g, optim_g), (net_d, optim_d)):
        net.weight.sum().backward()  # type: ignore[no-untyped-call]
        optim.step()
    _say(f"resumed {step - 1}")
    while True:
        with torch.no_grad():
            net_g.bias.fill_(step)
            net_d.bias.fill_(step)
        ckpt.save_pair(
            folder,
            step,
            net_g=net_g,
            net_d=net_d,
            optim_g=optim_g,
            optim_d=optim_d,
            learning_rate=2e-4,
            state=_state(step),
        )
        _say(f"saved {step}")
        if step % 7 == 0:
            ckpt.mark_best(folder, step, 1.0 / step)
        ckpt.rotate(folder, keep=3, protect=set())
        step += 1


def main(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for line in sys.stdin:
        if line.strip() != "go":
            break
        pid = os.fork()
        if pid == 0:
            try:
                child(folder)
            finally:
                os._exit(1)
        _say(f"child {pid}")
        _, status = os.waitpid(pid, 0)
        _say(f"reaped {pid} {status}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
