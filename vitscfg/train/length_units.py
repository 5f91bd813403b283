"""What a fork's worst-case item lengths count, in a report's words: token ids and
spectrogram frames for the text-to-speech forks, content-feature frames for the voice
conversion forks. A fork's step entry (train/fork_steps.py) names its units; the estimate
report (estimate/report.py) prints them. Torch-free, so rendering a report imports no
model code.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LengthUnits:
    """What one item's worst-case lengths count."""

    text: str | None = "text ids"  # None: the fork's items have no text
    frames: str = "spectrogram frames"


#: Text-to-speech items: token ids and spectrogram frames (VITS and its TTS forks).
TEXT_AND_FRAMES = LengthUnits()
#: Voice-conversion items (RVC, so-vits-svc): content-feature frames, one per spectrogram
#: frame, and no text.
CONTENT_FRAMES = LengthUnits(None, "content-feature frames")
