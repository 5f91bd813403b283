"""`vitscfg train` refusals: each ends with a message and an exit code, before any
model is built, and never with a traceback."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytestmark = pytest.mark.torch

import torch  # noqa: E402
from _trainkit import make_config  # noqa: E402
from rich.console import Console  # noqa: E402

from vitscfg.train.run import run_train  # noqa: E402


def _run(config: Path, tmp_path: Path, **kw: object) -> tuple[int, str]:
    buffer = io.StringIO()
    console = Console(file=buffer, width=200, highlight=False, soft_wrap=True)
    code = run_train(config, run_dir=tmp_path / "run", console=console, **kw)  # type: ignore[arg-type]
    return code, buffer.getvalue()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_use_gpu_without_cuda_fails_at_once(tmp_path: Path) -> None:
    config = make_config(tmp_path / "c", train={"use_gpu": True})
    code, out = _run(config, tmp_path)
    assert code == 1
    assert "train.use_gpu is true but CUDA is not available" in out
    assert '"use_gpu": false' in out
    assert not list((tmp_path / "run").glob("G_*.pth"))


def test_check_error_refuses_before_the_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import vitscfg.train.loop as loop

    def boom(self: object) -> None:
        raise AssertionError("the trainer must not start on a config with check errors")

    monkeypatch.setattr(loop.Trainer, "setup", boom)
    config = make_config(tmp_path / "c", train={"segment_size": 2000})  # not a multiple of 128
    code, out = _run(config, tmp_path)
    assert code == 1
    assert "refusing to train" in out
    assert "segment_size" in capsys.readouterr().err  # the check report itself
    assert not (tmp_path / "run").exists()


def test_a_model_vitscfg_cannot_build_refuses_before_the_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A piper voice file passes `check` (it is a config piper reads), but it is an
    inference config: there is no training to build."""
    import vitscfg.train.loop as loop

    def boom(self: object) -> None:
        raise AssertionError("the trainer must not start on a model it cannot build")

    monkeypatch.setattr(loop.Trainer, "setup", boom)
    shared = Path(__file__).resolve().parents[1] / "fixtures" / "shared_configs"
    code, out = _run(shared / "rhasspy__piper__etc_test_voice.onnx.json", tmp_path)
    assert code == 1
    assert "refusing to train" in out and "inference config" in out


def test_unreadable_config_is_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"\xff\xfe\x00garbage")
    code, _ = _run(bad, tmp_path)
    assert code in (1, 2)  # a parse error is a check error (1) or unreadable (2)
    missing = tmp_path / "missing.json"
    code, out = _run(missing, tmp_path)
    assert code == 2, out


def test_missing_init_from_is_reported(tmp_path: Path) -> None:
    config = make_config(tmp_path / "c")
    code, out = _run(config, tmp_path, init_from=tmp_path / "G_missing.pth")
    assert code == 1
    assert "--init-from" in out and "no such file" in out


def test_cli_help_lists_train_and_synth() -> None:
    from typer.testing import CliRunner

    from vitscfg.cli import app

    result = CliRunner().invoke(app, ["train", "--help"])
    assert result.exit_code == 0, result.output
    for option in ("--run-dir", "--max-steps", "--no-resume", "--init-from", "--init-d"):
        assert option in result.output
    result = CliRunner().invoke(app, ["synth", "--help"])
    assert result.exit_code == 0, result.output
    assert "--noise-scale" in result.output and "--speaker" in result.output


def test_micro_config_passes_check(tmp_path: Path) -> None:
    """The test config is a valid vitscfg config (only the new key may warn)."""
    from vitscfg.lint.run import CheckOptions, check_paths

    config = make_config(tmp_path / "c")
    result = check_paths([config], CheckOptions())
    assert result.errors == 0, json.dumps([d.message for f in result.files for d in f.diagnostics])
