"""Checkpoint pairs: reference format, weights_only loading, the resume scan over broken
files, retention, best.json and RNG capture (vitscfg/train/checkpoint.py)."""

from __future__ import annotations

import json
import pickle
import random
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
np = pytest.importorskip("numpy")

from vitscfg.model.checkpoint_compat import REFERENCE_KEYS  # noqa: E402
from vitscfg.train import checkpoint as ckpt  # noqa: E402

pytestmark = pytest.mark.torch


def _nets(seed: int = 0) -> dict[str, Any]:
    torch.manual_seed(seed)
    net_g = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Linear(8, 2))
    net_d = torch.nn.Linear(2, 1)
    optim_g = torch.optim.AdamW(net_g.parameters(), 2e-4, betas=(0.8, 0.99), eps=1e-9)
    optim_d = torch.optim.AdamW(net_d.parameters(), 2e-4, betas=(0.8, 0.99), eps=1e-9)
    # One optimiser step so the Adam moments exist (the realistic case).
    net_g(torch.randn(3, 4)).sum().backward()
    net_d(torch.randn(3, 2)).sum().backward()
    optim_g.step()
    optim_d.step()
    return {"net_g": net_g, "net_d": net_d, "optim_g": optim_g, "optim_d": optim_d}


def _state(step: int, epoch: int = 3) -> ckpt.TrainingState:
    optim = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], 2e-4)
    sched = torch.optim.lr_scheduler.ExponentialLR(optim, 0.999875)
    return ckpt.TrainingState(
        step=step,
        epoch=epoch,
        scheduler_g=sched.state_dict(),
        scheduler_d=sched.state_dict(),
        scaler=torch.amp.GradScaler("cpu", enabled=True).state_dict(),
        rng=ckpt.capture_rng(),
        sampler={"epoch": epoch, "batches_done": 5, "seed": 1234, "fingerprint": "abc"},
        best_val_mel=0.5,
        config_digest="deadbeef",
        hyper={"learning_rate": 2e-4, "betas": [0.8, 0.99], "eps": 1e-9, "batch_size": 4},
    )


def _save(folder: Path, step: int, seed: int = 0) -> tuple[Path, Path]:
    return ckpt.save_pair(folder, step, learning_rate=2e-4, state=_state(step), **_nets(seed))


def test_round_trip_loads_with_weights_only(tmp_path: Path) -> None:
    nets = _nets()
    g_path, d_path = ckpt.save_pair(
        tmp_path, 120, learning_rate=2e-4, state=_state(120, epoch=7), **nets
    )
    assert (g_path.name, d_path.name) == ("G_120.pth", "D_120.pth")
    g = torch.load(g_path, map_location="cpu", weights_only=True)
    d = torch.load(d_path, map_location="cpu", weights_only=True)
    assert set(REFERENCE_KEYS) <= set(g) and set(REFERENCE_KEYS) <= set(d)
    assert g["iteration"] == 7  # the EPOCH, as the reference stores it
    assert g["learning_rate"] == 2e-4
    for key, value in nets["net_g"].state_dict().items():
        assert torch.equal(g["model"][key], value)
    fresh = _nets(seed=1)
    fresh["net_g"].load_state_dict(g["model"])
    fresh["optim_g"].load_state_dict(g["optimizer"])
    fresh["net_d"].load_state_dict(d["model"])
    state = ckpt.TrainingState.from_dict(g["vitscfg"])
    assert (state.step, state.epoch, state.config_digest) == (120, 7, "deadbeef")
    sched = torch.optim.lr_scheduler.ExponentialLR(fresh["optim_g"], 0.999875)
    sched.load_state_dict(state.scheduler_g)


def test_ddp_prefix_is_stripped(tmp_path: Path) -> None:
    from torch.nn import Module
    from torch.nn.parallel import DistributedDataParallel

    class Wrapped(DistributedDataParallel):  # no process group needed
        def __init__(self, module: Module) -> None:
            Module.__init__(self)
            self.module = module

    nets = _nets()
    nets["net_g"] = Wrapped(nets["net_g"])
    g_path, _ = ckpt.save_pair(tmp_path, 1, learning_rate=2e-4, state=_state(1), **nets)
    keys = torch.load(g_path, weights_only=True)["model"].keys()
    assert not any(k.startswith("module.") for k in keys)


