"""daniilrobnikov/vits2: a VITS2 of its own, configured in YAML with renamed keys.

Its trainer (train.py, train_ms.py, data_utils.py) reads `data.sample_rate`, `n_fft`,
`n_mels`, `f_min`, `f_max` and `use_mel` instead of the reference names, a vocabulary
file instead of a symbol list, and three KL weights (`c_kl_text`, `c_kl_dur`,
`c_kl_audio`) instead of `c_kl`; `**hps.model` goes to its SynthesizerTrn, which
needs `n_layers_q`, `n_flows`, `speaker_cond_layer` and the MAS noise settings.
"""

from __future__ import annotations

from vitscfg.config.schema.base import Section, field
from vitscfg.config.schema.model import VitsModel
from vitscfg.config.schema.train import _NOOP_WARMUP, VitsTrain


class DaniilTrain(VitsTrain):
    NOOP = {**_NOOP_WARMUP, "c_kl": "not read: this fork weighs three KL terms (c_kl_*)"}
    c_kl: float | None = field(  # type: ignore[assignment]
        None, en="Not read by this fork (it reads c_kl_text, c_kl_dur, c_kl_audio)."
    )
    c_kl_text: float = field(en="Weight of the text-prior KL term.", reference=0, ge=0)
    c_kl_dur: float = field(en="Weight of the duration KL term.", reference=2, ge=0)
    c_kl_audio: float = field(
        en="Weight of the audio posterior KL term (lower: more audio variation).",
        reference=0.05,
        ge=0,
    )


class DaniilData(Section):
    NOOP = {"bits_per_sample": "never read by the trainer (the loader reads any WAV depth)"}
    training_files: str = field(en="Filelist of training utterances (path|text).")
    validation_files: str = field(en="Filelist of validation utterances.")
    vocab_file: str = field(en="Vocabulary file (one token per line) the text is mapped with.")
    text_cleaners: list[str] = field(en="Text pipeline steps (phonemize_text, tokenize_text, ...).")
    cleaned_text: bool = field(False, en="The filelists already hold cleaned text.")
    language: str = field("en-us", en="Phonemizer language.")
    bits_per_sample: int | None = field(None, en="Not read by the trainer.")
    sample_rate: int = field(en="Sample rate of the audio.", reference=22050, unit="Hz", gt=0)
    n_fft: int = field(en="STFT size.", reference=2048, gt=0)
    hop_length: int = field(
        en="STFT hop; divides train.segment_size and equals the decoder's upsampling.",
        reference=256,
        unit="samples",
        gt=0,
    )
    win_length: int = field(en="STFT window, <= n_fft.", reference=1024, gt=0)
    n_mels: int = field(en="Mel bands.", reference=80, gt=0)
    f_min: float = field(en="Lowest mel frequency.", reference=0, unit="Hz", ge=0)
    f_max: float | None = field(
        en="Highest mel frequency (null: sample_rate / 2).", unit="Hz", gt=0
    )
    use_mel: bool = field(en="Posterior encoder on mels (true) or linear spectrograms.")
    n_speakers: int = field(0, en="Speakers (train_ms.py); 0 for one speaker.", ge=0)
    min_text_len: int = field(1, en="Shorter texts are dropped.", ge=0)
    max_text_len: int = field(200, en="Longer texts are dropped.", gt=0)


class DaniilModel(VitsModel):
    NOOP = {}  # n_layers_q is read here (the posterior encoder's depth)
    n_layers_q: int = field(en="Posterior encoder layers.", reference=16, gt=0)
    n_flows: int = field(en="Normalizing-flow steps.", reference=4, gt=0)
    speaker_cond_layer: int = field(
        en="Text-encoder layer that receives the speaker vector (0: none).", reference=0, ge=0
    )
    mas_noise_scale: float = field(
        en="Gaussian noise added to MAS at the start (0 disables).", reference=0.01, ge=0
    )
    mas_noise_scale_decay: float = field(en="Per-step decay of that noise.", reference=2e-6, ge=0)
    use_transformer_flow: bool = field(True, en="Transformer coupling layers in the flow.")
