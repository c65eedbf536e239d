"""Evaluation runs: grading stored samples, the summary with CIs, and the optional LLM judge over HTTP."""

import json
import os
import re
import time
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pandas as pd
import pytest

from lpts_helpers.core.config import ConfigError
from lpts_helpers.engine import evaluation
from lpts_helpers.engine.backends.hf import HFBackend
from lpts_helpers.tasks.judge import Judge, parse_reply


def test_config_hash_covers_extractor_and_scorer_versions():
    base = evaluation.EvalConfig()
    assert base.versions() == {"benchmark": 1, "extractor:boxed": 1, "scorer:math-verify": 1}
    assert evaluation.EvalConfig(extractor="flex").config_hash() != base.config_hash()
    assert base.generation().config_hash() == evaluation.GenerationConfig().config_hash()
    assert evaluation.EvalConfig(benchmark="mmlu").extractor_name == "choice"
    with pytest.raises(ConfigError, match=r"extractor='regex' is not allowed"):
        evaluation.EvalConfig(extractor="regex")
    with pytest.raises(ConfigError, match=r"both set \(to use a judge\) or both None"):
        evaluation.EvalConfig(judge_model="gpt-4o-mini")


def test_run_evaluation_grades_every_sample(store, tiny_model):
    config = evaluation.EvalConfig(benchmark="chain_sum", chain_length=2, n_problems=3, n_samples=2,
                                   temperature=1.0, max_answer_tokens=6)
    run = evaluation.run_evaluation(config, store, backend=HFBackend(*tiny_model))
    assert len(run.samples) == 6 and set(run.samples["extractor"]) == {"flex"}
    assert {"extracted", "correct", "problem_id", "variant", "prompt_hash", "finish_reason"} <= set(run.samples)
    assert run.metrics["n_problems"] == 3 and run.metrics["n_samples"] == 2
    assert set(run.metrics["pass@k"]) == {"1", "2"} and "low" in run.metrics["accuracy"]
    assert store.is_complete(config.generation())  # the generation run is stored on its own


def test_a_finished_evaluation_is_read_without_its_generation_run(store, tiny_model):
    """A damaged generation table is an error where it is read, but it does not make the finished evaluation
    that graded it unreadable (the evaluation holds every generated column)."""
    from lpts_helpers.core.store import CorruptRunError

    config = evaluation.EvalConfig(benchmark="chain_sum", chain_length=2, n_problems=2, max_answer_tokens=4)
    graded = evaluation.run_evaluation(config, store, backend=HFBackend(*tiny_model))
    (store.path(config.generation()) / "samples.parquet").write_bytes(b"damaged")
    for run in (graded.path, store.path(config.generation())):
        os.utime(run / "COMPLETE", (0, 0))  # both last used long ago
    read_at = time.time() - 1
    again = evaluation.run_evaluation(config, store)  # no backend: nothing is generated or graded
    assert again.samples.equals(graded.samples) and not again.computed
    # the generation run was not read, but it is still the evaluation's input: pruning keeps it
    assert store.prune_unused(read_at, dry_run=True) == []
    with pytest.raises(CorruptRunError, match=r"samples.parquet does not match the digest"):
        store.load(config.generation())


def table(correct, extracted):
    rows = []
    for p, (cs, es) in enumerate(zip(correct, extracted)):
        rows += [{"problem_id": f"p{p}", "sample": s, "correct": c, "extracted": e}
                 for s, (c, e) in enumerate(zip(cs, es))]
    return pd.DataFrame(rows)


def test_summarize_by_hand():
    samples = table([[True, False], [False, False], [True, True]], [["1", "2"], [None, "5"], ["3", "3"]])
    summary = evaluation.summarize(samples)
    assert summary["accuracy"]["value"] == pytest.approx(0.5)
    assert summary["pass@k"][2]["value"] == pytest.approx(2 / 3)
    assert summary["maj@k"][2]["value"] == pytest.approx(2 / 3)  # tie "1"/"2" → "1" (correct)
    assert summary["coverage"]["value"] == pytest.approx(2 / 3) and summary["share_answered"] == pytest.approx(5 / 6)


