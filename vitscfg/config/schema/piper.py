"""piper's voice config (the JSON next to an .onnx voice): no train section.

Valid as what it is; checked for shape only (training is configured by CLI flags).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from vitscfg.config.schema.base import field


class PiperAudio(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow", defer_build=True)
    sample_rate: int = field(en="Output sample rate of the voice.", reference=22050, gt=0)


class PiperVoice(BaseModel):
    model_config = ConfigDict(
        strict=True, extra="allow", defer_build=True, title="vitscfg piper-voice config"
    )
    audio: PiperAudio = field(en="Audio settings.")
    espeak: dict[str, Any] = field(
        en="espeak-ng voice used to phonemize text.", reference={"voice": "en-us"}
    )
    inference: dict[str, Any] = field(en="noise_scale, length_scale, noise_w defaults.")
    phoneme_id_map: dict[str, list[int]] = field(en="Phoneme -> id list.")
    num_symbols: int = field(en="Vocabulary size of the voice.", gt=0)
    num_speakers: int = field(1, en="Speakers in the voice.", ge=1)
    speaker_id_map: dict[str, int] = field(default_factory=dict, en="Speaker name -> id.")
    phoneme_map: dict[str, Any] = field(default_factory=dict, en="Phoneme substitutions.")
