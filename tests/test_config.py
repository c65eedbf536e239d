"""Config validation, hashing and profile defaults (lpts_helpers.core.config, and the configs built on it)."""

from dataclasses import dataclass

import pytest

from lpts_helpers.core.config import ConfigError, StageConfig, knob
from lpts_helpers.engine.generation import GenerationConfig, PromptLengthConfig


@dataclass(frozen=True)
class ToyConfig(StageConfig):
    STAGE = "toy"
    PROFILE_DEFAULTS = {"smoke": {"n": 1}, "paper": {"n": 100, "method": "b"}}

    n: int = knob(10, ge=0, doc="how many")
    rate: float = knob(0.5, ge=0.0, le=1.0)
    method: str = knob("a", choices=("a", "b"))
    layers: tuple[int, ...] = knob((1, 2), ge=0)
    note: str | None = knob(None)


def test_defaults_validate_and_round_trip():
    config = ToyConfig()
    assert config.to_dict() == {"n": 10, "rate": 0.5, "method": "a", "layers": [1, 2], "note": None}
    assert ToyConfig.from_dict(config.to_dict()) == config


@pytest.mark.parametrize("values, fragment", [
    ({"n": -1}, "n=-1 is out of range (how many); allowed: >= 0"),
    ({"n": "3"}, "n='3' has type str; allowed: int"),
    ({"n": True}, "n=True is a bool; allowed: an integer"),
    ({"n": 2.5}, "n=2.5 has type float; allowed: int"),
    ({"rate": 1.5}, "rate=1.5 is out of range; allowed: <= 1.0"),
    ({"method": "c"}, "method='c' is not allowed; allowed: ['a', 'b']"),
    ({"layers": (1, -2)}, "layers=(1, -2) is out of range"),
    ({"layers": 3}, "layers=3 has type int; allowed: a list of int"),
    ({"note": 5}, "note=5 has type int"),
])
def test_bad_values_name_the_field_the_value_and_what_is_allowed(values, fragment):
    with pytest.raises(ConfigError) as err:
        ToyConfig(**values)
    assert fragment in str(err.value)


def test_unknown_key_lists_the_known_ones():
    with pytest.raises(ConfigError, match=r"unknown ToyConfig field\(s\) \['size'\]; allowed: \['n', 'rate'"):
        ToyConfig.from_dict({"size": 3})


def test_lossless_coercions_from_papermill_values():
    config = ToyConfig(rate=1, layers=[3, 4])  # papermill passes lists and may pass ints for floats
    assert config.rate == 1.0 and isinstance(config.rate, float)
    assert config.layers == (3, 4)


def test_hash_is_stable_and_sensitive():
    # The literal pins the hash function: changing it silently would orphan every stored result.
    assert ToyConfig().config_hash() == ToyConfig().config_hash()
    assert ToyConfig().config_hash() == "040a505f6791c72a"
    assert ToyConfig(n=11).config_hash() != ToyConfig().config_hash()
    assert ToyConfig(rate=1).config_hash() == ToyConfig(rate=1.0).config_hash()


def test_version_bump_changes_the_hash():
    @dataclass(frozen=True)
    class ToyV2(ToyConfig):
        VERSION = 2

    assert ToyV2().config_hash() != ToyConfig().config_hash()


def test_a_late_field_stays_out_of_the_hash_at_its_old_value():
    @dataclass(frozen=True)
    class ToyLater(ToyConfig):
        LATE_FIELDS = {"dtype": "auto"}

        dtype: str = knob("auto")

    assert ToyLater().config_hash() == "040a505f6791c72a"  # the runs stored before the field keep their key
    assert ToyLater(dtype="bf16").config_hash() != ToyConfig().config_hash()
    assert "dtype" in ToyLater().to_dict() and "dtype" not in ToyLater().identity()["config"]


def test_profiles_and_overrides():
    assert ToyConfig.for_profile("smoke").n == 1
    assert ToyConfig.for_profile("default") == ToyConfig()
    paper = ToyConfig.for_profile("paper", n=None, rate=0.25)  # None means "keep the profile's value"
    assert (paper.n, paper.method, paper.rate) == (100, "b", 0.25)
    with pytest.raises(ConfigError, match=r"profile='fast' is not allowed; allowed: \['smoke', 'default', 'paper'\]"):
        ToyConfig.for_profile("fast")


def test_describe_lists_every_field():
    rows = ToyConfig.describe()
    assert [r["field"] for r in rows] == ["n", "rate", "method", "layers", "note"]
    assert rows[0]["allowed"] == ">= 0" and rows[2]["allowed"] == ["a", "b"]


def test_generation_config_rejects_unknown_models_and_benchmarks():
    with pytest.raises(ConfigError, match=r"model='gpt-9'.*known presets: \["):
        GenerationConfig(model="gpt-9")
    with pytest.raises(ConfigError, match=r"benchmark='gsm9k' is not allowed"):
        GenerationConfig(benchmark="gsm9k")
    with pytest.raises(ConfigError, match=r"benchmarks=\['mmlu', 'trivia'\] has unknown or no entries \['trivia'\]"):
        PromptLengthConfig(benchmarks=("mmlu", "trivia"))
    assert GenerationConfig.for_profile("paper").model == "qwen3-8b"


def test_a_local_checkpoint_directory_is_a_valid_model(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.safetensors").write_bytes(b"x")
    assert GenerationConfig(model=str(tmp_path)).model == str(tmp_path)


@pytest.mark.parametrize("name", ["", " ", ".", "lpts_helpers"])
def test_a_model_name_must_be_a_preset_or_a_folder_holding_a_checkpoint(name):
    with pytest.raises(ConfigError, match=r"model=.*(folder without a checkpoint|known presets)"):
        GenerationConfig(model=name)


@pytest.mark.parametrize("values, fragment", [
    ({"temperature": float("nan")}, "temperature=nan is not a finite number"),
    ({"temperature": float("inf")}, "temperature=inf is not a finite number"),
    ({"top_p": float("nan")}, "top_p=nan is not a finite number"),
    ({"temperature": -0.5}, "temperature=-0.5 is out of range"),
])
def test_numeric_knobs_must_be_finite_and_in_range(values, fragment):
    with pytest.raises(ConfigError, match=fragment.replace("(", r"\(")):
        GenerationConfig(**values)


def test_a_checkpoint_directory_s_contents_are_part_of_the_hash(tmp_path):
    (tmp_path / "config.json").write_text('{"num_hidden_layers": 30}')
    (tmp_path / "model.safetensors").write_bytes(b"x" * 10)
    config = GenerationConfig(model=str(tmp_path))
    assert "model_files" in config.identity()["uses"]
    before = config.config_hash()
    (tmp_path / "config.json").write_text('{"num_hidden_layers": 29}')  # another (pruned) model, same path
    assert config.config_hash() != before
    assert "model_files" not in GenerationConfig().identity()["uses"]  # presets are identified by name
