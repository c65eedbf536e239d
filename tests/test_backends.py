"""Backends: the transformers decode loop on a tiny in-memory model, and the vLLM adapter against vLLM's API."""

import sys
import types

import pytest
import torch

from lpts_helpers.core.config import ConfigError
from lpts_helpers.engine.backends import Completion, Request, make_backend
from lpts_helpers.engine.backends import vllm as vllm_adapter
from lpts_helpers.engine.backends.hf import HFBackend


@pytest.fixture
def backend(tiny_model):
    model, tokenizer = tiny_model
    return HFBackend(model, tokenizer, batch_size=8)


PROMPTS = ["U:1+1?\nA:", "U:a much longer question, with more words in it?\nA:", "U:x\nA:"]


def test_batched_greedy_equals_one_by_one(backend):
    requests = [Request(p, max_tokens=12) for p in PROMPTS]
    batched = backend.complete(requests)
    single = [backend.complete([r])[0] for r in requests]
    assert batched == single
    assert all(c.n_tokens <= 12 for c in batched)


def test_equals_transformers_generate_for_greedy(backend, tiny_model):
    model, tokenizer = tiny_model
    ids = tokenizer(PROMPTS[1], return_tensors="pt", add_special_tokens=False)
    reference = model.generate(**ids, max_new_tokens=10, do_sample=False, eos_token_id=None,
                               pad_token_id=tokenizer.pad_token_id)
    expected = tokenizer.decode(reference[0, ids["input_ids"].shape[1]:])
    (ours,) = backend.complete([Request(PROMPTS[1], max_tokens=10)])
    if ours.finish_reason == "length":
        assert ours.text == expected
    else:  # our loop stopped at the end-of-sequence token that generate() was told to ignore
        assert expected.startswith(ours.text)


def test_each_request_keeps_its_own_token_budget(backend):
    out = backend.complete([Request(PROMPTS[0], max_tokens=3), Request(PROMPTS[0], max_tokens=9)])
    assert out[0].n_tokens <= 3 and out[1].n_tokens <= 9
    assert out[1].text.startswith(out[0].text)  # greedy: the shorter is a prefix of the longer
    with pytest.raises(ValueError, match="max_tokens=0 is out of range"):
        backend.complete([Request(PROMPTS[0], max_tokens=0)])


def test_samples_are_seeded_per_request_whatever_the_batch(backend):
    sample = Request(PROMPTS[2], max_tokens=10, temperature=1.0, seed=7)
    alone = backend.complete([sample])[0]
    in_batch = backend.complete([Request(PROMPTS[1], max_tokens=10, temperature=1.0, seed=1), sample,
                                 Request(PROMPTS[0], max_tokens=4, temperature=0.7, seed=3)])[1]
    assert alone == in_batch
    draws = {backend.complete([Request(PROMPTS[2], max_tokens=10, temperature=1.0, seed=s)])[0].text
             for s in range(5)}
    assert len(draws) > 1


def test_top_p_near_zero_is_greedy(backend):
    greedy = backend.complete([Request(PROMPTS[1], max_tokens=8)])[0]
    nucleus = backend.complete([Request(PROMPTS[1], max_tokens=8, temperature=1.0, top_p=1e-6, seed=3)])[0]
    assert nucleus.text == greedy.text


def test_stop_strings_cut_the_text_and_say_which_matched(backend):
    free = backend.complete([Request(PROMPTS[1], max_tokens=40, temperature=1.0, seed=0)])[0]
    stop = next(ch for ch in free.text[3:] if ch.strip())  # a character the model does write later on
    out = backend.complete([Request(PROMPTS[1], max_tokens=40, temperature=1.0, seed=0, stop=(stop,))])[0]
    assert out.finish_reason == "stop" and out.stop_reason == stop
    assert stop not in out.text and free.text.startswith(out.text + stop)
    assert out.n_tokens == len(out.text) + 1  # one token per character, the stop's own token included


