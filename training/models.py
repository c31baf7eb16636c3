"""Loading vision-language models and their processors, real (Hub id or folder) or tiny (built from a config)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from core.atomic import atomic_path

from core.errors import VinciError

TINY = "tiny:qwen2-vl"
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>", "<|image_pad|>",
                  "<|video_pad|>"]
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
TOKENIZER_CORPUS = [
    "import matplotlib.pyplot as plt\nimport numpy as np\nfig, ax = plt.subplots()\nax.plot(x, y)\nplt.show()",
    "<html><body><div style='display:flex'><h1>Title</h1><p>text</p></div></body></html>",
    "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 24 24\"><circle cx=\"12\" cy=\"12\" r=\"10\" fill=\"#ff0000\"/></svg>",
    "\\begin{tikzpicture}\\draw[->] (0,0) -- (1,1) node[right] {$x$};\\end{tikzpicture}",
    "CC(=O)Oc1ccccc1C(=O)O c1ccncc1 C1CCCCC1",
    "```python ```html ```svg ```latex ```smiles Write code that renders exactly this image.",
    "user assistant system The first image is the target. Correct the code so that it renders the target.",
]


def image_only_processor_class():
    """Qwen2-VL's processor without a video processor (which needs torchvision, absent from CPU torch)."""
    from transformers import Qwen2VLProcessor

    class ImageOnlyQwen2VLProcessor(Qwen2VLProcessor):
        def check_argument_for_proper_class(self, attribute_name, arg):
            if attribute_name == "video_processor" and arg is None:
                return None
            return super().check_argument_for_proper_class(attribute_name, arg)

        def save_pretrained(self, save_directory, **kwargs):
            """Save the parts that exist (checkpoints reload them with ``load_processor``)."""
            self.tokenizer.save_pretrained(save_directory)
            self.image_processor.save_pretrained(save_directory)
            return [str(save_directory)]

    return ImageOnlyQwen2VLProcessor


@dataclass(frozen=True)
class ModelShape:
    """The size of a Qwen2-VL built from a config (the default: ~0.2M parameters, for CPU tests)."""

    hidden: int = 64
    layers: int = 2
    heads: int = 4
    kv_heads: int = 2
    intermediate: int = 128
    vision_depth: int = 2
    vision_width: int = 32
    vision_heads: int = 2
    min_pixels: int = 56 * 56
    max_pixels: int = 112 * 112

    def mrope_section(self) -> list[int]:
        """Qwen's split of the rotary half-dimension over (time, height, width): 1/4, 3/8, 3/8."""
        half = self.hidden // self.heads // 2
        t = half // 4
        h = (half - t) // 2
        return [t, h, half - t - h]


