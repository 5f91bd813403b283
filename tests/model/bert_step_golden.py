"""What the Bert-VITS2-family *step* golden and its test share: one training step per tiny
case of ``bert_vits2_golden`` with a window the WavLM can read, the same inputs and weights.

``scripts/fixtures_bert_vits2.py`` runs each fork's own train-script step with these and
writes ``tests/model/fixtures/bert_vits2_step.json.gz`` (losses and gradient norms);
``tests/train/test_bert_step_golden.py`` runs vitscfg's step (train/bert_step.py) on the same
networks and compares. Both sides run the networks in eval mode (no dropout: the forks'
dropout masks would need the same random draws in the same order) with weights filled from
the key names (``golden.seeded_state``), AdamW as the scripts build it, fp32, no grad scaler.

The frozen WavLM (the forks load wavlm-base-plus with Hugging Face transformers, which is
neither here nor needed) is vitscfg's WavLM at the config's ``model.slm`` sizes with seeded
weights on both sides: the golden checks the step's use of it (resampling, stacking, the
three losses, the update order), not WavLM's internals.
"""

from __future__ import annotations

from typing import Any

import torch

from tests.model import bert_vits2_golden as golden

SEGMENT = 1024  # samples: 64 frames at hop 16; 2048 samples at 16 kHz for the WavLM
FRAMES = (80, 70)  # spectrogram frames per item (both >= the window)
LR, BETAS, EPS = 2e-4, (0.8, 0.99), 1e-9  # the forks' shipped train sections
C_MEL, C_KL = 45.0, 1.0
CASES = tuple(golden.PARITY_CASES)


def step_config(case: str, **model: Any) -> dict[str, Any]:
    """The parity case's tiny config with the step's window and loss weights."""
    config = golden.case_config(case)
    config["train"].update(
        {
            "segment_size": SEGMENT,
            "c_mel": C_MEL,
            "c_kl": C_KL,
            "learning_rate": LR,
            "betas": list(BETAS),
            "eps": EPS,
        }
    )
    config["model"].update(model)
    return config


def step_inputs(case: str, config: dict[str, Any]) -> dict[str, Any]:
    """The batch: ``bert_vits2_golden``'s phones, tones, languages, BERT features, style
    vector and speaker ids, with longer spectrograms and their audio."""
    b = golden.make_batch(case)
    gen = torch.Generator().manual_seed(7)
    data = config["data"]
    hop = data["hop_length"]
    lengths = torch.tensor(FRAMES)
    spec = 0.01 + torch.rand(2, data["filter_length"] // 2 + 1, max(FRAMES), generator=gen)
    wav = 0.3 * torch.tanh(torch.randn(2, 1, max(FRAMES) * hop, generator=gen))
    for i, n in enumerate(FRAMES):
        spec[i, :, n:] = 0
        wav[i, :, n * hop :] = 0
    return {
        "text": b.text,
        "text_lengths": b.text_lengths,
        "spec": spec,
        "spec_lengths": lengths,
        "wav": wav,
        "wav_lengths": lengths * hop,
        "sid": b.sid,
        "tone": b.tone,
        "language": b.language,
        "berts": b.berts,
        "style": b.style,
    }
