"""The training log's data-bound hint: said once, only when the loader is the bottleneck."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("tensorboard")
pytestmark = pytest.mark.torch

import torch  # noqa: E402
from rich.console import Console  # noqa: E402

from vitscfg.train.tblog import TrainLog  # noqa: E402

LOSSES = {"d/total": 1.0, "g/total": 2.0, "g/mel": 3.0, "g/kl": 0.5, "g/dur": 0.2}


def log_once(log: TrainLog, step: int, waited: float, elapsed: float) -> None:
    log._last_time = time.perf_counter() - elapsed
    log.data_wait_s = waited
    log.train_scalars(step, 1, LOSSES, 2e-4, 1.0, 1.0, torch.device("cpu"), 0)


def test_data_bound_hint_once(tmp_path: Path) -> None:
    out = io.StringIO()
    log = TrainLog(tmp_path, Console(file=out, width=300), 16000)
    log.num_workers = 4
    log_once(log, 10, waited=0.1, elapsed=10.0)  # 1 %: quiet
    assert "data loading took" not in out.getvalue()
    log_once(log, 20, waited=3.0, elapsed=10.0)  # 30 %: said
    text = out.getvalue()
    assert "data loading took 30%" in text and "num_workers (now 4" in text
    log_once(log, 30, waited=5.0, elapsed=10.0)  # said once only
    assert out.getvalue().count("data loading took") == 1
    log.close()


def test_images_without_matplotlib(monkeypatch: pytest.MonkeyPatch) -> None:
    """matplotlib is not a dependency: mel and alignment images still reach TensorBoard."""
    import sys

    import numpy as np

    from vitscfg.train.tblog import Plotter, plain_image

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails as if missing
    out = io.StringIO()
    plotter = Plotter(Console(file=out, width=200))
    mel = torch.zeros(80, 50)
    mel[0] = 1.0  # the lowest bin is the brightest
    img = plotter.image(mel)
    assert img is not None and img.shape == (80, 50, 3) and img.dtype == np.uint8
    # origin "lower": row 0 of the spectrogram is the bottom row of the picture, yellow.
    assert tuple(img[-1, 0]) == (253, 231, 37) and tuple(img[0, 0]) == (68, 1, 84)
    assert plotter.image(mel) is not None and out.getvalue().count("without axes") == 1
    assert "pip install 'vitscfg[plot]'" in out.getvalue()  # not eaten as rich markup
    flat = plain_image(torch.full((4, 4), 3.0), origin="upper")
    assert flat.shape == (4, 4, 3) and (flat == flat[0, 0]).all()
