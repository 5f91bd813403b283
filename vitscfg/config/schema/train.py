"""The `train` section, per dialect.

`VitsTrain` is jaywalnut310/vits: 13 keys read as attributes (missing one is an
AttributeError, possibly hours in) and two that nothing reads. Forks subclass it
and change only what they change; docs/fields.md lists every field per dialect.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from vitscfg.config.schema.base import Section, field

# AdamW rejects a beta outside [0, 1) with a ValueError when the optimiser is built.
Betas = list[Annotated[float, Field(ge=0, lt=1)]]
_NOOP_WARMUP = {
    "init_lr_ratio": "never read by any surveyed trainer (a dead key inherited from the first VITS config)",
    "warmup_epochs": "not read by this fork's trainer (only so-vits-svc 4.1 and Style-Bert-VITS2 warm up)",
}


class VitsTrain(Section):
    NOOP = _NOOP_WARMUP

    # -- duration and cadence ------------------------------------------------
    epochs: int = field(
        en="Total passes over the training set: the upper bound of the epoch loop. Published "
        "configs use 10000-20000, meaning 'until you stop it'; the learning-rate decay is also "
        "counted in epochs.",
        fr="Nombre total de passages sur tout le jeu d'entraînement : la durée de l'apprentissage. "
        "Plus il est grand, plus le modèle a le temps de converger ; la décroissance du taux "
        "d'apprentissage est elle aussi comptée en époques.",
        effect="No effect on memory; total time = epochs x steps per epoch / steps per second.",
        effect_fr="Aucun effet sur la mémoire ; durée totale = époques x pas par époque / pas par seconde.",
        reference=20000,
        gt=0,
    )
    eval_interval: int = field(
        en="Every this many global steps (also at step 0): save G_<step>.pth and D_<step>.pth, "
        "write validation audio to TensorBoard's AUDIO tab and compute validation metrics.",
        fr="Tous les N pas (et au pas 0) : sauvegarde des points de contrôle G_<pas>.pth et "
        "D_<pas>.pth, échantillons audio dans l'onglet AUDIO de TensorBoard et métriques sur le "
        "jeu de validation.",
        effect="Each save writes the weights plus AdamW state (hundreds of MB for the base model); "
        "too small an interval fills the disk and slows training.",
        effect_fr="Chaque sauvegarde écrit les poids et l'état d'AdamW (des centaines de Mo) : "
        "un intervalle trop petit remplit le disque et ralentit l'entraînement.",
        reference=1000,
        unit="steps",
        gt=0,
    )
    log_interval: int = field(
        en="Every this many global steps: losses, learning rate and gradient norms go to the "
        "console and TensorBoard.",
        fr="Tous les N pas : les pertes (loss), le taux d'apprentissage et les normes de gradient "
        "sont affichés dans la console et enregistrés dans TensorBoard.",
        effect="Negligible cost; 0 crashes the trainer (modulo by zero).",
        effect_fr="Coût négligeable ; 0 fait planter l'entraîneur (modulo par zéro).",
        reference=200,
        unit="steps",
        gt=0,
    )
    seed: int = field(
        en="Seed of torch's random generator. Data order is not controlled by it in vits (the "
        "filelist shuffle and bucket sampler have their own seeds).",
        fr="Graine du générateur aléatoire de torch.",
        reference=1234,
    )
    # -- memory and speed ----------------------------------------------------
    batch_size: int = field(
        en="Training segments per step and per GPU (the global batch is batch_size x GPUs). The "
        "setting with the largest effect on GPU memory: too large fails with CUDA out of memory.",
        fr="Nombre de segments audio traités ensemble à chaque pas, par GPU. C'est le paramètre "
        "qui pèse le plus sur la mémoire (RAM et VRAM) : trop grand, il provoque une erreur "
        "« out of memory ». Plus grand rend l'apprentissage plus stable et plus rapide par époque.",
        effect="Memory grows about linearly with batch_size (activations of every module); "
        "throughput per step grows until the GPU is saturated.",
        effect_fr="La mémoire croît à peu près linéairement avec batch_size ; le débit augmente "
        "jusqu'à saturation du GPU.",
        reference=64,
        gt=0,
    )
    segment_size: int = field(
        en="Length, in waveform samples, of the random crop the decoder and discriminators train "
        "on (segment_size // hop_length latent frames). Must be a multiple of data.hop_length.",
        fr="Taille, en échantillons audio, du morceau aléatoire analysé à chaque étape par le "
        "décodeur et les discriminateurs. Plus grand donne plus de contexte (prosodie, "
        "intonation) mais consomme plus de mémoire. Doit être un multiple de data.hop_length.",
        effect="Decoder and discriminator memory grows linearly with segment_size; the encoders "
        "see whole utterances regardless.",
        effect_fr="La mémoire du décodeur et des discriminateurs croît linéairement avec "
        "segment_size ; les encodeurs voient toujours les phrases entières.",
        reference=8192,
        unit="samples",
        gt=0,
    )
    fp16_run: bool = field(
        en="Mixed precision: autocast to float16 with a GradScaler. Faster and lighter on GPUs "
        "with tensor cores; a known source of NaN losses in VITS.",
        fr="Entraînement en précision mixte (flottants 16 bits au lieu de 32). Sur les GPU NVIDIA "
        "récents (Tensor Cores), accélère nettement l'entraînement et réduit la mémoire ; souvent "
        "laissé à false par souci de stabilité (risque de pertes NaN).",
        effect="Roughly halves activation memory; weights and Adam state stay float32.",
        effect_fr="Divise à peu près par deux la mémoire des activations ; poids et état d'Adam "
        "restent en float32.",
        reference=True,
    )
    # -- optimiser ----------------------------------------------------------
    learning_rate: float = field(
        en="Initial learning rate of both AdamW optimisers (generator and discriminator). On "
        "resume the optimiser state wins: editing it before resuming has no effect in vits.",
        fr="Taux d'apprentissage initial : la taille des pas de correction à chaque itération. "
        "Trop élevé, le modèle diverge ; trop faible, il apprend très lentement. 2e-4 est le "
        "point de départ standard pour VITS.",
        effect="No effect on memory or step time.",
        effect_fr="Aucun effet sur la mémoire ni sur la durée d'un pas.",
        reference=2e-4,
        gt=0,
        le=1,
    )
    lr_decay: float = field(
        en="Gamma of the exponential learning-rate decay, applied once per epoch: after E epochs "
        "the rate is learning_rate x lr_decay^E (0.999875^10000 is about 0.29).",
        fr="Facteur qui réduit légèrement le taux d'apprentissage après chaque époque : de grands "
        "pas au début, puis des pas de plus en plus fins pour peaufiner.",
        effect="No effect on memory or speed; its effect per step depends on the dataset size.",
        effect_fr="Aucun effet sur la mémoire ni la vitesse ; son effet par pas dépend de la "
        "taille du jeu de données.",
        reference=0.999875,
        gt=0,
        le=1,
    )
    betas: Betas = field(
        en="AdamW (beta1, beta2): decay rates of the gradient's running mean and variance. VITS "
        "uses (0.8, 0.99), lower than Adam's usual (0.9, 0.999).",
        fr="Paramètres avancés (beta1, beta2) de l'optimiseur AdamW : vitesses d'oubli des "
        "moyennes du gradient. Valeurs issues des recommandations des auteurs, presque "
        "universellement utilisées.",
        effect="No effect on memory or speed.",
        effect_fr="Aucun effet sur la mémoire ni la vitesse.",
        reference=[0.8, 0.99],
        min_length=2,
        max_length=2,
    )
    eps: float = field(
        en="AdamW epsilon added to the denominator for numerical stability.",
        fr="Epsilon d'AdamW, ajouté au dénominateur pour la stabilité numérique ; la valeur par "
        "défaut convient presque toujours.",
        effect="No effect on memory or speed.",
        effect_fr="Aucun effet sur la mémoire ni la vitesse.",
        reference=1e-9,
        gt=0,
    )
    # -- loss weights ---------------------------------------------------------
    c_mel: float = field(
        en="Weight of the L1 mel-spectrogram reconstruction loss: how much the generated audio "
        "must match the real one. Crucial for clarity and fidelity.",
        fr="Coefficient de la perte mel-spectrogramme : l'importance donnée à un son généré "
        "proche de l'audio réel. Crucial pour la clarté et la fidélité.",
        effect="No effect on memory or speed.",
        effect_fr="Aucun effet sur la mémoire ni la vitesse.",
        reference=45,
        ge=0,
    )
    c_kl: float = field(
        en="Weight of the KL divergence between the posterior (from audio) and the text prior: "
        "it makes the latent space usable from text alone at inference.",
        fr="Coefficient de la perte de divergence KL de l'auto-encodeur variationnel : il "
        "organise l'information apprise de façon cohérente avec le texte, indispensable pour "
        "synthétiser à l'inférence (quand seul le texte est connu).",
        effect="No effect on memory or speed.",
        effect_fr="Aucun effet sur la mémoire ni la vitesse.",
        reference=1.0,
        ge=0,
    )
    init_lr_ratio: float | None = field(
        None, en="Declared in the first VITS config but never read by any trainer.", reference=1
    )
    warmup_epochs: int | None = field(
        None,
        en="Linear learning-rate warm-up in epochs (read by so-vits-svc 4.1 and "
        "Style-Bert-VITS2 only).",
        reference=0,
        ge=0,
    )


class Vits2Train(VitsTrain):
    pass


class VitsChineseTrain(VitsTrain):
    NOOP = {
        **_NOOP_WARMUP,
        "train_class": "never read: train.py builds models.SynthesizerTrn directly",
        "eval_class": "never read: train.py builds the evaluation model directly",
        "teacher": "never read by train.py (a note for the student config's distillation)",
    }


class MbIstftTrain(VitsTrain):
    fft_sizes: list[int] | None = field(
        None,
        en="FFT sizes of the multi-resolution STFT loss on the sub-band signals (used when "
        "model.mb_istft_vits is true).",
        reference=[384, 683, 171],
    )
    hop_sizes: list[int] | None = field(
        None, en="Hops of that STFT loss, one per FFT size.", reference=[30, 60, 10]
    )
    win_lengths: list[int] | None = field(
        None, en="Windows of that STFT loss, each <= its FFT size.", reference=[150, 300, 60]
    )
    window: str | None = field(
        None,
        en="Window name for that STFT loss (the code always uses Hann).",
        reference="hann_window",
    )


class BertVits2Train(VitsTrain):
    NOOP = {
        **_NOOP_WARMUP,
        "fp16_run": "Bert-VITS2 2.3 reads bf16_run; fp16_run does nothing",
        "freeze_emo": "not read by Bert-VITS2 master (only the Japanese-Extra branch)",
    }
    fp16_run: bool | None = field(  # type: ignore[assignment]
        None, en="Ignored by Bert-VITS2 2.3 (it reads bf16_run)."
    )
    bf16_run: bool = field(
        en="bfloat16 autocast (Bert-VITS2 >= 2.3 reads it as a required attribute).",
        reference=False,
    )
    skip_optimizer: bool = field(
        True,
        en="Do not restore the optimiser state when loading G/D checkpoints (fine-tuning "
        "from a base model uses the config's learning rate). Default true when absent.",
    )
    freeze_ZH_bert: bool = field(False, en="Freeze the Chinese BERT-feature projection.")
    freeze_JP_bert: bool = field(False, en="Freeze the Japanese BERT-feature projection.")
    freeze_EN_bert: bool = field(False, en="Freeze the English BERT-feature projection.")
    freeze_emo: bool = field(False, en="Freeze the emotion projection (Japanese-Extra branch).")
    c_commit: float | None = field(
        None, en="Weight of the emotion quantiser's commitment loss (JP-Extra only).", ge=0
    )


class StyleBertVits2Train(BertVits2Train):
    NOOP = {
        "fp16_run": "Style-Bert-VITS2 reads bf16_run; fp16_run does nothing",
        "freeze_encoder": "not read by any Style-Bert-VITS2 trainer (it reads freeze_decoder)",
        "init_lr_ratio": _NOOP_WARMUP["init_lr_ratio"],
    }
    skip_optimizer: bool = field(
        False, en="Do not restore the optimiser state on load (default false in Style-Bert-VITS2)."
    )
    freeze_style: bool = field(False, en="Freeze the style projection.")
    freeze_decoder: bool = field(False, en="Freeze the HiFi-GAN decoder.")
    freeze_encoder: bool | None = field(None, en="Dead key in the shipped config.")


class MeloTrain(VitsTrain):
    skip_optimizer: bool = field(
        True, en="Do not restore the optimiser state on load (default true when absent)."
    )
    keep_ckpts: int = field(5, en="Keep only the newest N checkpoint pairs (0 = keep all).", ge=0)


class SoVitsSvcTrain(VitsTrain):
    NOOP = {
        "init_lr_ratio": _NOOP_WARMUP["init_lr_ratio"],
        "use_sr": "read but has no effect in so-vits-svc 4.x",
        "max_speclen": "used only by so-vits-svc 3.0; 4.x crops to a hard-coded length",
    }
    port: str = field(
        en="DDP master port. Must be a JSON string: it is assigned to os.environ unchanged, and "
        "an integer raises TypeError at start; a string that is not a number makes the process "
        "group fail to start.",
        reference="8001",
        pattern=r"^[0-9]+$",
    )
    keep_ckpts: int = field(3, en="Keep only the newest N checkpoint pairs (0 = keep all).", ge=0)
    use_sr: bool | None = field(None, en="Vestigial in so-vits-svc 4.x.")
    max_speclen: int | None = field(None, en="Clip length in frames (so-vits-svc 3.0 only).", gt=0)
    all_in_mem: bool = field(False, en="Preload all features into RAM (forces num_workers=0).")
    half_type: Literal["fp16", "bf16"] = field(
        "fp16", en='Autocast dtype when fp16_run is true; anything but "bf16" means fp16.'
    )
    vol_aug: bool = field(False, en="Random volume augmentation; needs model.vol_embedding.")
    warmup_epochs: int | None = field(0, en="Linear learning-rate warm-up in epochs.", ge=0)


# svc-fork's train(): str(batch_size).split("-"); the head must be auto/power/binsearch
# (Lightning's batch-size finder, optional -<init>-<trials> integers) or int() fails.
# A digit string passes int() there, but its DataModule keeps 1 for any non-int.
_SVC_BATCH = r"^((auto|power|binsearch)(-[0-9]+){0,2}|[0-9]+)$"


class SvcForkTrain(SoVitsSvcTrain):
    NOOP = {**SoVitsSvcTrain.NOOP, "port": "unused: Lightning starts DDP itself"}
    batch_size: Annotated[int, Field(gt=0)] | Annotated[str, Field(pattern=_SVC_BATCH)] = field(  # type: ignore[assignment]
        en="Per-GPU batch (> 0; 0 or less makes the DataLoader raise); svc-fork also accepts "
        '"auto", "power", "binsearch" and "auto-<init>-<trials>" (Lightning batch-size finder). '
        "Any other string fails in int() at start-up.",
        reference=16,
    )
    fft_sizes: list[int] | None = field(
        None, en="FFT sizes of the sub-band STFT loss (mb-istft decoder, QuickVC template)."
    )
    hop_sizes: list[int] | None = field(None, en="Hops of that STFT loss, one per FFT size.")
    win_lengths: list[int] | None = field(None, en="Windows of that STFT loss.")
    window: str | None = field(None, en="Window name for that STFT loss.")
    port: str | int | None = field(  # type: ignore[assignment]
        None, en="Carried but unused (Lightning launches DDP)."
    )
    bf16_run: bool = field(False, en="Lightning bf16-mixed unless fp16_run is true.")
    num_workers: int = field(8, en="DataLoader workers, capped at the CPU count.", ge=0)
    log_version: int = field(0, en="TensorBoardLogger version subfolder.", ge=0)
    ckpt_name_by_step: bool = field(False, en="Name checkpoints by global step instead of epoch.")
    accumulate_grad_batches: int = field(1, en="Gradient accumulation.", ge=1)


class RvcTrain(VitsTrain):
    eval_interval: int | None = field(  # type: ignore[assignment]
        None, en="Not used by RVC: checkpoints are saved every -se epochs (CLI).", gt=0
    )
    fp16_run: bool | None = field(  # type: ignore[assignment]
        None, en="Rewritten by the WebUI per GPU; fed to the model as is_half."
    )


class GptSovitsTrain(VitsTrain):
    eval_interval: int | None = field(  # type: ignore[assignment]
        None, en="Ignored by s2_train.py (it saves every save_every_epoch).", gt=0
    )
    text_low_lr_rate: float = field(
        en="LR multiplier for the text encoder parameter groups.", reference=0.4, gt=0
    )
    grad_ckpt: bool = field(False, en="Gradient checkpointing (v3/v4 trainers).")
    pretrained_s2G: str | None = field(None, en="Pretrained generator (injected by the WebUI).")
    pretrained_s2D: str | None = field(None, en="Pretrained discriminator (injected by the WebUI).")
    if_save_latest: bool | None = field(None, en="Keep only the latest checkpoint (WebUI).")
    if_save_every_weights: bool | None = field(None, en="Export weights at every save (WebUI).")
    save_every_epoch: int | None = field(None, en="Checkpoint cadence in epochs (WebUI).", gt=0)
    gpu_numbers: str | None = field(None, en='GPUs as "0-1" (becomes CUDA_VISIBLE_DEVICES).')
    lora_rank: int | None = field(None, en="LoRA rank (v3 LoRA trainer).", gt=0)


class VitscfgTrain(VitsTrain):
    """vitscfg's bundled trainer: the reference keys plus what our trainer adds."""

    NOOP = {
        "init_lr_ratio": _NOOP_WARMUP["init_lr_ratio"],
        "warmup_epochs": "vitscfg's trainer has no warm-up",
    }
    use_gpu: bool = field(
        en="Train on the GPU (true; fails at once with a clear message when CUDA is missing) or "
        "on the CPU (false). Only vitscfg's trainer reads it: the reference forks require CUDA.",
        fr="Utiliser la carte graphique (true) ou le processeur (false). L'entraînement sur GPU "
        "est des dizaines, voire des centaines de fois plus rapide que sur CPU.",
        effect="true: VRAM holds the model and activations; false: everything in RAM, far slower.",
        effect_fr="true : le modèle et les activations sont en VRAM ; false : tout en RAM, "
        "beaucoup plus lent.",
        reference=True,
    )
    bf16_run: bool = field(False, en="bfloat16 autocast (Ampere or newer GPUs, or CPU).")
    keep_ckpts: int = field(
        3, en="Keep the newest N G_/D_ pairs (plus the best one); 0 keeps all.", ge=0
    )
    grad_accum_steps: int = field(
        1,
        en="Accumulate gradients over N batches before stepping "
        "(a larger effective batch at the memory cost of one).",
        ge=1,
    )
    num_workers: int = field(2, en="DataLoader worker processes.", ge=0)
    nan_rollback_steps: int = field(
        20,
        en="Roll back to the last good checkpoint after this many non-finite losses in a row.",
        ge=1,
    )