def test_unloadable_values_are_refused_before_writing(tmp_path: Path) -> None:
    state = _state(5)
    state.hyper["run_dir"] = tmp_path  # a Path: weights_only would refuse the file (P18)
    state.hyper["lr"] = np.float64(1e-4)
    with pytest.raises(TypeError, match=r"hyper\.run_dir.*Path"):
        ckpt.save_pair(tmp_path, 5, learning_rate=2e-4, state=state, **_nets())
    assert list(tmp_path.iterdir()) == []


def test_step_mismatch_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="state.step 4"):
        ckpt.save_pair(tmp_path, 5, learning_rate=2e-4, state=_state(4), **_nets())


def test_find_resumable_picks_the_newest_valid_pair(tmp_path: Path) -> None:
    _save(tmp_path, 100)
    _save(tmp_path, 200)
    _save(tmp_path, 300)
    # 900: truncated G (half the bytes); 800: empty G; 700: G without D;
    # 600: a pickle that is no checkpoint; 500: a checkpoint-shaped dict missing keys.
    _save(tmp_path, 900)
    g900 = tmp_path / "G_900.pth"
    data = g900.read_bytes()
    g900.write_bytes(data[: len(data) // 2])
    _save(tmp_path, 800)
    (tmp_path / "G_800.pth").write_bytes(b"")
    _save(tmp_path, 700)
    (tmp_path / "D_700.pth").unlink()
    _save(tmp_path, 600)
    (tmp_path / "G_600.pth").write_bytes(pickle.dumps({"model": object.__name__}))
    _save(tmp_path, 500)
    torch.save({"model": {"w": torch.zeros(1)}}, tmp_path / "D_500.pth")
    (tmp_path / "D_950.pth").write_bytes(b"interrupted")  # D written, G never came
    (tmp_path / "G_latest.pth").write_bytes(b"ignored: no step in the name")
    (tmp_path / ".G_990.pth.abc.tmp").write_bytes(b"half")  # a killed writer's temp file

    point, messages = ckpt.find_resumable(tmp_path)
    assert point is not None
    assert point.step == 300
    assert point.g_path == tmp_path / "G_300.pth"
    assert point.state is not None and point.state.step == 300
    assert point.epoch == 3
    text = "\n".join(messages)
    for name in ("G_900.pth", "G_800.pth", "G_700.pth", "G_600.pth", "D_500.pth", "D_950.pth"):
        assert name in text, text
    assert "D_700.pth is missing" in text
    assert "G_latest" not in text and ".tmp" not in text
    assert len(messages) == 6


def test_find_resumable_on_empty_or_missing_folder(tmp_path: Path) -> None:
    assert ckpt.find_resumable(tmp_path / "nope") == (None, [])
    (tmp_path / "G_1.pth").write_bytes(b"")
    (tmp_path / "D_1.pth").write_bytes(b"")
    point, messages = ckpt.find_resumable(tmp_path)
    assert point is None
    assert messages == [messages[0]] and "G_1.pth" in messages[0]


def test_bare_reference_pair_resumes_weights_only(tmp_path: Path) -> None:
    """A jaywalnut310/vits pair (only the four keys) dropped in the run folder: resumable,
    with no training state (schedulers, RNG, sampler start fresh at its epoch)."""
    nets = _nets()
    for tag, net, optim in (("G", "net_g", "optim_g"), ("D", "net_d", "optim_d")):
        torch.save(
            {
                "model": nets[net].state_dict(),
                "iteration": 12,
                "optimizer": nets[optim].state_dict(),
                "learning_rate": 2e-4,
            },
            tmp_path / f"{tag}_4000.pth",
        )
    point, messages = ckpt.find_resumable(tmp_path)
    assert messages == []
    assert point is not None and point.step == 4000
    assert point.state is None
    assert point.epoch == 12


def test_a_state_recording_another_step_is_skipped(tmp_path: Path) -> None:
    _save(tmp_path, 10)
    _save(tmp_path, 20)
    (tmp_path / "G_20.pth").rename(tmp_path / "G_30.pth")
    (tmp_path / "D_20.pth").rename(tmp_path / "D_30.pth")
    point, messages = ckpt.find_resumable(tmp_path)
    assert point is not None and point.step == 10
    assert messages == ["skipped G_30.pth: records step 20, not the 30 of its name"]


def test_save_cleans_leftover_temp_files(tmp_path: Path) -> None:
    stale = tmp_path / ".G_5.pth.x1y2.tmp"
    stale.write_bytes(b"half a checkpoint")
    other = tmp_path / ".notes.tmp"
    other.write_bytes(b"not ours")
    _save(tmp_path, 6)
    assert not stale.exists()
    assert other.exists()


def _steps(folder: Path) -> list[int]:
    return sorted(int(p.stem.split("_")[1]) for p in folder.glob("G_*.pth"))


def test_rotate_keeps_newest_and_best(tmp_path: Path) -> None:
    for step in (10, 20, 30, 40, 50):
        _save(tmp_path, step)
    ckpt.mark_best(tmp_path, 20, 0.42)
    assert json.loads((tmp_path / "best.json").read_text()) == {"step": 20, "val_mel": 0.42}
    deleted = ckpt.rotate(tmp_path, keep=2, protect=set())
    assert _steps(tmp_path) == [20, 40, 50]
    assert sorted(p.name for p in deleted) == ["D_10.pth", "D_30.pth", "G_10.pth", "G_30.pth"]
    assert sorted(p.name for p in tmp_path.glob("D_*.pth")) == ["D_20.pth", "D_40.pth", "D_50.pth"]


def test_rotate_keep_zero_keeps_all_and_protect_is_honoured(tmp_path: Path) -> None:
    for step in (1, 2, 3, 4):
        _save(tmp_path, step)
    assert ckpt.rotate(tmp_path, keep=0, protect=set()) == []
    assert _steps(tmp_path) == [1, 2, 3, 4]
    ckpt.rotate(tmp_path, keep=1, protect={2})
    assert _steps(tmp_path) == [2, 4]


def test_rotate_never_deletes_the_newest_or_incomplete_pairs(tmp_path: Path) -> None:
    _save(tmp_path, 1)
    _save(tmp_path, 2)
    (tmp_path / "D_9.pth").write_bytes(b"")  # an interrupted save: not a complete pair
    ckpt.rotate(tmp_path, keep=1, protect=set())
    assert _steps(tmp_path) == [2]
    assert (tmp_path / "D_9.pth").exists()
    ckpt.mark_best(tmp_path, 1, 0.1)  # best points at a deleted step: harmless
    assert ckpt.rotate(tmp_path, keep=1, protect=set()) == []
    assert _steps(tmp_path) == [2]


def test_best_json_is_validated(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="finite"):
        ckpt.mark_best(tmp_path, 3, float("nan"))
    (tmp_path / "best.json").write_text("{not json")
    assert ckpt.read_best(tmp_path) is None
    _save(tmp_path, 1)
    _save(tmp_path, 2)
    ckpt.rotate(tmp_path, keep=1, protect=set())  # unreadable best.json protects nothing
    assert _steps(tmp_path) == [2]


def _draws() -> tuple[float, float, float, float, list[float]]:
    # gauss() uses the cached second value of a pair; np.random.randn likewise.
    return (
        random.gauss(0, 1),
        random.random(),
        float(np.random.randn()),
        float(np.random.rand()),
        torch.rand(3).tolist(),
    )


def test_rng_capture_restore_reproduces_draws(tmp_path: Path) -> None:
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    random.gauss(0, 1)  # leaves a cached gauss value in python's state
    np.random.randn()  # and in numpy's
    state = ckpt.capture_rng()
    expected = _draws()
    # Through a file and weights_only loading, as a resume does.
    torch.save(state, tmp_path / "rng.pt")
    loaded = torch.load(tmp_path / "rng.pt", weights_only=True)
    _draws()  # move every generator on
    ckpt.restore_rng(loaded)
    assert _draws() == expected


@pytest.mark.gpu
def test_rng_restores_cuda_generators() -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    torch.cuda.manual_seed_all(5)
    state = ckpt.capture_rng()
    expected = torch.rand(3, device="cuda").tolist()
    torch.rand(3, device="cuda")
    ckpt.restore_rng(state)
    assert torch.rand(3, device="cuda").tolist() == expected
