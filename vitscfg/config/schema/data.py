"""The `data` section, per dialect: audio/STFT geometry, filelists, text pipeline."""

from __future__ import annotations

from vitscfg.config.schema.base import Section, field


class AudioData(Section):
    """STFT and audio keys every VITS-family fork shares."""

    sampling_rate: int = field(
        en="Sample rate every WAV must have (checked against the files).",
        reference=22050,
        unit="Hz",
        gt=0,
    )
    max_wav_value: float = field(
        en="Divisor mapping samples to [-1, 1]: 32768 for 16-bit PCM, 2147483648 for 24/32-bit "
        "PCM read as int32, 1.0 for float WAV.",
        reference=32768.0,
        gt=0,
    )
    filter_length: int = field(
        en="STFT size (n_fft); the posterior encoder sees filter_length // 2 + 1 channels.",
        reference=1024,
        gt=0,
    )
    hop_length: int = field(
        en="STFT hop in samples; one latent frame per hop. Divides "
        "train.segment_size and equals the decoder's total upsampling.",
        reference=256,
        unit="samples",
        gt=0,
    )
    win_length: int = field(en="STFT window length, <= filter_length.", reference=1024, gt=0)
    n_mel_channels: int = field(en="Mel bands of the mel loss.", reference=80, gt=0)
    mel_fmin: float = field(en="Lowest mel filter frequency.", reference=0.0, unit="Hz", ge=0)
    mel_fmax: float | None = field(
        en="Highest mel filter frequency; null means sampling_rate / 2.",
        reference=None,
        unit="Hz",
        gt=0,
    )


class VitsData(AudioData):
    training_files: str = field(
        en="Training filelist: `path|text` lines (`path|speaker_id|text` for multi-speaker).",
        reference="filelists/train.txt",
    )
    validation_files: str = field(
        en="Validation filelist; must hold at least one line (the "
        "first evaluation runs at step 0).",
        reference="filelists/val.txt",
    )
    text_cleaners: list[str] = field(
        en="Cleaner functions applied to raw text when cleaned_text "
        "is false (read even when unused).",
        reference=["english_cleaners2"],
    )
    add_blank: bool = field(
        en="Intersperse the blank symbol between text symbols; must be the "
        "same at training and inference.",
        reference=True,
    )
    cleaned_text: bool = field(False, en="The filelist already holds symbol strings (cleaned).")
    n_speakers: int = field(
        0,
        en="Speaker-embedding rows; 0 is single-speaker. vits and vits2 crash with exactly 1.",
        ge=0,
    )
    min_text_len: int = field(1, en="Lines with shorter text are dropped silently.", ge=0)
    max_text_len: int = field(190, en="Lines with longer text are dropped silently.", gt=0)


class Vits2Data(VitsData):
    NOOP = {
        "use_mel_posterior_encoder": "overwritten from model.use_mel_posterior_encoder by "
        "the vits2 trainer: only the model flag counts"
    }
    use_mel_posterior_encoder: bool | None = field(None, en="Duplicate of the model flag.")


class VitsChineseData(VitsData):
    """PlayVoice/vits_chinese trains on phonemes from its own frontend (with BERT
    features): its loader calls cleaned_text_to_sequence and never reads the cleaners."""

    NOOP = {"text_cleaners": "never read: the fork's loader takes phonemes, not text"}
    text_cleaners: list[str] | None = field(  # type: ignore[assignment]
        None, en="Not read by vits_chinese (its frontend writes phonemes)."
    )


class MbIstftData(VitsData):
    pass


class BertVits2Data(VitsData):
    text_cleaners: list[str] | None = field(  # type: ignore[assignment]
        None, en="Not used: Bert-VITS2 has its own multilingual frontend."
    )
    spk2id: dict[str, int] = field(
        en="Speaker name -> id; ids must be < n_speakers.", reference={"speaker": 0}
    )
    n_speakers: int = field(en="Speaker-embedding rows (1 is valid here).", reference=1, ge=1)
    max_text_len: int = field(384, en="Longer phone sequences are dropped.", gt=0)


class StyleBertVits2Data(BertVits2Data):
    use_jp_extra: bool = field(False, en="JP-Extra architecture switch.")
    num_styles: int = field(1, en="Rows of the style table.", ge=1)
    style2id: dict[str, int] | None = field(None, en="Style name -> id.")


class MeloData(BertVits2Data):
    max_text_len: int = field(300, en="Longer phone sequences are dropped.", gt=0)
    disable_bert: bool = field(False, en="Train without BERT features.")


class SoVitsSvcData(AudioData):
    training_files: str = field(
        en="Filelist of audio paths (one per line).", reference="filelists/train.txt"
    )
    validation_files: str = field(
        en="Validation filelist of audio paths.", reference="filelists/val.txt"
    )
    unit_interpolate_mode: str = field(
        "left", en='How content features are stretched to the frame rate ("nearest" or "left").'
    )
    contentvec_final_proj: bool | None = field(
        None, en="Apply ContentVec's final projection (svc-fork)."
    )


class RvcData(AudioData):
    """RVC builds its filelists itself; the JSON only carries audio geometry."""


class ApplioData(AudioData):
    """Applio (an RVC fork) names the rate `sample_rate`; `sampling_rate` is never read."""

    NOOP = {"sampling_rate": "Applio reads data.sample_rate; sampling_rate does nothing"}
    sampling_rate: int | None = field(  # type: ignore[assignment]
        None, en="Not read by Applio (it reads sample_rate)."
    )
    sample_rate: int = field(
        en="Sample rate of the training audio in Hz; Applio also compares it with the "
        "pretrained model's rate at start-up.",
        reference=40000,
        unit="Hz",
        gt=0,
    )


class GptSovitsData(AudioData):
    training_files: str | None = field(None, en="Set by the WebUI.")
    validation_files: str | None = field(None, en="Set by the WebUI.")
    exp_dir: str | None = field(None, en="Experiment folder (WebUI).")
    max_wav_value: float = field(32768.0, en="Divisor mapping samples to [-1, 1].", gt=0)
    n_speakers: int = field(300, en="Speaker-table rows.", ge=0)
    cleaned_text: bool = field(True, en="Filelist holds phones.")
    add_blank: bool = field(False, en="Intersperse blank ids.")


class VitscfgData(VitsData):
    """vitscfg's trainer: the vits keys; text_cleaners may be empty for phonemized lists."""

    text_cleaners: list[str] = field(
        default_factory=list,
        en="Cleaners applied when cleaned_text is false: basic_cleaners, "
        "transliteration_cleaners, english_cleaners (no external program) or english_cleaners2 "
        "(phonemizer + espeak-ng).",
    )