class FakeJudge(BaseHTTPRequestHandler):
    seen: list = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeJudge.seen.append((self.path, self.headers.get("Authorization"), body))
        reply = "0" if "\\boxed{0.5}" in body["messages"][1]["content"] else "-1"
        payload = json.dumps({"choices": [{"message": {"role": "assistant", "content": reply}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def judge_server():
    server = HTTPServer(("127.0.0.1", 0), FakeJudge)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeJudge.seen = []
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_judge_calls_an_openai_compatible_endpoint_with_the_key_from_the_environment(judge_server, monkeypatch):
    monkeypatch.setenv("LPTS_TEST_KEY", "sk-secret")
    judge = Judge(base_url=judge_server, model="judge-model", api_key_env="LPTS_TEST_KEY")
    assert judge.match("1/2?", "so \\boxed{0.5}", ["\\frac{1}{2}"]) == 0
    assert judge.match("1/2?", "so \\boxed{0.7}", ["\\frac{1}{2}"]) == -1
    path, auth, body = FakeJudge.seen[0]
    assert path == "/v1/chat/completions" and auth == "Bearer sk-secret"
    assert body["model"] == "judge-model" and body["temperature"] == 0.0
    assert "0. \\frac{1}{2}" in body["messages"][1]["content"]


def test_judge_column_and_agreement_never_store_the_key(store, tiny_model, judge_server, monkeypatch):
    monkeypatch.setenv("LPTS_TEST_KEY", "sk-secret")
    config = evaluation.EvalConfig(n_problems=2, max_answer_tokens=4, judge_model="judge-model",
                                   judge_base_url=judge_server, judge_api_key_env="LPTS_TEST_KEY")
    run = evaluation.run_evaluation(config, store, backend=HFBackend(*tiny_model))
    assert "judge_correct" in run.samples and 0 <= run.metrics["judge_agreement"] <= 1
    stored = "".join(p.read_text(errors="ignore") for p in run.path.rglob("*") if p.is_file())
    assert "sk-secret" not in stored and "LPTS_TEST_KEY" in stored


def test_unreachable_judge_is_a_clear_error():
    judge = Judge(base_url="http://127.0.0.1:9/v1", model="m", timeout_s=2)
    with pytest.raises(RuntimeError, match=r"the judge at http://127.0.0.1:9/v1 \(model 'm'\) did not answer"):
        judge.match("q", "a", ["1"])


@pytest.mark.parametrize("reply, expected", [("0", 0), (" 1\n", 1), ("-1", -1), ("7", -1), ("none", -1), ("", -1)])
def test_parse_judge_reply(reply, expected):
    assert parse_reply(reply, 2) == expected


@pytest.mark.parametrize("url, allowed", [
    ("https://api.example.com/v1", True), ("http://localhost:8000/v1", True), ("http://127.0.0.1:9/v1", True),
    ("http://[::1]:8000/v1", True), ("http://judge.example.com/v1", False), ("http://10.0.0.5:8000/v1", False),
    ("ftp://example.com/v1", False), ("localhost:8000", False)])
def test_the_judge_refuses_to_send_its_key_over_plain_http_to_another_machine(url, allowed, monkeypatch):
    monkeypatch.delenv("LPTS_JUDGE_ALLOW_PLAIN_HTTP", raising=False)
    make = lambda: evaluation.EvalConfig(judge_model="m", judge_base_url=url)  # noqa: E731
    if allowed:
        assert make().judge_base_url == url
        return
    with pytest.raises(ConfigError, match=rf"judge_base_url='{re.escape(url)}' (would send|is not an http)"):
        make()
    with pytest.raises(ConfigError):
        Judge(base_url=url, model="m")
    if url.startswith("http://"):  # the user may accept the risk, explicitly
        monkeypatch.setenv("LPTS_JUDGE_ALLOW_PLAIN_HTTP", "1")
        assert make().judge_base_url == url
