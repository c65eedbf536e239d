"""Shared fixtures: a tiny in-memory Qwen3 with a character tokenizer, a temporary run store, the smoke book."""

from __future__ import annotations

import string
from pathlib import Path

import pytest

from lpts_helpers.core.paths import REPO_ROOT
from lpts_helpers.core.store import RunStore

SMOKE_DIR = REPO_ROOT / "build" / "smoke"
SMOKE_OVERRIDES = {"store_dir": "build/smoke/runs"}  # what `make smoke` passes (-p store_dir build/smoke/runs)


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    return RunStore(tmp_path / "runs")


@pytest.fixture(scope="session")
def tiny_model():
    """A randomly initialised 2-layer Qwen3 and a character-level HF tokenizer with a chat template."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast, Qwen3Config, Qwen3ForCausalLM

    specials = ["<pad>", "<eos>", "<unk>"]
    chars = list(string.printable)
    vocab = {token: i for i, token in enumerate(specials + chars)}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Split("", behavior="isolated")
    backend.decoder = decoders.Fuse()  # characters back to text without separators
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="<pad>", eos_token="<eos>",
                                        unk_token="<unk>")
    tokenizer.chat_template = ("{% for m in messages %}U:{{ m['content'] }}\n{% endfor %}"
                               "{% if add_generation_prompt %}A:{% endif %}")
    torch.manual_seed(0)
    config = Qwen3Config(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, head_dim=16, max_position_embeddings=512,
                         pad_token_id=0, eos_token_id=1, bos_token_id=1)
    model = Qwen3ForCausalLM(config).eval()
    return model, tokenizer


@pytest.fixture(scope="session")
def smoke_book() -> Path:
    """The smoke-profile book (built by `make test` before pytest starts; built here when run alone)."""
    html = SMOKE_DIR / "_build" / "html"
    if not (html / "index.html").exists():
        from lpts_helpers.book.build import build

        build("smoke", SMOKE_DIR, SMOKE_OVERRIDES)
    return html
