"""`--init-from`: a reference checkpoint (maybe from another speaker count or vocabulary)
warm-starts what fits and reports the rest, never silently."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch")
pytestmark = pytest.mark.torch

import torch  # noqa: E402
from torch import nn  # noqa: E402

from vitscfg.train import TrainError  # noqa: E402
from vitscfg.train.resume import warm_start  # noqa: E402


class Net(nn.Module):
    def __init__(self, vocab: int, extra: bool) -> None:
        super().__init__()
        self.emb = nn.Embedding(vocab, 4)
        self.proj = nn.Linear(4, 3)
        self.head = nn.Linear(3, 2) if extra else None


def save(path: Path, module: nn.Module, prefix: str = "") -> None:
    state = {prefix + k: v for k, v in module.state_dict().items()}
    torch.save({"model": state, "iteration": 7, "optimizer": {}, "learning_rate": 2e-4}, path)


@pytest.mark.parametrize("prefix", ["", "module."])  # DDP checkpoints carry module.
def test_loads_what_fits_and_reports_the_rest(tmp_path: Path, prefix: str) -> None:
    torch.manual_seed(0)
    source = Net(vocab=10, extra=True)
    save(tmp_path / "G_7.pth", source, prefix)
    target = Net(vocab=12, extra=False)  # another symbol set; no head
    fresh_emb = target.emb.weight.detach().clone()
    notes = warm_start(target, tmp_path / "G_7.pth", "G")
    assert torch.equal(target.proj.weight, source.proj.weight)
    assert torch.equal(target.proj.bias, source.proj.bias)
    assert torch.equal(target.emb.weight, fresh_emb)  # shape differs: fresh init kept
    text = "\n".join(notes)
    assert "2 of 3 tensors loaded" in text
    assert "1 shape differs, kept the fresh init:[/] emb.weight" in text
    assert "2 not in this model, ignored:[/] head.weight, head.bias" in text


def test_nothing_fits_is_an_error(tmp_path: Path) -> None:
    save(tmp_path / "D_1.pth", nn.Linear(5, 5))
    with pytest.raises(TrainError, match="none of its tensors fits this D"):
        warm_start(Net(10, False), tmp_path / "D_1.pth", "D")


def test_unreadable_file_is_an_error(tmp_path: Path) -> None:
    bad = tmp_path / "G_9.pth"
    bad.write_bytes(b"\x80\x02 not a checkpoint")
    with pytest.raises(TrainError, match="--init-from .*cannot read a G checkpoint"):
        warm_start(Net(10, False), bad, "G")
