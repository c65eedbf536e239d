"""The book build: chapter order, parameter overrides, failures that name the chapter and cell, warm rebuilds."""

import ast
import json
import re

import pandas as pd
import pytest

from lpts_helpers.book import build
from lpts_helpers.chapters import (
    ch04_static,
    ch05_sequential,
    ch06_parallel,
    ch07_recovery,
    ch08_traces,
    ch90_summary,
    pruning,
)
from lpts_helpers.core.paths import REPO_ROOT
from lpts_helpers.methods import organism


def test_chapters_follow_the_table_of_contents():
    chapters = build.toc_chapters()
    assert chapters[0] == REPO_ROOT / "notebooks" / "00-models-and-benchmarks.py"
    assert all(c.exists() for c in chapters)


def test_overrides_are_read_as_yaml():
    assert build.parse_overrides([["n_problems", "3"], ["model", "smollm2-135m"], ["temperature", "0.5"],
                                  ["benchmarks", "[gsm8k, mmlu]"], ["model", "null"]]) == {
        "n_problems": 3, "temperature": 0.5, "benchmarks": ["gsm8k", "mmlu"], "model": None}


def test_overrides_go_to_the_chapters_that_declare_them():
    chapters = build.toc_chapters()
    params = build.chapter_parameters(chapters, "smoke", {"n_problems": 2})
    assert params[chapters[0]] == {"profile": "smoke", "n_problems": 2}
    with pytest.raises(SystemExit, match=r"parameter\(s\) \['n_problem'\] are declared by none of the chapters"):
        build.chapter_parameters(chapters, "smoke", {"n_problem": 2})


def test_bad_profile_and_chapter_selection(tmp_path):
    with pytest.raises(SystemExit, match=r"--profile 'fast' is not allowed"):
        build.build("fast", tmp_path, {})
    with pytest.raises(SystemExit, match=r"--chapters \['99'\] match none of"):
        build.build("smoke", tmp_path, {}, only=["99"])


@pytest.mark.slow
def test_a_failing_chapter_is_named_with_its_cell(tmp_path):
    source = tmp_path / "07-broken.py"
    source.write_text('# %% tags=["parameters"]\nprofile = "smoke"  # which profile\n\n'
                      '# %%\nx = 1\n\n# %%\nraise ValueError(f"bad value {x}")\n')
    with pytest.raises(build.ChapterError) as err:
        build.execute_chapter(source, tmp_path / "out" / "07-broken.ipynb", {"profile": "smoke"})
    message = str(err.value)
    assert f"chapter {source} failed in cell 3" in message  # 0: parameters, 1: injected, 2: x = 1
    assert 'raise ValueError(f"bad value {x}")' in message and "ValueError: bad value 1" in message
    assert (tmp_path / "out" / "07-broken.ipynb").exists()  # the partial notebook is kept for reading


def test_injected_parameters_are_hidden_and_a_page_without_code_hides_its_parameters(tmp_path):
    import nbformat

    def tags_after(*other_tags):
        cells = [nbformat.v4.new_code_cell("profile = 'default'", metadata={"tags": ["parameters"]}),
                 nbformat.v4.new_code_cell("profile = 'smoke'", metadata={"tags": ["injected-parameters"]}),
                 *(nbformat.v4.new_code_cell("x = 1", metadata={"tags": list(t)}) for t in other_tags)]
        path = tmp_path / "chapter.ipynb"
        nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
        build.hide_parameter_cells(path)
        return [c.metadata["tags"] for c in nbformat.read(path, as_version=4).cells[:2]]

    assert tags_after([], ["remove-input"]) == [["parameters"], ["injected-parameters", "remove-cell"]]
    assert tags_after(["remove-input"], ["remove-input"]) == [["parameters", "remove-cell"],
                                                             ["injected-parameters", "remove-cell"]]


def test_fingerprint_changes_with_source_and_parameters(tmp_path):
    source = tmp_path / "00-x.py"
    source.write_text("a = 1\n")
    first = build.fingerprint(source, {"profile": "smoke"})
    assert first == build.fingerprint(source, {"profile": "smoke"})
    assert first != build.fingerprint(source, {"profile": "default"})
    source.write_text("a = 2\n")
    assert first != build.fingerprint(source, {"profile": "smoke"})
    assert (build.PACKAGE_DIR / "chapters" / "ch90_summary.py").is_file()  # every helper module counts, not the
    # build's own folder only (a chapter module's edit once left every chapter "unchanged")


