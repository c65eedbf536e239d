"""Local benchmark copies: checksums, sizes, the common schema, seeded subsampling, and the hub route."""

import pytest

from lpts_helpers.core.config import ConfigError
from lpts_helpers.tasks import benchmarks, files

SIZES = {"aime24": 30, "math500": 500, "gsm8k": 1319, "mmlu": 14042}


def test_every_local_copy_matches_its_checksum():
    checks = files.verify_checksums()
    # AIME, MATH-500, GSM8K × 2, MMLU, the paper's s1.1-7B traces, and the 12 files of the eight static sets
    assert len(checks) == 4 + 57 * 2 + 1 + 12
    assert all(checks.values()), [path for path, ok in checks.items() if not ok]


@pytest.mark.parametrize("name, size", SIZES.items())
def test_sizes_and_schema(name, size):
    frame = benchmarks.load_benchmark(name)
    assert len(frame) == size and frame["problem_id"].is_unique
    assert {"problem_id", "question", "answer"} <= set(frame.columns)
    assert (frame["question"].str.strip().str.len() > 0).all() and (frame["answer"].str.len() > 0).all()


def test_answers_in_the_common_schema():
    gsm8k = benchmarks.load_benchmark("gsm8k")
    assert gsm8k["answer"][0] == "18"  # Janet's ducks: the text after ####
    assert gsm8k["answer"].str.fullmatch(r"-?\d+(\.\d+)?").all()  # thousands separators dropped
    aime = benchmarks.load_benchmark("aime24")
    assert aime["answer"].str.fullmatch(r"\d{1,3}").all()
    mmlu = benchmarks.load_benchmark("mmlu")
    assert set(mmlu["answer"]) == set("ABCD") and mmlu["subject"].nunique() == 57
    assert all(len(c) == 4 for c in mmlu["choices"])
    assert benchmarks.load_benchmark("math500")["level"].value_counts().sort_index().tolist() == [43, 90, 105, 128, 134]


def test_seeded_subsample_is_reproducible_and_recorded_by_id():
    a = benchmarks.load_benchmark("math500", n_problems=5, seed=3)
    b = benchmarks.load_benchmark("math500", n_problems=5, seed=3)
    c = benchmarks.load_benchmark("math500", n_problems=5, seed=4)
    assert list(a["problem_id"]) == list(b["problem_id"]) != list(c["problem_id"])
    assert len(benchmarks.load_benchmark("aime24", n_problems=100)) == 30
    with pytest.raises(ConfigError, match="n_problems=0 is out of range"):
        benchmarks.load_benchmark("aime24", n_problems=0)


def test_unknown_benchmark_and_source():
    with pytest.raises(ConfigError, match=r"benchmark='aime25' is not known; allowed: \['aime24'"):
        benchmarks.load_benchmark("aime25")
    with pytest.raises(ConfigError, match=r"source='web' is not allowed"):
        benchmarks.load_benchmark("aime24", source="web")


def test_hub_failure_says_so_and_points_to_the_local_copy(monkeypatch):
    import datasets

    def offline(*args, **kwargs):
        raise ConnectionError("no network")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    benchmarks._load_cached.cache_clear()
    with pytest.raises(OSError, match=r"could not load 'openai/gsm8k' from the Hugging Face hub .*source='local'"):
        benchmarks.load_benchmark("gsm8k", source="hub")


def test_hub_rows_are_mapped_to_the_common_schema(monkeypatch):
    import datasets

    class Fake:
        def to_pandas(self):
            import pandas as pd
            return pd.DataFrame({"question": ["q?"], "subject": ["anatomy"], "choices": [["a", "b", "c", "d"]],
                                 "answer": [2]})

    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: Fake())
    benchmarks._load_cached.cache_clear()
    frame = benchmarks.load_benchmark("mmlu", source="hub")
    benchmarks._load_cached.cache_clear()
    assert frame.to_dict("records") == [{"problem_id": "anatomy/0", "subject": "anatomy", "question": "q?",
                                         "choices": ["a", "b", "c", "d"], "answer": "C"}]


