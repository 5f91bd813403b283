"""A full disk while saving a checkpoint pair: the message names the file, the bytes
needed and free, and the step a rerun resumes from; the previous pair stays, and a
clearly too small disk is refused before anything is written."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from tests.train.test_checkpoint import _nets, _save, _state  # noqa: E402
from vitscfg.train import TrainError, ckpt_space  # noqa: E402
from vitscfg.train import checkpoint as ckpt  # noqa: E402

pytestmark = pytest.mark.torch


def _usage(free: int) -> Any:
    def disk_usage(path: Any) -> Any:
        return shutil._ntuple_diskusage(10**12, 10**12 - free, free)  # type: ignore[attr-defined]

    return disk_usage


def test_too_little_free_space_is_refused_before_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _save(tmp_path, 20)
    before = sorted(p.name for p in tmp_path.iterdir())
    monkeypatch.setattr(ckpt_space.shutil, "disk_usage", _usage(1000))
    with pytest.raises(ckpt.CheckpointSpaceError) as info:
        ckpt.save_pair(tmp_path, 40, learning_rate=2e-4, state=_state(40), **_nets())
    message = str(info.value)
    assert isinstance(info.value, TrainError)  # run_train prints it and exits 1
    assert message.startswith(f"No space left on device writing {tmp_path / 'G_40.pth'}")
    assert "1000 B free" in message and "KiB" in message  # needed, in readable units
    assert "resumes from step 20" in message
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_enospc_while_writing_g_keeps_the_previous_pair(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _save(tmp_path, 20)
    real = ckpt.atomic_write_bytes

    def full_on_g(path: Any, data: bytes) -> None:
        if Path(path).name.startswith("G_40"):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, data)

    monkeypatch.setattr(ckpt, "atomic_write_bytes", full_on_g)
    with pytest.raises(ckpt.CheckpointSpaceError, match="writing .*G_40.pth: this checkpoint"):
        ckpt.save_pair(tmp_path, 40, learning_rate=2e-4, state=_state(40), **_nets())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["D_20.pth", "G_20.pth"]
    point, _ = ckpt.find_resumable(tmp_path)
    assert point is not None and point.step == 20


def test_first_save_without_space_says_training_restarts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(path: Any, data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(ckpt, "atomic_write_bytes", full)
    with pytest.raises(ckpt.CheckpointSpaceError, match="D_5.pth.*starts from step 0"):
        ckpt.save_pair(tmp_path, 5, learning_rate=2e-4, state=_state(5), **_nets())


def test_other_os_errors_pass_through(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(path: Any, data: bytes) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(ckpt, "atomic_write_bytes", denied)
    with pytest.raises(PermissionError):
        ckpt.save_pair(tmp_path, 5, learning_rate=2e-4, state=_state(5), **_nets())