@pytest.mark.slow
def test_pages_hide_the_injected_parameters_and_fold_configuration_dumps(smoke_book):
    from lpts_helpers.book.browser import chapter_pages

    for page in chapter_pages(smoke_book):
        html = page.read_text()
        # the smoke build injects store_dir = "build/smoke/runs"; the page shows the chapter's own defaults only
        assert "build/smoke/runs" not in html, page
        if page.stem == "90-summary":  # the summary shows results, not code
            assert 'class="cell_input' not in html and "claim_table" not in html
        elif "plan.to_dict()" in html:  # a configuration dump is folded behind a toggle
            assert "tag_hide-output" in html, page


@pytest.mark.slow
def test_smoke_book_renders_every_chapter_with_its_charts_offline(smoke_book):
    from lpts_helpers.book.browser import chapter_pages, chart_report

    pages = chapter_pages(smoke_book)
    assert [p.stem for p in pages] == [c.stem for c in build.toc_chapters()]
    for page in pages:
        report = chart_report(page)
        assert report.charts > 0 and report.drawn == report.charts, report
    for name in ("index.html", "book/intro.html", "notebooks/90-summary.html", "book/references.html"):
        assert (smoke_book / name).exists()


@pytest.mark.slow
def test_warm_rebuild_keeps_executed_chapters(smoke_book, capsys):
    from conftest import SMOKE_DIR, SMOKE_OVERRIDES

    build.build("smoke", SMOKE_DIR, SMOKE_OVERRIDES, html=False)  # executes only what changed since `make smoke`
    capsys.readouterr()
    build.build("smoke", SMOKE_DIR, SMOKE_OVERRIDES, html=False)
    out = capsys.readouterr().out
    assert all(f"[{c.stem}] unchanged since its last execution; kept" in out for c in build.toc_chapters())
    assert "executing" not in out


@pytest.mark.slow
def test_smoke_results_are_recorded(smoke_book):
    """The smoke run's stored results, read back: the numbers the chapter shows."""
    from lpts_helpers.core.store import RunStore
    from lpts_helpers.engine.generation import GenerationConfig, PromptLengthConfig

    store = RunStore(smoke_book.parents[1] / "runs")
    completions = store.load(GenerationConfig.for_profile("smoke"))
    assert len(completions.samples) == 2 and (completions.samples["completion_tokens"] <= 16).all()
    assert completions.samples["device"].eq("cpu").all()
    lengths = store.load(PromptLengthConfig.for_profile("smoke"))
    assert {k: v["n"] for k, v in lengths.metrics.items()} == {"aime24": 20, "gsm8k": 20, "math500": 20, "mmlu": 20}
    glued = build.glued_values(smoke_book.parents[1] / "site" / "notebooks" / "00-models-and-benchmarks.ipynb")
    assert float(glued["depth_share_min"]) == pytest.approx(100 / 64, abs=0.01)
    assert float(glued["depth_share_max"]) == pytest.approx(100 / 28, abs=0.01)
    assert int(glued["n_completions"]) == 2
    assert json.loads(json.dumps(completions.metrics))["n"] == 2


@pytest.mark.slow
def test_smoke_organism_chapter_trains_evaluates_and_glues_its_targets(smoke_book):
    from lpts_helpers.chapters.ch02_organism import OrganismPlan, target_table
    from lpts_helpers.core.store import RunStore
    from lpts_helpers.methods.organism import ConsolidationConfig, OrganismConfig, checkpoint_path

    store = RunStore(smoke_book.parents[1] / "runs")
    plan = OrganismPlan.for_profile("smoke")
    for kind in ("thinking", "direct"):
        for phase in (OrganismConfig, ConsolidationConfig):
            run = store.load(phase.for_profile("smoke", kind=kind))
            assert len(run.samples) == phase.for_profile("smoke").steps
            # one checkpoint per organism: the second phase's (the first phase's is dropped once it is used)
            kept = (checkpoint_path(run.path) / "model.safetensors").is_file()
            assert kept == (phase is ConsolidationConfig)
    glued = build.glued_values(smoke_book.parents[1] / "site" / "notebooks" / "02-the-model-organism.ipynb")
    # per thinking model: recall (two forms), short, long, two sampling gains, budget slope, "Wait"; the control: 3
    expected = 8 * len(plan.thinking_models) + 3
    assert int(glued["targets_total"]) == expected and 0 <= int(glued["targets_met"]) <= expected
    targets = target_table(plan, store)  # read back from the smoke build's stored runs
    assert len(targets) == expected and int(glued["targets_met"]) == int((targets["met"] == "yes").sum())
    from lpts_helpers.chapters.ch02_organism import training_summary
    from lpts_helpers.methods import organism

    # the longest stored training, however loaded the machine was (a time is a benchmark's business, not a test's)
    runs = {model: organism.trained(organism.config_for(model, "smoke"), store) for model in plan.models}
    assert float(glued["train_minutes"]) == float(training_summary(runs)["minutes"].max()) >= 0


