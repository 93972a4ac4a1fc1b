"""LoRA training of a GGUF model with transformers, peft and the Trainer, on CPU or GPU.

transformers reads the GGUF directly (dequantized to float32), peft adds the LoRA
matrices, and ``transformers.Trainer`` runs the steps, saves checkpoints and resumes
from the latest one. The loss counts the answer's tokens only: the prompt is the
real one (system, passages, question) and is not to be learnt, only read.

torch, transformers and peft are imported inside the functions that need them, so that
``import gpt4all_rag`` and the CLI start without them (they are the ``finetune`` extra).
"""

from __future__ import annotations

import importlib.util
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gpt4all_rag.errors import AssistantError
from gpt4all_rag.finetune.data import TrainingExample

__all__ = [
    "FinetuneMissing",
    "Progress",
    "StopFlag",
    "TrainConfig",
    "TrainResult",
    "encode_example",
    "load_base",
    "require_finetune_extra",
    "train_lora",
]

ATTENTION = ("q_proj", "k_proj", "v_proj", "o_proj")
IGNORED = -100  # the label of a token the loss skips (the prompt's)


class FinetuneMissing(AssistantError):
    """The libraries of the ``finetune`` extra are not installed."""


def require_finetune_extra() -> None:
    """Raise a clear error naming the extra when torch, transformers, peft or gguf is missing."""
    missing = [
        name
        for name in ("torch", "transformers", "peft", "gguf", "accelerate")
        if importlib.util.find_spec(name) is None
    ]
    if missing:
        raise FinetuneMissing(
            f"fine-tuning needs {', '.join(missing)}: pip install 'gpt4all-rag[finetune]'"
        )


@dataclass(frozen=True)
class TrainConfig:
    """The recipe: LoRA shape, optimizer and schedule, and where checkpoints go."""

    rank: int = 16
    alpha: int = 32
    target_modules: tuple[str, ...] = ATTENTION
    layers_from: int = 0  # LoRA in this layer and above only (the backward pass stops there)
    learning_rate: float = 4e-4
    epochs: float = 1.0
    max_steps: int = -1  # > 0: stop after this many steps whatever the epochs
    gradient_accumulation: int = 1
    warmup_steps: int = 5
    max_length: int = 1024  # tokens of prompt and answer; longer examples are left out
    save_every: int = 25
    threads: int | None = None
    bf16: bool = False
    seed: int = 0


@dataclass(frozen=True)
class Progress:
    """One training step, for a progress line."""

    step: int
    total: int
    loss: float | None
    elapsed_s: float
    eta_s: float | None


@dataclass
class TrainResult:
    """What a run did: its steps, its losses, its time and the LoRA weights (numpy)."""

    steps: int
    total_steps: int
    stopped: bool
    train_s: float
    losses: list[float] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    skipped_long: int = 0
    head_count: int = 0
    head_count_kv: int = 0

    def summary(self) -> dict[str, Any]:
        """The JSON-able part (no weights)."""
        row = asdict(self)
        del row["state"]
        return row


def load_base(gguf: Path) -> tuple[Any, Any]:
    """The GGUF as a float32 transformers model, and its tokenizer (with the chat template)."""
    import torch  # heavy: only when training
    from transformers import AutoModelForCausalLM, AutoTokenizer  # as above

    gguf = Path(gguf)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, dtype=torch.float32
    )
    _forget_quantization(model)
    return model, tokenizer


def _forget_quantization(model: Any) -> None:
    """Drop the GGUF quantizer's marks: the weights are plain float32 once loaded.

    transformers keeps its GGUF "quantizer" on the model, and the Trainer refuses to
    train a model that has one, though the weights were all dequantized on loading.
    """
    model.hf_quantizer = None
    if getattr(model.config, "quantization_config", None) is not None:
        del model.config.quantization_config
    if getattr(model, "is_quantized", False):
        model.is_quantized = False


def encode_example(example: TrainingExample, tokenizer: Any) -> dict[str, list[int]]:
    """Token ids of the whole chat, and labels that are the answer's tokens only.

    The text is cut where the chat template's generation prompt ends, so the answer's
    tokens are those the model writes after the same prompt at inference.
    """
    prompt = tokenizer.apply_chat_template(
        list(example.messages), tokenize=False, add_generation_prompt=True
    )
    whole = tokenizer.apply_chat_template(example.chat(), tokenize=False)
    if not whole.startswith(prompt):
        raise ValueError("the chat template does not extend the generation prompt")
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    answer_ids = tokenizer(whole[len(prompt) :].rstrip("\n"), add_special_tokens=False)["input_ids"]
    return {
        "input_ids": prompt_ids + answer_ids,
        "labels": [IGNORED] * len(prompt_ids) + answer_ids,
    }


def _lora_model(model: Any, config: TrainConfig) -> Any:
    from peft import LoraConfig, get_peft_model  # heavy: only when training

    layers = list(range(config.layers_from, model.config.num_hidden_layers))
    lora = LoraConfig(
        r=config.rank,
        lora_alpha=int(config.alpha),
        target_modules=list(config.target_modules),
        layers_to_transform=layers if config.layers_from > 0 else None,
        lora_dropout=0.0,
        bias="none",
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, lora)