def test_user_message_carries_the_instruction_and_lettered_options():
    mmlu = benchmarks.load_benchmark("mmlu").iloc[0]
    message = benchmarks.user_message("mmlu", mmlu)
    assert "\nA. " in message and "\nD. " in message and message.endswith("within \\boxed{}.")
    assert benchmarks.user_message("gsm8k", {"question": "1+1?"}) == (
        "1+1?\n\nPlease reason step by step, and put your final answer within \\boxed{}.")


@pytest.fixture
def copies(tmp_path, monkeypatch):
    """A private data/benchmarks with one listed JSON-lines file (the real copies stay untouched)."""
    (tmp_path / "set").mkdir()
    good = tmp_path / "set" / "test.jsonl"
    good.write_text('{"question": "1+1", "answer": "2"}\n{"question": "2+2", "answer": "4"}\n')
    (tmp_path / "SHA256SUMS").write_text(f"{files.file_digest(good)}  set/test.jsonl\n")
    monkeypatch.setattr(files, "BENCHMARKS_DIR", tmp_path)
    monkeypatch.setattr(files, "CHECKSUMS", tmp_path / "SHA256SUMS")
    files._listed.cache_clear()
    yield tmp_path
    files._listed.cache_clear()


def test_a_benchmark_file_is_read_only_while_it_matches_its_checksum(copies):
    assert [r["answer"] for r in files.read_jsonl("set/test.jsonl")] == ["2", "4"]
    path = copies / "set" / "test.jsonl"
    path.write_text(path.read_text().replace('"4"', '"5"'))  # one changed answer
    with pytest.raises(files.BenchmarkFileError, match=r"data/benchmarks/set/test.jsonl does not match its SHA-256 "
                                                       r".*git checkout -- data/benchmarks/set/test.jsonl"):
        files.read_jsonl("set/test.jsonl")
    (copies / "set" / "new.jsonl").write_text('{"q": 1}\n')
    with pytest.raises(files.BenchmarkFileError, match=r"set/new.jsonl is not listed in data/benchmarks/SHA256SUMS"):
        files.read_jsonl("set/new.jsonl")
    with pytest.raises(files.BenchmarkFileError, match=r"set/gone.jsonl is missing"):
        files.read_jsonl("set/gone.jsonl")


@pytest.mark.parametrize("text, fragment", [
    ('{"q": 1}\n{"q": 2\n', r"data/benchmarks/set/test.jsonl: line 2 is not JSON \(Expecting ',' delimiter"),
    ("", r"data/benchmarks/set/test.jsonl is empty; allowed: a file with at least one problem"),
    ("\n\n", r"is empty"),
])
def test_malformed_and_empty_files_name_the_file_and_line(copies, text, fragment):
    path = copies / "set" / "test.jsonl"
    path.write_text(text)
    (copies / "SHA256SUMS").write_text(f"{files.file_digest(path)}  set/test.jsonl\n")  # listed as it is
    files._listed.cache_clear()
    with pytest.raises(files.BenchmarkFileError, match=fragment):
        files.read_jsonl("set/test.jsonl")


def test_n_shots_beyond_the_solved_examples_is_an_error():
    from lpts_helpers.engine.generation import GenerationConfig

    assert GenerationConfig(benchmark="gsm8k", prompt_style="few-shot", n_shots=8).n_shots == 8
    with pytest.raises(ConfigError, match=r"n_shots=100 for 'gsm8k': it has 8 solved examples \(gsm8k-train\); "
                                          r"allowed: 0..8"):
        GenerationConfig(benchmark="gsm8k", prompt_style="few-shot", n_shots=100)
    with pytest.raises(ConfigError, match=r"n_shots=6 for 'mmlu': it has 5"):
        GenerationConfig(benchmark="mmlu", prompt_style="few-shot", n_shots=6)