GLUE_ROLE = re.compile(r"\{glue:text\}`([^`]+)`")


def cited_glue(text: str) -> list[tuple[str | None, str]]:
    """The (page, key) of every ``{glue:text}`` role in ``text``; page None for the page itself. A role is
    ``[page::]key[:format]``, and a role naming another page must end in a format (myst-nb splits at the last ':')."""
    cited = []
    for role in GLUE_ROLE.findall(text):
        page, _, rest = role.rpartition("::")
        key = rest.rsplit(":", 1)[0] if page or ":" in rest else rest
        cited.append((page or None, key))
    return cited


def test_cited_glue_is_parsed_as_myst_nb_reads_it():
    text = "a {glue:text}`verdict` b {glue:text}`slope:+.2f` c {glue:text}`02-x.ipynb::thinker_long:s`"
    assert cited_glue(text) == [(None, "verdict"), (None, "slope"), ("02-x.ipynb", "thinker_long")]


def glued_text(page) -> dict[str, str]:
    """A page's glued values as its prose shows them (strings without their quotes)."""
    values = build.glued_values(page)
    return {key: ast.literal_eval(text) if text[:1] in "'\"" else text for key, text in values.items()}


@pytest.mark.slow
def test_every_number_the_prose_cites_is_glued_and_every_verdict_is_short(smoke_book):
    """Each ``{glue:text}`` role of every page names a value that page (or the page it names) glued — in the smoke
    build, whose plans are the smallest, so no profile lacks one — and each glued verdict is at most three
    sentences."""
    import nbformat

    site = smoke_book.parents[1] / "site" / "notebooks"
    pages = sorted(site.glob("[0-9][0-9]-*.ipynb"))
    glued = {page.name: glued_text(page) for page in pages}
    for page in pages:
        prose = "\n".join(c.source for c in nbformat.read(page, as_version=4).cells if c.cell_type == "markdown")
        for other, key in cited_glue(prose):
            assert key in glued[other or page.name], f"{page.name} cites {other or ''}::{key}, which is not glued"
        if "verdict" in glued[page.name]:
            sentences = re.findall(r"[.!?](?:\s|$)", glued[page.name]["verdict"].strip())
            assert len(sentences) <= 3, f"{page.name}: {glued[page.name]['verdict']}"


def test_kept_chapters_touch_their_runs_and_rerun_when_one_is_gone(tmp_path):
    marker = tmp_path / "runs" / "generation" / "abc" / "COMPLETE"
    marker.parent.mkdir(parents=True)
    marker.write_text("{}")
    record = tmp_path / "00-x.runs.json"
    assert not build._touch_runs(tmp_path / "runs", record)  # no record: execute
    record.write_text(json.dumps(["generation/abc"]))
    import os
    os.utime(marker, (0, 0))
    assert build._touch_runs(tmp_path / "runs", record) and marker.stat().st_mtime > 0
    marker.unlink()
    assert not build._touch_runs(tmp_path / "runs", record)  # a run was deleted: execute again


