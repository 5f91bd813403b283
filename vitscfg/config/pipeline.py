"""Fields a fork's own pipeline fills in before its trainer reads them.

A fork's shipped config is often a template: Style-Bert-VITS2's preprocess_text.py
writes `data.spk2id`, the RVC WebUI passes batch size and epochs on the trainer's
command line. Such a field missing from the file is not the user's mistake while
the pipeline step has not run: the linter says which step fills it (a warning),
and keeps errors for fields that nothing fills.

Pure data (no pydantic), read on the `check` path: dialect -> JSON pointer -> the
step that fills it.
"""

from __future__ import annotations

_BERT_SPK2ID = (
    "preprocess_text.py, which writes the speaker map from the transcription list into this config"
)

FILLED_BY: dict[str, dict[str, str]] = {
    "bert-vits2": {"/data/spk2id": _BERT_SPK2ID},
    "style-bert-vits2": {"/data/spk2id": _BERT_SPK2ID},
    "melotts": {"/data/spk2id": "melo/preprocess_text.py (it writes spk2id and n_speakers)"},
    "rvc": {
        "/train/batch_size": "the WebUI's training command (train.py -bs), which overrides it",
    },
    "applio": {
        "/train/batch_size": "Applio's training command (rvc/train/train.py, 7th argument)",
        "/train/epochs": "Applio's training command (rvc/train/train.py, 3rd argument)",
    },
}


def filled_by(dialect: str, pointer: str) -> str | None:
    """The pipeline step that writes `pointer` in `dialect`, or None."""
    return FILLED_BY.get(dialect, {}).get(pointer)
