"""The one opening of a config by the commands that act on it (`train`, `estimate`,
`synth`, `preprocess`): check it, load it, read its `train` section typed, ask whether
vitscfg's model can build it.

Why one: each command used to write this sequence itself, and each copy would have had to
learn every fork. The result is one value (:class:`OpenedConfig`) or one refusal
(:class:`Refused`, with the exit code the command returns); commands only decide what to
print. Above `config` and `lint` (it uses both), below the commands; the model-support
question imports `vitscfg.model` only when asked (torch).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from vitscfg.config.load import Document
    from vitscfg.config.schema.train import VitsTrain
    from vitscfg.lint.result import CheckResult
    from vitscfg.model.support import ModelSupport

#: Which step refused: ``unreadable`` (exit 2), ``check`` (its errors), ``support`` (the
#: model cannot be built), ``train`` (the train section does not read as the trainer's).
Stage = Literal["unreadable", "check", "support", "train"]


@dataclass(frozen=True)
class OpenedConfig:
    path: str
    document: Document  # text, spans, data: what --write edits
    dialect: str | None
    check: CheckResult  # its warnings are the command's to show
    train: VitsTrain  # typed, the schema's defaults filled in
    support: ModelSupport | None  # None when the command did not ask

    @property
    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = self.document.data
        return data


class Refused(Exception):
    """The config cannot be used; ``message`` says why, ``exit_code`` is 1 or 2."""

    def __init__(
        self, stage: Stage, message: str, exit_code: int, check: CheckResult | None = None
    ) -> None:
        super().__init__(message)
        self.stage, self.message, self.exit_code, self.check = stage, message, exit_code, check


def open_config(
    path: str | os.PathLike[str],
    *,
    check_data: bool = True,
    trainer: bool = False,
    support: bool = True,
) -> OpenedConfig:
    """Check, load, type, gate. ``check_data``: run the data rules (filelists, audio);
    ``trainer``: read `train` as vitscfg's trainer does (else as the config's fork does);
    ``support``: ask whether vitscfg's model builds it, refusing when it cannot."""
    from pydantic import ValidationError

    from vitscfg.config.load import UnreadableInput, load
    from vitscfg.config.typed import NoTrainSection, dialect_settings, trainer_settings
    from vitscfg.lint.run import CheckOptions, check_paths

    name = os.fspath(path)
    try:
        result = check_paths([name], CheckOptions(check_data=check_data))
        doc = load(name)
    except UnreadableInput as exc:
        raise Refused("unreadable", str(exc), 2) from None
    if result.errors:
        raise Refused("check", f"`vitscfg check {name}` found {result.errors} error(s)", 1, result)
    if not doc.parsed:
        raise Refused("unreadable", f"{name}: not a JSON object", 2, result)
    dialect = result.files[0].dialect
    gate = None
    if support:
        from vitscfg.model.support import model_support

        gate = model_support(doc.data, dialect)
        if gate.level == "none":
            raise Refused("support", gate.reason, 1, result)
    if trainer:
        from vitscfg.model.support import train_refusal

        missing = train_refusal(dialect)
        if missing:
            raise Refused("support", missing, 1, result)
        if gate is not None and gate.level == "proxy":
            # A proxy is good enough to size memory, never to train: it would train
            # another architecture than the config's own.
            raise Refused(
                "support", f"vitscfg train trains a fork's own model only: {gate.reason}", 1, result
            )
    try:
        train = trainer_settings(doc.data) if trainer else dialect_settings(doc.data, dialect)
    except NoTrainSection as exc:
        raise Refused("train", str(exc), 1, result) from None
    except ValidationError as exc:
        where = "; ".join(
            f"train.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise Refused("train", where, 1, result) from None
    return OpenedConfig(name, doc, dialect, result, train, gate)