@pytest.mark.slow
def test_smoke_pruning_chapters_glue_verdicts_that_match_their_stored_runs(smoke_book):
    """Chapters 04–06 recomputed from the smoke store give the very sentences their verdicts glued, and the
    summary page collects one row per core claim."""
    from lpts_helpers.core import paper
    from lpts_helpers.core.store import RunStore
    from lpts_helpers.methods import study

    store = RunStore(smoke_book.parents[1] / "runs")
    plan = pruning.PruningPlan.for_profile("smoke")
    site = smoke_book.parents[1] / "site" / "notebooks"

    def verdict(chapter: str) -> str:
        return ast.literal_eval(build.glued_values(site / f"{chapter}.ipynb")["verdict"])

    table = study.compare(plan.static_cells(store), store)
    assert (table.loc[table["pruned_layers"] == 0, "drop"] == 0).all()
    assert len(table) == sum(len(plan.tasks(m)) * len(plan.methods) * (1 + len(plan.levels(m)))
                             for m in plan.models())
    spread = ch04_static.seed_spread(table, plan.seed_cells(store), plan.seed_models(), store)
    static_claims = ch04_static.static_claims(table, paper.static_table())
    expected = ch04_static.key_numbers(table, plan.roles(), paper.static_table(), spread) | {
        "verdict": ch04_static.verdict(table, plan.roles(), static_claims)}
    glued = glued_text(site / "04-static-benchmarks.ipynb")
    assert {key: glued[key] for key in expected} == expected
    budget_cells, wait_cells = plan.budget_cells(store), plan.wait_cells(store)
    slopes = ch05_sequential.scaling_slopes(budget_cells, wait_cells, store, paper.sequential_table())
    budgets, waits = study.compare(budget_cells, store), study.compare(wait_cells, store)
    expected = ch05_sequential.key_numbers(slopes, budgets, waits, plan.roles()) | {"verdict": ch05_sequential.verdict(
        slopes, budgets, waits, plan.roles(), ch05_sequential.sequential_claim(slopes))}
    glued = glued_text(site / "05-sequential-scaling.ipynb")
    assert {key: glued[key] for key in expected} == expected
    gains = ch06_parallel.sampling_gains(plan.sampling_cells(store), store)
    curves = ch06_parallel.k_table(plan.sampling_cells(store), store)
    paper_parallel = paper.parallel_table()
    expected = ch06_parallel.key_numbers(gains, curves, plan.roles(), paper_parallel) | {
        "verdict": ch06_parallel.verdict(gains, curves, plan.roles(), paper_parallel,
                                         ch06_parallel.parallel_claim(gains, paper_parallel))}
    glued = glued_text(site / "06-parallel-scaling.ipynb")
    assert {key: glued[key] for key in expected} == expected
    assert "ShortGPT's first pick is layer" in verdict("03-which-layers-look-redundant")
    claims = ch90_summary.core_claims(plan, store)
    thinking = [m for m in plan.models() if plan.thinks(m)]  # a budget and a forced-Wait row per method each
    sampled = {(c.model, c.task.label) for c in plan.sampling_cells(store)}  # a parallel row per method each
    static_pairs = {(c.model, c.task.label) for c in plan.static_cells(store)}  # a C1/C2/C2′ row each
    prefixes = [c[:2] for c in claims["claim"]]
    assert sorted(prefixes[:len(static_pairs)]) == prefixes[:len(static_pairs)]
    assert set(prefixes[:len(static_pairs)]) <= {"C1", "C2"}
    assert prefixes[len(static_pairs):] == (["C3"] * 2 * len(thinking) * len(plan.methods)
                                            + ["C4"] * len(sampled) * len(plan.methods))
    summary = (site / "90-summary.ipynb").read_text()
    assert all(claim in summary for claim in ("C1 knowledge", "C4 parallel", "C8 pruned models reflect less"))
    written = pd.read_csv(smoke_book.parents[1] / "claims.csv")  # beside the smoke store, and in the site
    evidence = ch90_summary.all_evidence(plan, store)
    assert len(written) == len(evidence) and (smoke_book / "claims.csv").read_text() == \
        (smoke_book.parents[1] / "claims.csv").read_text()