def test_the_growing_cache_holds_what_the_dynamic_cache_holds():
    """The decode loop's preallocated key/value layer returns the same tensors as transformers' concatenating one,
    through a prefill, growth past its buffer and rows leaving the batch."""
    from transformers.cache_utils import DynamicLayer

    from lpts_helpers.engine.backends.hf import _GrowingLayer

    generator = torch.Generator().manual_seed(0)
    grown, plain = _GrowingLayer(), DynamicLayer()
    for step, (batch, length) in enumerate([(4, 5), (4, 1), (4, 1), (4, 7), (2, 1), (2, 1)]):
        if step == 4:
            keep = torch.tensor([3, 1])
            grown.batch_select_indices(keep)
            plain.batch_select_indices(keep)
        keys, values = (torch.randn(batch, 3, length, 8, generator=generator) for _ in range(2))
        for got, want in zip(grown.update(keys, values), plain.update(keys, values)):
            assert torch.equal(got, want)
        assert grown.get_seq_length() == plain.get_seq_length()
    with pytest.raises(NotImplementedError):
        grown.crop(-1)


def test_end_of_sequence_is_not_in_the_text(tiny_model):
    model, tokenizer = tiny_model
    eos_model = HFBackend(model, tokenizer)
    eos_model.eos_ids = set(range(len(tokenizer)))  # every token ends the sequence
    (out,) = eos_model.complete([Request(PROMPTS[0], max_tokens=5)])
    assert out == Completion(text="", n_tokens=1, finish_reason="stop", stop_reason="eos")


def test_unknown_backend():
    with pytest.raises(ConfigError, match=r"backend='tgi' is not known; allowed: \['hf', 'vllm'\]"):
        make_backend("tgi", "smollm2-135m")


# --- vLLM: the adapter is checked against vLLM's documented API shapes (LLM, SamplingParams, RequestOutput) ---

class FakeSamplingParams:
    FIELDS = {"n", "temperature", "top_p", "seed", "max_tokens", "stop", "include_stop_str_in_output",
              "skip_special_tokens"}

    def __init__(self, **kwargs):
        unknown = set(kwargs) - self.FIELDS
        assert not unknown, f"not a SamplingParams field: {unknown}"
        self.__dict__.update(kwargs)


class FakeLLM:
    instances: list = []

    def __init__(self, model, **kwargs):
        self.model, self.kwargs, self.calls = model, kwargs, []
        FakeLLM.instances.append(self)

    def get_tokenizer(self):
        return "tokenizer"

    def generate(self, prompts, sampling_params, use_tqdm=True):
        self.calls.append((prompts, sampling_params, use_tqdm))
        outputs = []
        for prompt, params in zip(prompts, sampling_params):
            text = f"echo:{prompt}"[: params.max_tokens]
            finish, reason = ("length", None) if len(text) == params.max_tokens else ("stop", None)
            if params.stop:
                finish, reason = "stop", params.stop[0]
            completion = types.SimpleNamespace(index=0, text=text, token_ids=list(range(len(text))),
                                               finish_reason=finish, stop_reason=reason)
            outputs.append(types.SimpleNamespace(prompt=prompt, outputs=[completion]))
        return outputs


@pytest.fixture
def fake_vllm(monkeypatch):
    module = types.ModuleType("vllm")
    module.LLM, module.SamplingParams = FakeLLM, FakeSamplingParams
    monkeypatch.setitem(sys.modules, "vllm", module)
    FakeLLM.instances = []
    return module


def test_vllm_sampling_params_carry_every_knob():
    request = Request("p", max_tokens=64, temperature=1.0, top_p=0.95, seed=11, stop=("</think>",))
    assert vllm_adapter.sampling_params(request) == {
        "n": 1, "temperature": 1.0, "top_p": 0.95, "seed": 11, "max_tokens": 64, "stop": ["</think>"],
        "include_stop_str_in_output": False, "skip_special_tokens": False}
    assert vllm_adapter.sampling_params(Request("p", max_tokens=1))["stop"] is None


@pytest.mark.parametrize("finish, stop_reason, expected", [
    ("stop", None, "eos"),  # vLLM: stop_reason None with finish "stop" means the end-of-sequence token
    ("stop", 151643, "eos"),  # a stop token id (e.g. a second end-of-sequence id from the generation config)
    ("stop", "</think>", "</think>"),
    ("length", None, None),
])
def test_vllm_outputs_map_to_completions(finish, stop_reason, expected):
    output = types.SimpleNamespace(text="abc", token_ids=[1, 2, 3, 4], finish_reason=finish, stop_reason=stop_reason)
    assert vllm_adapter.completion_from_output(output) == Completion("abc", 4, finish, expected)
    with pytest.raises(RuntimeError, match="'abort'"):
        vllm_adapter.completion_from_output(types.SimpleNamespace(text="", token_ids=[], finish_reason="abort",
                                                                  stop_reason=None))


