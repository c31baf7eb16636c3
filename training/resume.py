"""Training that resumes where it stopped: weights, optimizer, scheduler, RNG and step of the last checkpoint.

Why not the Trainer's resume alone: it reads a checkpoint's safetensors as saved, and
``save_pretrained`` writes a Qwen2-VL's weights under their original names (``visual.*``,
``model.*``) while the loaded model calls them ``model.visual.*``, ``model.language_model.*``: every
key is "missing" and the run goes on from the weights it started with. ``from_pretrained`` knows the
mapping, so the weights are read through it; the Trainer still restores optimizer, scheduler, RNG
and step. A finished run (its last checkpoint at its planned steps) resumes as a no-op: the Trainer
would train one step past ``max_steps`` and overwrite the saved model.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RunState:
    """The last checkpoint of an output folder and how far it got."""

    checkpoint: Path | None
    step: int = 0
    max_steps: int = 0

    def finished(self, planned_steps: int) -> bool:
        goal = planned_steps if planned_steps > 0 else self.max_steps
        return self.checkpoint is not None and 0 < goal <= self.step


@dataclass(frozen=True)
class Outcome:
    output: Path
    message: str


def run_state(output_dir: str | Path) -> RunState:
    """The last *complete* checkpoint: the Trainer writes ``trainer_state.json`` last, so a checkpoint cut
    short (Ctrl-C while it was saved) lacks it and is passed over."""
    checkpoints = []
    for folder in Path(output_dir).glob("checkpoint-*"):
        step = folder.name.removeprefix("checkpoint-")
        if step.isdigit() and (folder / "trainer_state.json").is_file():
            checkpoints.append((int(step), folder))
    for _, last in sorted(checkpoints, reverse=True):
        try:
            state = json.loads((last / "trainer_state.json").read_text())
        except (OSError, ValueError):
            continue
        return RunState(last, int(state.get("global_step", 0)), int(state.get("max_steps", 0)))
    return RunState(None)


MODEL_FILES = ("config.json", "adapter_config.json", "model.safetensors", "adapter_model.safetensors", "trainer_state.json")


def earlier_run(output_dir: str | Path) -> str | None:
    """What an earlier training run left in ``output_dir`` (checkpoints, a saved model), or ``None``."""
    folder = Path(output_dir)
    if not folder.is_dir():
        return None
    checkpoints = sorted(p.name for p in folder.glob("checkpoint-*") if p.is_dir())
    saved = [name for name in MODEL_FILES if (folder / name).exists()]
    parts = ([f"{len(checkpoints)} checkpoint(s) ({checkpoints[-1]} the last)"] if checkpoints else []) + \
            (["a saved model"] if saved else [])
    return " and ".join(parts) or None


def clear_checkpoints(output_dir: str | Path) -> None:
    """``--overwrite``: the old checkpoints go (a later ``--resume`` must not pick one up); the model files
    are saved over at the end."""
    import shutil

    for checkpoint in Path(output_dir).glob("checkpoint-*"):
        if checkpoint.is_dir():
            shutil.rmtree(checkpoint)


def load_checkpoint_weights(model, checkpoint: str | Path) -> None:
    """Copy a full checkpoint's weights into ``model`` through ``from_pretrained``'s key mapping (strict)."""
    dtype = next(model.parameters()).dtype
    saved = type(model).from_pretrained(str(checkpoint), dtype=dtype)
    model.load_state_dict(saved.state_dict(), strict=True)


def is_adapter_model(model) -> bool:
    """PEFT models save adapters only; the Trainer's own loader handles those."""
    return hasattr(model, "peft_config")


def train(trainer, output_dir: str | Path, resume: bool) -> Outcome:
    """Train (or resume) and save; the outcome says in one line what happened."""
    output = Path(output_dir)
    state = run_state(output) if resume else RunState(None)
    planned = int(trainer.args.max_steps)
    if state.finished(planned):
        return Outcome(output, f"{output} already finished at step {state.step} of {planned if planned > 0 else state.max_steps}; "
                               "nothing to resume (raise max_steps or pick a new --output to train more)")
    if state.checkpoint is None:
        trainer.train()
        start = "no checkpoint to resume, trained from the start" if resume else "trained"
    else:
        if not is_adapter_model(trainer.model):
            trainer._load_from_checkpoint = lambda checkpoint, model=None: load_checkpoint_weights(model or trainer.model, checkpoint)
        trainer.train(resume_from_checkpoint=str(state.checkpoint))
        start = f"resumed from {state.checkpoint.name} (step {state.step})"
    trainer.save_model(str(output))
    return Outcome(output, f"{start} to step {trainer.state.global_step}; saved to {output}")