@pytest.mark.slow
def test_smoke_recovery_chapter_glues_a_verdict_from_its_stored_runs(smoke_book):
    """Chapter 07 recomputed from the smoke store gives the sentence its verdict glued, and the summary page has
    the recovery claims' rows."""
    from lpts_helpers.core.store import RunStore
    from lpts_helpers.methods import study

    store = RunStore(smoke_book.parents[1] / "runs")
    plan = ch07_recovery.RecoveryPlan.for_profile("smoke")
    site = smoke_book.parents[1] / "site" / "notebooks"
    arms = ch07_recovery.arms(plan, store)
    assert [len(rows) for rows in arms.values()] == [2 + len(plan.recipes_of(m)) for m in arms]
    cells = plan.static_cells(arms)
    static = study.compare(cells, store)
    changes = ch07_recovery.versus_pruned(static, cells, store, plan.pruned_arms())
    sampling = plan.sampling_cells(arms)
    gains = ch07_recovery.with_gain_vs_pruned(ch06_parallel.sampling_gains(sampling, store), sampling, store,
                                         plan.pruned_arms())
    slopes = ch07_recovery.slope_gains(plan.budget_cells(arms), store, plan.pruned_arms())
    assert set(slopes["model"]) == {m for m in arms if plan.pruning.thinks(m)}
    recipe_arms = plan.recipe_arms(store)
    claims = ch07_recovery.recovery_claims(pd.concat([gains, slopes], ignore_index=True), plan.pruned_arms(),
                                           recipe_arms)
    expected = ch07_recovery.key_numbers(static, gains, slopes, plan, recipe_arms) | {
        "verdict": ch07_recovery.verdict(static, gains, slopes, plan, recipe_arms, claims)}
    glued = glued_text(site / "07-recovery.ipynb")
    assert {key: glued[key] for key in expected} == expected
    assert claims.equals(ch07_recovery.claims(plan, store))  # the summary's rows are the chapter's
    claims = ch07_recovery.claims(plan, store)
    assert list(dict.fromkeys(c[:3] for c in claims["claim"])) == ["C5 ", "C5′"]  # evidence rows, in claim order
    assert "C5 SFT (LoRA or full)" in (site / "90-summary.ipynb").read_text()


@pytest.mark.slow
def test_smoke_analysis_chapter_glues_its_verdict_and_the_summary_has_its_claims(smoke_book):
    """Chapter 08 recomputed from the smoke store gives the sentence its verdict glued, and the summary page has
    the C6–C8 rows measured (no longer "not measured yet")."""
    from lpts_helpers.core.store import RunStore
    from lpts_helpers.methods import analysis

    store = RunStore(smoke_book.parents[1] / "runs")
    plan = ch08_traces.AnalysisPlan.for_profile("smoke")
    site = smoke_book.parents[1] / "site" / "notebooks"
    cells = plan.trace_cells(store)
    measures = ch08_traces.cell_measures(cells, store, plan)
    table = ch08_traces.variant_table(cells, measures)
    paper_summary = analysis.summarize(ch08_traces.paper_example(plan, store), unit="trace")
    sample_cells = plan.sample_cells(store)
    sampled = ch08_traces.cell_measures(sample_cells, store, plan)
    labels = ("loop share", "Self-BLEU (within)", "reflections per 1k tokens")
    changed = ch08_traces.changes(cells, measures, labels)
    claims = ch08_traces.trace_claims(changed, ch08_traces.changes(sample_cells, sampled,
                                                                   (*labels, "Self-BLEU (across samples)"), "sampled"))
    roles = plan.pruning.roles()
    expected = ch08_traces.key_numbers(table, ch08_traces.variant_table(sample_cells, sampled), paper_summary, roles) \
        | {"verdict": ch08_traces.verdict(table, changed, roles, claims)}
    glued = glued_text(site / "08-why-scaling-breaks.ipynb")
    assert {key: glued[key] for key in expected} == expected
    assert claims.equals(ch08_traces.claims(plan, store))
    claims = ch08_traces.claims(plan, store)
    assert list(dict.fromkeys(c[:2] for c in claims["claim"])) == ["C6", "C7", "C8"]
    summary = (site / "90-summary.ipynb").read_text()
    assert "C7 pruned models lose diversity" in summary and "not measured yet" not in summary