def test_vllm_backend_builds_the_engine_and_one_params_object_per_request(fake_vllm):
    backend = make_backend("vllm", "qwen3-8b", tensor_parallel_size=4, pipeline_parallel_size=2, seed=5,
                           max_model_len=32768, engine_kwargs={"enforce_eager": True}, progress=False)
    (llm,) = FakeLLM.instances
    assert llm.model == "Qwen/Qwen3-8B"
    assert llm.kwargs == {"dtype": "bfloat16", "tensor_parallel_size": 4, "pipeline_parallel_size": 2,
                          "gpu_memory_utilization": 0.9, "max_model_len": 32768, "seed": 5, "enforce_eager": True}
    out = backend.complete([Request("hello", max_tokens=100, seed=1), Request("x", max_tokens=3, stop=("y",))])
    prompts, params, use_tqdm = llm.calls[0]
    assert prompts == ["hello", "x"] and [p.seed for p in params] == [1, 0] and use_tqdm is False
    assert out == [Completion("echo:hello", 10, "stop", "eos"), Completion("ech", 3, "stop", "y")]
    assert backend.tokenizer == "tokenizer" and backend.device == "cuda"


def test_vllm_refuses_the_gguf_preset_and_explains_a_missing_install(fake_vllm, monkeypatch):
    with pytest.raises(ValueError, match="ships as a GGUF file for the hf backend"):
        make_backend("vllm", "smollm2-135m")
    monkeypatch.setitem(sys.modules, "vllm", None)  # what an environment without vLLM looks like
    with pytest.raises(ImportError, match=r"pip install -e '\.\[gpu\]'.*backend='hf'"):
        make_backend("vllm", "qwen3-8b")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (see tests/QUARANTINES.md)")
def test_real_vllm_engine_generates(tmp_path, tiny_model):
    pytest.importorskip("vllm", reason="needs vLLM (see tests/QUARANTINES.md)")
    model, tokenizer = tiny_model
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    backend = make_backend("vllm", str(tmp_path), gpu_memory_utilization=0.2, progress=False)
    out = backend.complete([Request(PROMPTS[0], max_tokens=8), Request(PROMPTS[0], max_tokens=8, temperature=1.0)])
    assert all(1 <= c.n_tokens <= 8 for c in out)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (see tests/QUARANTINES.md)")
def test_hf_backend_on_cuda_matches_cpu_greedy(tiny_model):
    model, tokenizer = tiny_model
    cpu = HFBackend(model, tokenizer).complete([Request(p, max_tokens=8) for p in PROMPTS])
    gpu = HFBackend(model.to("cuda"), tokenizer).complete([Request(p, max_tokens=8) for p in PROMPTS])
    model.to("cpu")
    assert [c.text for c in gpu] == [c.text for c in cpu]


def test_inverse_cdf_sampling_follows_the_distribution_and_top_p():
    from lpts_helpers.engine.backends.hf import _inverse_cdf

    probs = torch.tensor([[0.0, 0.5, 0.3, 0.2]]).repeat(4000, 1)
    draws = torch.rand(4000, generator=torch.Generator().manual_seed(0))
    counts = torch.bincount(_inverse_cdf(probs, draws, torch.ones(4000)), minlength=4) / 4000
    assert counts[0] == 0 and torch.allclose(counts, torch.tensor([0.0, 0.5, 0.3, 0.2]), atol=0.03)
    nucleus = torch.bincount(_inverse_cdf(probs, draws, torch.full((4000,), 0.6)), minlength=4) / 4000
    assert torch.allclose(nucleus, torch.tensor([0.0, 0.625, 0.375, 0.0]), atol=0.03)  # {0.5, 0.3} renormalised
    assert _inverse_cdf(probs[:1], torch.zeros(1), torch.ones(1)).item() == 1  # a draw of 0 skips p = 0