def code_tokenizer(texts: Iterable[str], vocab_size: int = 600):
    """A byte-level BPE trained on ``texts`` with Qwen's special tokens and a small chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
                                                       initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                   padding_side="left", chat_template=CHAT_TEMPLATE)


def save_processor_folder(folder: str | Path, tokenizer, min_pixels: int = 56 * 56, max_pixels: int = 112 * 112) -> Path:
    """Tokenizer and Qwen2-VL image processor in one folder, which ``load_processor`` reads as a processor."""
    from transformers.models.qwen2_vl import Qwen2VLImageProcessorPil

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(folder)
    Qwen2VLImageProcessorPil(min_pixels=min_pixels, max_pixels=max_pixels).save_pretrained(folder)
    return folder


def build_qwen2_vl(folder: str | Path, tokenizer, shape: ModelShape = ModelShape(), seed: int = 0) -> Path:
    """A randomly initialised Qwen2-VL of ``shape`` around ``tokenizer``, saved with its processor; nothing downloaded."""
    import torch
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration

    folder = Path(folder)
    if (folder / "config.json").exists():
        return folder
    torch.manual_seed(seed)
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    config = Qwen2VLConfig(
        text_config=dict(vocab_size=len(tokenizer), hidden_size=shape.hidden, intermediate_size=shape.intermediate,
                         num_hidden_layers=shape.layers, num_attention_heads=shape.heads, num_key_value_heads=shape.kv_heads,
                         max_position_embeddings=4096, rope_scaling={"type": "mrope", "mrope_section": shape.mrope_section()},
                         bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"]),
        vision_config=dict(depth=shape.vision_depth, embed_dim=shape.vision_width, hidden_size=shape.hidden,
                           num_heads=shape.vision_heads, mlp_ratio=2, patch_size=14, spatial_merge_size=2,
                           temporal_patch_size=2, in_chans=3),
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"])
    model = Qwen2VLForConditionalGeneration(config)
    model.generation_config.eos_token_id = ids["<|im_end|>"]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]

    def write(staging: Path) -> None:
        save_model(model, staging)
        save_processor_folder(staging, tokenizer, shape.min_pixels, shape.max_pixels)

    return saved_once(folder, write)


def saved_once(folder: Path, write: Callable[[Path], None]) -> Path:
    """``folder`` as ``write`` fills it, all or nothing (``core.atomic``): a crash leaves no half-saved
    model that a later call would take for a finished one, and of builders racing for one folder the
    first to finish wins (the others' renames fail on the folder it left, and they use it)."""
    if (folder / "config.json").exists():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        with atomic_path(folder) as staging:
            write(staging)
    except OSError:
        if not (folder / "config.json").exists():
            raise
    return folder


def save_model(model, folder: str | Path) -> None:
    """``save_pretrained`` without transformers' progress bar: from 5.24 it draws "Writing model shards" on
    stderr, the channel where every command's one-line error goes."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        model.save_pretrained(folder)
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def build_tiny(folder: str | Path, seed: int = 0) -> Path:
    """A random Qwen2-VL of ~0.2M parameters with a BPE trained on a few lines of code; nothing downloaded."""
    if (Path(folder) / "config.json").exists():
        return Path(folder)
    return build_qwen2_vl(folder, code_tokenizer(TOKENIZER_CORPUS, 600), ModelShape(), seed)


def load_processor(path: str):
    """``AutoProcessor``; where torchvision is missing, or the folder holds only a tokenizer and an image
    processor (``save_processor_folder``), the image-only Qwen2-VL processor."""
    from transformers import AutoImageProcessor, AutoProcessor, AutoTokenizer

    try:
        processor = AutoProcessor.from_pretrained(path)
    except (AttributeError, ImportError, ValueError, OSError, TypeError):
        processor = None
    if processor is not None and hasattr(processor, "image_processor"):
        return processor
    tokenizer = AutoTokenizer.from_pretrained(path)
    image_processor = AutoImageProcessor.from_pretrained(path)
    return image_only_processor_class()(image_processor=image_processor, tokenizer=tokenizer, video_processor=None,
                                        chat_template=tokenizer.chat_template)


def resolve(model: str, workdir: str | Path) -> str:
    """A Hub id or folder as given; ``tiny:qwen2-vl`` is built under ``workdir`` first."""
    if model == TINY:
        return str(build_tiny(Path(workdir) / "tiny-qwen2-vl"))
    return model


def load_model(path: str, bf16: bool = False):
    import torch
    from transformers import AutoModelForImageTextToText

    dtype = torch.bfloat16 if bf16 else torch.float32
    return AutoModelForImageTextToText.from_pretrained(path, dtype=dtype)


def build_tiny_dinov2(folder: str | Path, seed: int = 0) -> Path:
    """A random DINOv2 (hidden 64, 2 layers) saved like a real one, for CPU tests of the reward.

    Saved all or nothing (``saved_once``), so concurrent callers never see half a model."""
    import torch
    from transformers import Dinov2Config, Dinov2Model

    folder = Path(folder)
    if (folder / "config.json").exists():
        return folder
    torch.manual_seed(seed)
    model = Dinov2Model(Dinov2Config(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128,
                                     image_size=448, patch_size=14))
    return saved_once(folder, lambda staging: save_model(model, staging))


class ModelUnavailable(VinciError, ValueError):
    """A ``--model`` that cannot be loaded here; the message names it and says what to pass instead."""


def check_model(spec: str) -> None:
    """Fail in one line, before any work, on a model that is not there: a folder without a saved model,
    a path that does not exist, or a Hub id that is neither cached nor reachable (``from_pretrained``
    would retry the Hub for minutes, then raise a traceback)."""
    from .encoders import hub_reachable

    if spec == TINY:
        return
    hint = "pass --model with a folder saved by save_pretrained, or --config tiny-sft (a random tiny model, nothing downloaded)"
    path = Path(spec).expanduser()
    if path.is_dir():
        if not any((path / name).exists() for name in ("config.json", "adapter_config.json")):
            raise ModelUnavailable(f"model folder {spec} holds no config.json: not a model saved with save_pretrained")
        return
    if path.exists() or spec.startswith((".", "/", "~")) or spec.count("/") != 1:
        raise ModelUnavailable(f"model {spec}: no such folder" + ("" if path.exists() else " (nor a Hub id: ORG/NAME)"))
    if hub_reachable():
        from huggingface_hub import model_info
        from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

        try:
            model_info(spec)
        except RepositoryNotFoundError:
            raise ModelUnavailable(f"model {spec}: no such folder, and no such model on the Hub (or it is private: "
                                   f"set HF_TOKEN); {hint}") from None
        except HfHubHTTPError:
            pass  # gated or flaky: let from_pretrained say
        return
    from huggingface_hub import snapshot_download

    try:
        snapshot_download(spec, local_files_only=True)
    except Exception:  # noqa: BLE001 - not cached, or cached incompletely: the same advice either way
        raise ModelUnavailable(f"model {spec}: no such folder, not in the local Hugging Face cache, and the Hub "
                               f"cannot be reached; {hint}") from None