def test_fresh_keeps_the_trained_organisms(tmp_path):
    for stage in ("organism", "organism-consolidation", "generation", "evaluation"):
        (tmp_path / stage / "abc").mkdir(parents=True)
    build.clear_store(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["organism", "organism-consolidation"]
    assert build.TRAINED_STAGES == (organism.OrganismConfig.STAGE, organism.ConsolidationConfig.STAGE)


def _fake_build(root, chapters, *, claims=True, page="<html><body>chapter</body></html>"):
    html = root / "_build" / "html"
    (html / "notebooks").mkdir(parents=True)
    (html / "index.html").write_text(page)
    for chapter in chapters:
        (html / "notebooks" / f"{chapter.stem}.html").write_text(page)
    if claims:
        (html / "claims.csv").write_text("claim\nC1\n")
    return root


def test_publish_copies_a_complete_self_contained_build(tmp_path):
    from lpts_helpers.book import publish

    chapters = build.toc_chapters()
    dest = publish.publish(_fake_build(tmp_path / "b", chapters), tmp_path / "site")
    assert (dest / ".nojekyll").exists() and (dest / "claims.csv").read_text() == "claim\nC1\n"
    assert (dest / "notebooks" / f"{chapters[-1].stem}.html").exists()
    with pytest.raises(SystemExit, match=r"lacks chapters \['90-summary'\]"):
        publish.publish(_fake_build(tmp_path / "partial", chapters[:-1]), tmp_path / "x")
    with pytest.raises(SystemExit, match="claims.csv is missing"):
        publish.publish(_fake_build(tmp_path / "noclaims", chapters, claims=False), tmp_path / "x")
    remote = '<html><head><script src="https://cdn.example.org/vega.js"></script></head></html>'
    with pytest.raises(SystemExit, match="load assets from another host"):
        publish.publish(_fake_build(tmp_path / "remote", chapters, page=remote), tmp_path / "x")
    with pytest.raises(SystemExit, match="no rendered book"):
        publish.publish(tmp_path / "nothing", tmp_path / "x")


@pytest.mark.slow
def test_the_committed_claims_table_is_what_the_stored_runs_give():
    """data/claims.csv is the summary's evidence recomputed from data/runs (read back from the stored claim rows
    while every run they read is unchanged): a result changed without rebuilding the book fails here."""
    from lpts_helpers.core.paths import claims_file
    from lpts_helpers.core.store import RunStore

    store = RunStore()
    evidence = ch90_summary.all_evidence(pruning.PruningPlan.for_profile("default"), store)
    expected = ch90_summary.claims_csv(evidence).round(4).to_csv(index=False)
    assert claims_file(store.root).read_text() == expected, "data/claims.csv is out of date: run `make book`"


@pytest.mark.parametrize("value", ["[1, 2", "{a: ", "a: b: c"])
def test_a_malformed_parameter_value_is_a_one_line_error(value):
    with pytest.raises(SystemExit, match=rf"error: -p n_problems '{re.escape(value)}' is not a YAML value") as err:
        build.parse_overrides([["n_problems", value]])
    assert "\n" not in str(err.value)


def test_bad_out_and_empty_chapters_are_one_line_errors(tmp_path):
    afile = tmp_path / "book.txt"
    afile.write_text("x")
    with pytest.raises(SystemExit, match=r"error: --out .*book.txt is a file; allowed: a folder"):
        build.build("smoke", afile, {})
    for only in ([""], [" "], []):
        with pytest.raises(SystemExit, match=r"error: --chapters .* has an empty entry"):
            build.build("smoke", tmp_path / "out", {}, only=only)


def test_a_chapter_run_by_papermill_refuses_a_parameter_it_does_not_declare():
    parameters = 'profile = "default"  # which profile\nn_problems = None  # how many\n'
    build.check_injected_parameters({"In": ["", parameters, "# Parameters\nprofile = \"smoke\"\n"]})
    build.check_injected_parameters({"In": ["", parameters]})  # not run by papermill: nothing to check
    with pytest.raises(build.ChapterError, match=r"parameter\(s\) \['n_problem'\] are not declared by this "
                                                 r"chapter; allowed: \['n_problems', 'profile'\]"):
        build.check_injected_parameters({"In": ["", parameters, "# Parameters\nn_problem = 3\n"]})


@pytest.mark.slow
def test_papermill_run_directly_with_a_misspelt_parameter_stops_at_once(tmp_path):
    source = tmp_path / "07-chapter.py"
    source.write_text('# %% tags=["parameters"]\nprofile = "default"  # which profile\nn_problems = None  # how many\n\n'
                      '# %%\nfrom lpts_helpers.book.build import check_injected_parameters\n\n'
                      'check_injected_parameters(globals())\n\n# %%\nraise AssertionError("computed anyway")\n')
    with pytest.raises(build.ChapterError, match=r"ChapterError: parameter\(s\) \['n_problem'\] are not declared"):
        build.execute_chapter(source, tmp_path / "out.ipynb", {"profile": "smoke", "n_problem": 3})