def _collate(rows: list[dict[str, list[int]]]) -> dict[str, Any]:
    """Right-padded batches; padding is masked and never learnt."""
    import torch  # heavy: only when training

    width = max(len(r["input_ids"]) for r in rows)
    ids = [r["input_ids"] + [0] * (width - len(r["input_ids"])) for r in rows]
    labels = [r["labels"] + [IGNORED] * (width - len(r["labels"])) for r in rows]
    mask = [[1] * len(r["input_ids"]) + [0] * (width - len(r["input_ids"])) for r in rows]
    return {
        "input_ids": torch.tensor(ids),
        "labels": torch.tensor(labels),
        "attention_mask": torch.tensor(mask),
    }


class StopFlag:
    """Set by Ctrl-C (or a caller): the run saves a checkpoint at the next step and stops."""

    def __init__(self) -> None:
        self.requested = False

    def request(self, *_: object) -> None:
        """Ask the run to stop (a signal handler's signature)."""
        self.requested = True


def _callback(
    on_progress: Callable[[Progress], None] | None, stop: StopFlag, losses: list[float]
) -> Any:
    from transformers import TrainerCallback  # heavy: only when training

    class _Progress(TrainerCallback):
        def __init__(self) -> None:
            self.started = time.monotonic()
            self.first_step: int | None = None

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **_: Any) -> None:
            if logs and "loss" in logs:
                losses.append(round(float(logs["loss"]), 4))

        def on_step_end(self, args: Any, state: Any, control: Any, **_: Any) -> Any:
            if self.first_step is None:  # a resumed run times only its own steps
                self.first_step, self.started = state.global_step - 1, time.monotonic()
            elapsed = time.monotonic() - self.started
            done = state.global_step - self.first_step
            left = state.max_steps - state.global_step
            eta = elapsed / done * left if done > 0 else None
            if on_progress is not None:
                loss = losses[-1] if losses else None
                on_progress(Progress(state.global_step, state.max_steps, loss, elapsed, eta))
            if stop.requested:
                control.should_save = True
                control.should_training_stop = True
            return control

    return _Progress()


def _training_args(config: TrainConfig, checkpoints: Path) -> Any:
    import torch  # heavy: only when training
    from transformers import TrainingArguments  # as above

    return TrainingArguments(
        output_dir=str(checkpoints),
        per_device_train_batch_size=1,
        gradient_accumulation_steps=config.gradient_accumulation,
        learning_rate=config.learning_rate,
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        warmup_steps=config.warmup_steps,
        lr_scheduler_type="linear",
        logging_steps=1,
        save_steps=config.save_every,
        save_total_limit=2,
        use_cpu=not torch.cuda.is_available(),
        bf16=config.bf16,
        report_to=[],
        seed=config.seed,
        dataloader_num_workers=0,
        remove_unused_columns=False,
        disable_tqdm=True,
    )


def train_lora(
    gguf: Path,
    examples: Sequence[TrainingExample],
    config: TrainConfig,
    checkpoints: Path,
    on_progress: Callable[[Progress], None] | None = None,
    resume: bool = False,
    stop: StopFlag | None = None,
) -> TrainResult:
    """Train a LoRA of ``gguf`` on ``examples``; checkpoints under ``checkpoints``.

    ``resume`` continues from the latest checkpoint there. Ctrl-C (SIGINT) during the
    run saves a checkpoint and returns with ``stopped`` set, the weights as they are.
    """
    require_finetune_extra()
    import torch  # heavy: only when training
    from peft import get_peft_model_state_dict  # as above
    from transformers import PrinterCallback, Trainer  # as above

    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    model, tokenizer = load_base(gguf)
    encoded = [encode_example(e, tokenizer) for e in examples]
    rows = [r for r in encoded if len(r["input_ids"]) <= config.max_length]
    if not rows:
        raise ValueError("no training example fits max_length")
    model = _lora_model(model, config)
    stop = stop or StopFlag()
    losses: list[float] = []
    trainer = Trainer(
        model=model,
        args=_training_args(config, checkpoints),
        train_dataset=rows,
        data_collator=_collate,
        callbacks=[_callback(on_progress, stop, losses)],
    )
    trainer.remove_callback(PrinterCallback)  # progress is the caller's to show
    previous = signal.signal(signal.SIGINT, stop.request)
    started = time.monotonic()
    try:
        has_checkpoint = resume and any(Path(checkpoints).glob("checkpoint-*"))
        trainer.train(resume_from_checkpoint=True if has_checkpoint else None)
    finally:
        signal.signal(signal.SIGINT, previous)
    state = {
        key: value.detach().float().cpu().numpy()
        for key, value in get_peft_model_state_dict(model).items()
    }
    return TrainResult(
        steps=trainer.state.global_step,
        total_steps=trainer.state.max_steps,
        stopped=stop.requested,
        train_s=round(time.monotonic() - started, 1),
        losses=losses,
        state=state,
        skipped_long=len(encoded) - len(rows),
        head_count=int(model.config.num_attention_heads),
        head_count_kv=int(model.config.num_key_value_heads),
    )
