"""The vLLM backend: a thin adapter over ``vllm.LLM.generate`` with one ``SamplingParams`` per request.

Imported only when ``backend="vllm"`` is asked for, so CPU users never need vLLM (install the ``gpu`` extra in a
GPU environment). Each request keeps its own seed, token budget and stop strings, exactly as in the transformers
backend; parallel samples are separate requests with distinct seeds (the paper's script gave all 16 samples of a
problem one seed). ``tensor_parallel_size`` and ``pipeline_parallel_size`` spread a model that does not fit one
GPU; any other engine argument of ``vllm.LLM`` passes through ``engine_kwargs``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...models.presets import get_preset
from ...models.registry import resolver
from .base import Completion, Request


def _import_vllm():
    try:
        import vllm
    except ImportError as err:
        raise ImportError("backend='vllm' needs vLLM on a CUDA machine: pip install -e '.[gpu]' (vLLM pins its "
                          "own torch and transformers, so a separate environment is safest); "
                          "on a CPU use backend='hf'") from err
    return vllm


def sampling_params(request: Request) -> dict[str, Any]:
    """The ``vllm.SamplingParams`` arguments for one request (documented fields only)."""
    return {"n": 1, "temperature": request.temperature, "top_p": request.top_p, "seed": request.seed,
            "max_tokens": request.max_tokens, "stop": list(request.stop) or None,
            "include_stop_str_in_output": False, "skip_special_tokens": False}


def completion_from_output(output: Any) -> Completion:
    """A ``vllm.CompletionOutput`` (text, token_ids, finish_reason, stop_reason) as a backend Completion."""
    finish = output.finish_reason
    if finish not in ("stop", "length"):
        raise RuntimeError(f"vLLM finished a request with {finish!r}; expected 'stop' or 'length'")
    # stop_reason: the matched stop string, a stop token id, or None when the end-of-sequence token ended it.
    reason = output.stop_reason
    stop_reason = None if finish == "length" else (reason if isinstance(reason, str) else "eos")
    return Completion(text=output.text, n_tokens=len(output.token_ids), finish_reason=finish,
                      stop_reason=stop_reason)


class VLLMBackend:
    """``vllm.LLM`` behind the backend interface (``lpts_helpers.engine.backends``)."""

    name = "vllm"

    device = "cuda"

    def __init__(self, llm: Any, *, progress: bool = True):
        self.llm, self.progress = llm, progress
        self.tokenizer = llm.get_tokenizer()
        self._vllm = _import_vllm()

    @classmethod
    def load(cls, model: str, *, dtype: str = "auto", tensor_parallel_size: int = 1, pipeline_parallel_size: int = 1,
             gpu_memory_utilization: float = 0.9, max_model_len: int | None = None, seed: int = 0,
             progress: bool = True, engine_kwargs: dict[str, Any] | None = None, **_: Any) -> VLLMBackend:
        """Start an engine for a preset or checkpoint directory (bf16 unless ``dtype`` says otherwise)."""
        vllm = _import_vllm()
        llm = vllm.LLM(model=_model_path(model), dtype="bfloat16" if dtype == "auto" else _DTYPES[dtype],
                       tensor_parallel_size=tensor_parallel_size, pipeline_parallel_size=pipeline_parallel_size,
                       gpu_memory_utilization=gpu_memory_utilization, max_model_len=max_model_len, seed=seed,
                       **(engine_kwargs or {}))
        return cls(llm, progress=progress)

    def complete(self, requests: list[Request]) -> list[Completion]:
        params = [self._vllm.SamplingParams(**sampling_params(r)) for r in requests]
        outputs = self.llm.generate([r.prompt for r in requests], params, use_tqdm=self.progress)
        return [completion_from_output(o.outputs[0]) for o in outputs]


_DTYPES = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}


def _model_path(model: str) -> str:
    """A hub id or checkpoint directory for vLLM; the GGUF-only embedded preset runs on the hf backend."""
    if Path(model).is_dir():
        return model
    made = resolver(model)
    if made is not None:  # vLLM loads weights from disk: the model written out as an ordinary checkpoint
        return str(made.checkpoint(model))
    preset = get_preset(model)
    if preset.source != "hub":
        raise ValueError(f"model={model!r} ships as a GGUF file for the hf backend; for vLLM save it as a "
                         f"checkpoint directory first (model.save_pretrained) and pass that directory")
    return preset.location
