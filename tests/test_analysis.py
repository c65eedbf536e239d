"""The trace measures of chapter 08 on hand-made traces, the paper's example, the store and the judge."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import numpy as np
import pandas as pd
import pytest

from lpts_helpers.book import display
from lpts_helpers.chapters import ch08_traces
from lpts_helpers.core.config import ConfigError
from lpts_helpers.methods import analysis
from lpts_helpers.methods.analysis import AnalysisConfig, LoopSpec

STEPS = ("First we add 12 and 30 to get 42.", "Then we double 42 to get 84.", "Next we subtract 9 from 84, leaving 75.",
         "Finally we divide 75 by 5 and obtain 15.", "So the answer is 15.")


def test_a_trace_that_repeats_a_line_ten_times_loops():
    trace = "Let me think about the sum:\n" + "I compute 7 plus 8 and get 15 then I start over.\n" * 10
    stats = analysis.loop_stats(trace)
    assert stats["loops"] and stats["loop_fraction"] > 0.8
    # nine of the ten copies are looping tokens (the first is the original); the intro is not
    per_line = len(analysis.TOKEN.findall("I compute 7 plus 8 and get 15 then I start over."))
    assert stats["looping_tokens"] == 9 * per_line


def test_distinct_steps_do_not_loop_and_the_threshold_decides():
    assert analysis.loop_stats(" ".join(STEPS)) == {"tokens": len(analysis.TOKEN.findall(" ".join(STEPS))),
                                                    "looping_tokens": 0, "loop_fraction": 0.0, "loops": False}
    twice = "We add 12 and 30 to get 42 now . " * 3 + " ".join(STEPS) * 3
    loose, strict = LoopSpec(n=10, min_repeats=3, min_fraction=0.2), LoopSpec(n=10, min_repeats=3, min_fraction=0.9)
    assert analysis.loop_stats(twice, loose)["loops"] and not analysis.loop_stats(twice, strict)["loops"]
    assert analysis.loop_stats("")["tokens"] == 0 and not analysis.loop_stats("")["loops"]


def test_identical_samples_have_cross_sample_self_bleu_100_and_different_ones_less():
    text = " ".join(STEPS)
    assert analysis.self_bleu_across([text] * 4) == pytest.approx(100.0)
    other = "The cat sat on the mat while the dog slept near the warm fire all afternoon."
    assert analysis.self_bleu_across([text, other]) < 10
    with pytest.raises(ValueError, match="at least 2 samples"):
        analysis.self_bleu_across([text])


def test_within_trace_self_bleu_follows_the_paper():
    repeated = " ".join(["We add 12 and 30 to get 42 in total."] * 5)
    assert analysis.self_bleu_within(repeated) == pytest.approx(100.0)
    varied = analysis.self_bleu_within(" ".join(STEPS))
    assert 0 < varied < 50
    assert analysis.self_bleu_within("One sentence only.") == 0.0  # the paper: a one-sentence response scores 0
    lines = "=95\nA+2=97\nB-3=94\nC+5=99"  # the organism's format: one step per line, no punctuation
    assert len(analysis.sentences(lines)) == 1 and len(analysis.sentences(lines, split_lines=True)) == 4


def test_three_waits_give_the_right_rate_and_answer_changes():
    trace = ("We add 12 and 30 to get 41. Wait, 12 and 30 is 42. Then we double it to get 84. Wait, that is right: "
             "84. Finally we divide 84 by 4 and get 21. Wait, 84 / 4 = 20.")
    stats = analysis.reflection_stats(trace)
    n_tokens = len(analysis.TOKEN.findall(trace))
    assert stats["markers"] == stats["backtracking"] == 3 and stats["verification"] == 0
    assert stats["reflection_rate"] == pytest.approx(3000 / n_tokens)
    # 41 → 42 changed; 84 is restated (kept); 21 → 20 changed
    assert stats["reflections_judged"] == 3 and stats["answer_changes"] == 2


def test_markers_inside_a_loop_are_repetitions_not_reflections():
    looped = "We get 81.\n" + "Wait, A-4B+6=81 so the total stays the same as before\n" * 8
    stats = analysis.reflection_stats(looped)
    assert stats["markers"] == 1 and stats["repeated_markers"] == 7
    assert analysis.reflection_stats("Let me verify this. Let me check again, verify.")["verification"] == 3


def test_paper_example_is_the_papers_s1_traces():
    samples = analysis.paper_example_samples()
    assert len(samples) == 16 and samples["item_id"].nunique() == 2
    assert set(samples["gold"]) == {"116", "756"}
    assert samples["correct"].sum() == 7  # exact_matches: 6 of 8 on the first problem, 1 of 8 on the second
    assert samples["hit_budget"].sum() == 9 and not samples["thinking"].str.contains("<|im_start|>", regex=False).any()


def test_measures_are_stored_and_summarised(store, monkeypatch):
    frame = pd.DataFrame({
        "item_id": ["p1", "p1", "p2", "p2"], "sample": [0, 1, 0, 1], "question": ["q1", "q1", "q2", "q2"],
        "thinking": ["", "", "", ""], "correct": [True, False, False, False], "hit_budget": [False, False, True, True],
        "completion": [" ".join(STEPS), " ".join(STEPS), "I add 1 and 1 to get 2 and I go on.\n" * 10,
                       "We multiply 3 by 5 to obtain 15. Wait, 3 times 5 is 15 indeed."]})
    monkeypatch.setattr(analysis, "source_samples", lambda source: frame)
    run = analysis.run_analysis(AnalysisConfig(source="hand-made"), store)
    measures = run.samples
    assert list(measures["item_id"]) == ["p1", "p1", "p2", "p2"]
    assert measures["cross_self_bleu"].iloc[0] == pytest.approx(100.0) and measures["loops"].tolist() == [
        False, False, True, False]
    summary = analysis.summarize(measures)
    assert summary["accuracy"].value == pytest.approx(0.25) and summary["loop share"].value == pytest.approx(0.25)
    assert summary["Self-BLEU (across samples)"].n_problems == 2
    again = analysis.run_analysis(AnalysisConfig(source="hand-made"), store)
    assert not again.computed


def test_paired_change_and_claims_on_hand_made_tables():
    def table(loops):
        return pd.DataFrame({"item_id": [f"p{i}" for i in range(len(loops))], "sample": 0, "correct": False,
                             "loops": loops, "loop_fraction": np.asarray(loops, float), "hit_budget": False,
                             "self_bleu": 10.0, "cross_self_bleu": np.nan, "reflection_rate": 0.0,
                             "answer_changes": 0, "reflections_judged": 0})
    unpruned, pruned = table([False] * 20), table([True] * 15 + [False] * 5)
    change = analysis.paired_change(unpruned, pruned, "loop share")
    assert change.value == pytest.approx(0.75) and change.low > 0
    rows = []
    for label, value in (("loop share", change), ("Self-BLEU (within)", analysis.paired_change(unpruned, pruned,
                                                                                                 "Self-BLEU (within)")),
                         ("reflections per 1k tokens", analysis.paired_change(unpruned, pruned,
                                                                                "reflections per 1k tokens"))):
        rows.append({"model": "m", "traces": "greedy", "method": "shortgpt", "pruned_layers": 2, "measure": label, "unpruned": 0.0,
                     "unpruned high": 0.0, "change": value.value, "low": value.low, "high": value.high,
                     "change (95% CI)": str(value)})
    claims = ch08_traces.trace_claims(pd.DataFrame(rows)).set_index("claim")
    assert claims.loc["C6 pruned models loop", "agreement"] == "agrees"
    assert claims.loc["C7 pruned models lose diversity (higher Self-BLEU)", "agreement"] == "disagrees"
    assert claims.loc["C8 pruned models reflect less", "agreement"] == "not testable here"  # nothing to lose


def test_correlation_with_accuracy_resamples_problems():
    rng = np.random.default_rng(0)
    fraction = rng.random(200)
    frame = pd.DataFrame({"item_id": np.repeat(np.arange(40), 5), "sample": np.tile(np.arange(5), 40),
                          "loop_fraction": fraction, "correct": fraction < 0.3, "self_bleu": rng.random(200),
                          "reflection_rate": 0.0})
    table = analysis.correlation_with_accuracy(frame).set_index("measure")
    assert table.loc["looping fraction", "high"] < -0.5 and table.loc["looping fraction", "problems"] == 40
    assert table.loc["Self-BLEU (within)", "low"] < 0 < table.loc["Self-BLEU (within)", "high"]
    assert np.isnan(table.loc["reflections per 1k tokens", "spearman"])  # a constant has no correlation


def test_case_study_html_marks_loops_and_reflections():
    text = "Hmm, start.\n" + "I compute 7 plus 8 and get 15 then I start over.\n" * 4
    kinds = {kind for _, _, kind in analysis.highlights(text)}
    assert kinds == {"loop", "reflection"}
    case = pd.DataFrame([{"label": "unpruned", "item_id": "p", "question": "7+8?", "gold": "15", "text": "It is 15.",
                          "correct": True, "hit budget": False, "loop fraction": 0.0, "Self-BLEU": 0.0,
                          "reflections per 1k": 0.0},
                         {"label": "reverse, 2 layers cut", "item_id": "p", "question": "7+8?", "gold": "15",
                          "text": text, "correct": False, "hit budget": True, "loop fraction": 0.7, "Self-BLEU": 90.0,
                          "reflections per 1k": 10.0}])
    page = display.side_by_side(case).data
    assert "reverse, 2 layers cut" in page and 'title="loop"' in page and 'title="reflection">Hmm<' in page
    assert "&lt;" not in analysis.marked_html("a < b")[:0] and "a &lt; b" in analysis.marked_html("a < b")


class FakeReflectionJudge(BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        trace = body["messages"][1]["content"]
        n = trace.lower().count("wait")
        reply = json.dumps({"verification": n, "backtracking": n, "subgoal_setting": 1})
        payload = json.dumps({"choices": [{"message": {"role": "assistant", "content": f"```json\n{reply}\n```"}}]})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(payload.encode())

    def log_message(self, *args):
        pass


def test_reflection_judge_counts_and_agreement():
    server = HTTPServer(("127.0.0.1", 0), FakeReflectionJudge)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        judge = analysis.ReflectionJudge(f"http://127.0.0.1:{server.server_address[1]}/v1", "judge")
        assert judge.count("q", "Wait. wait. Then done.") == {"verification": 2.0, "backtracking": 2.0,
                                                             "subgoal_setting": 1.0}
    finally:
        server.shutdown()
    frame = pd.DataFrame({"item_id": list("abcdef"), "sample": 0, "markers": [0, 1, 2, 3, 4, 5],
                          "verification": [0, 0, 1, 1, 2, 2], "judge_verification": [0, 1, 1, 2, 3, 3],
                          "judge_backtracking": [0, 0, 1, 1, 1, 2]})
    agreement = analysis.judge_agreement(frame)
    assert agreement["spearman (95% CI)"].iloc[0].startswith("1.00")  # judged 0..5 against 0..5 markers
    assert 0.8 < float(agreement["spearman (95% CI)"].iloc[1].split()[0]) < 1


@pytest.mark.parametrize("reply, expected", [
    ('{"verification": 2, "backtracking": 0, "subgoal_setting": 3}', (2.0, 0.0, 3.0)),
    ('Sure! {"verification": -1, "backtracking": "x"}', (np.nan, np.nan, np.nan)),
    ("no json", (np.nan, np.nan, np.nan))])
def test_parse_judge_counts(reply, expected):
    counts = analysis.parse_counts(reply)
    np.testing.assert_array_equal([counts[k] for k in analysis.JUDGE_KINDS], expected)


def test_bad_configs_name_the_value():
    with pytest.raises(ConfigError, match="judge_model='m' and judge_base_url=None"):
        AnalysisConfig(judge_model="m")
    with pytest.raises(ConfigError, match="loop_fraction=1.5 is out of range"):
        AnalysisConfig(loop_fraction=1.5)
    with pytest.raises(FileNotFoundError, match="source='nowhere' is not a finished run folder"):
        analysis.source_samples("nowhere")
    with pytest.raises(ValueError, match="unit='problem' is not allowed"):
        analysis.summarize(pd.DataFrame({"item_id": [], "sample": []}), unit="problem")


def test_variant_table_and_long_form_put_the_papers_traces_beside_ours():
    from types import SimpleNamespace

    frame = pd.DataFrame({"item_id": ["p1", "p2"], "sample": 0, "correct": [True, False], "loops": [False, True],
                          "loop_fraction": [0.0, 0.5], "hit_budget": [False, True], "self_bleu": [10.0, 30.0],
                          "cross_self_bleu": np.nan, "reflection_rate": [2.0, 0.0], "answer_changes": [1, 0],
                          "reflections_judged": [1, 0]})
    cell = SimpleNamespace(model="m", method="reverse", n_layers=2, task=SimpleNamespace(label="t@8"))
    table = ch08_traces.variant_table([cell], [frame])
    assert table.loc[0, "loop share value"] == pytest.approx(0.5) and table.loc[0, "Self-BLEU (within)"] != "—"
    long = ch08_traces.long_form(table, ("loop share", "Self-BLEU (across samples)"), analysis.summarize(frame))
    assert set(long["model"]) == {"m", analysis.PAPER_MODEL}
    assert "Self-BLEU (across samples)" not in set(long["measure"])  # no value with one sample per problem
