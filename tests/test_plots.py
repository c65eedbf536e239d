"""The offline chart renderer, and the browser check that proves charts draw with no network."""

import altair as alt
import numpy as np
import pandas as pd
import pytest

from lpts_helpers.book import browser, plots

DATA = pd.DataFrame({"x": [1, 2, 3], "y": [3, 1, 2]})


def chart():
    return alt.Chart(DATA, title="toy").mark_line().encode(x="x:Q", y="y:Q")


def test_renderer_emits_a_static_svg_and_an_embed_script():
    bundle = plots.offline_renderer(chart().to_dict())
    html = bundle["text/html"]
    assert 'class="lpts-chart"' in html and "<svg" in html and "window.vegaEmbed(el, spec" in html
    assert "cdn" not in html.lower() and "https://" not in html.split("<script")[1].split("$schema")[0]
    assert bundle["text/plain"] == "<chart: toy>"


def test_enable_offline_charts_makes_it_the_active_renderer():
    plots.enable_offline_charts()
    assert alt.renderers.active == "lpts"
    assert "lpts-chart" in alt.renderers.get()(chart().to_dict())["text/html"]


def test_bundle_is_written_once_and_scoped(tmp_path):
    path = plots.write_vega_bundle(tmp_path)
    text = path.read_text()
    assert text.startswith("(function () {") and "window.vegaEmbed" in text and len(text) > 500_000
    mtime = path.stat().st_mtime_ns
    plots.write_vega_bundle(tmp_path)
    assert path.stat().st_mtime_ns == mtime  # unchanged bundle: not rewritten


def page(tmp_path, with_bundle):
    html = plots.offline_renderer(chart().to_dict())["text/html"]
    script = '<script src="vega-bundle.js"></script>' if with_bundle else ""
    plots.write_vega_bundle(tmp_path)
    target = tmp_path / "page.html"
    target.write_text(f"<html><head>{script}</head><body>{html}</body></html>")
    return target


@pytest.mark.slow
def test_browser_check_sees_drawn_charts_offline(tmp_path):
    report = browser.chart_report(page(tmp_path, with_bundle=True))
    assert (report.charts, report.drawn) == (1, 1)


@pytest.mark.slow
def test_browser_check_does_not_count_the_static_fallback(tmp_path):
    report = browser.chart_report(page(tmp_path, with_bundle=False))
    assert (report.charts, report.drawn) == (1, 0)


@pytest.mark.slow
def test_a_cdn_chart_does_not_draw_offline(tmp_path):
    # Altair's own HTML output loads vega from a CDN: with the network off it must not draw (the reason for all this).
    target = tmp_path / "cdn.html"
    chart().save(target, format="html")
    html = target.read_text().replace('<div id="vis"', '<div id="vis" class="lpts-chart"')
    target.write_text(html)
    report = browser.chart_report(target)
    assert (report.charts, report.drawn) == (1, 0)


def _compare_rows():
    rows = []
    for method in ("shortgpt", "reverse"):
        for n, retention in ((0, 1.0), (1, 0.8)):
            rows.append({"model": "m", "task": "t", "method": method, "pruned_layers": n, "informative": True,
                         "retention": retention, "retention_low": retention - 0.1, "retention_high": retention + 0.1,
                         "accuracy": 0.5 * retention, "low": 0.4, "high": 0.6, "baseline": 0.5, "n_problems": 10,
                         "budget": 16 * (n + 1)})
    rows.append({**rows[0], "task": "at chance", "informative": False})
    return pd.DataFrame(rows)


def test_pruning_charts_have_tooltips_and_a_legend_selector():
    frame = _compare_rows()
    retention = plots.retention_chart(frame, title="r").to_dict()
    assert retention["params"][0]["bind"] == "legend" and retention["params"][0]["select"]["fields"] == ["method"]
    panels = {row["panel"] for row in retention["datasets"][next(iter(retention["datasets"]))]}
    assert panels == {"m · t"}  # the uninformative task is left out
    scaling = plots.scaling_chart(frame, x="budget", x_title="budget", log_x=True, title="s").to_dict()
    assert scaling["params"][0]["select"]["fields"] == ["pruned_layers"]
    assert scaling["spec"]["layer"][0]["encoding"]["x"]["scale"]["type"] == "log"
    assert {t["field"] for t in scaling["spec"]["layer"][0]["encoding"]["tooltip"]} >= {"budget", "accuracy"}


def test_sensitivity_heatmap_maps_loss_and_retention_to_what_is_kept():
    table = pd.DataFrame([{"model": "m", "layer": 0, "measure": "heldout_nll", "relative": 1.0, "value": 2.0,
                           "baseline": 1.0},
                          {"model": "m", "layer": 0, "measure": "task", "relative": 0.5, "value": 0.25,
                           "baseline": 0.5}])
    spec = plots.sensitivity_heatmap(table, title="h").to_dict()
    kept = {row["task"]: row["kept"] for row in spec["datasets"][next(iter(spec["datasets"]))]}
    assert kept == {"held-out loss": 0.5, "task": 0.5}


def test_recovery_charts_show_each_arm_and_each_recipes_curve():
    frame = _compare_rows()
    by_method = plots.scaling_chart(frame, x="budget", x_title="budget", title="s", color="method").to_dict()
    assert by_method["params"][0]["select"]["fields"] == ["method"]
    panels = {row["panel"] for row in by_method["datasets"][next(iter(by_method["datasets"]))]}
    assert all(panel.count("·") == 1 for panel in panels)  # model · task: the method is a line, not a panel
    arms = plots.arms_chart(frame, title="a").to_dict()
    assert arms["spec"]["layer"][0]["encoding"]["y"]["sort"] == list(dict.fromkeys(frame["method"]))
    curves = pd.DataFrame([{"recipe": "m · LoRA SFT", "step": 0, "kind": "heldout", "loss": 1.4, "reward": np.nan},
                           {"recipe": "m · LoRA SFT", "step": 5, "kind": "train", "loss": 0.9, "reward": np.nan},
                           {"recipe": "m · GRPO", "step": 5, "kind": "train", "loss": 0.0, "reward": 0.25}])
    spec = plots.recovery_curves_chart(curves, title="c").to_dict()
    sft, rl = (spec["datasets"][chart["data"]["name"]] for chart in spec["hconcat"])
    assert [row["kind"] for row in sft] == ["heldout", "train"] and [row["reward"] for row in rl] == [0.25]


def test_claims_chart_sets_the_papers_number_beside_ours_per_claim():
    from lpts_helpers.core import verdicts

    rows = [verdicts.evidence_row("C1 knowledge", "thinking SmolLM2, ARC-Easy", "ShortGPT, 1 of 30 layers cut",
                                  "share kept", 0.95, 0.9, 1.0, "agrees", paper="0.97", paper_value=0.97),
            verdicts.evidence_row("C4 samples", "organism, sums", "LaCo, 2 of 12 layers cut", "change in gain", -0.1,
                                  -0.2, 0.0, "disagrees", paper="-0.1", paper_value=-0.1),
            verdicts.evidence_row("C4 samples", "organism, recall", "LaCo, 2 of 12 layers cut", "change", np.nan,
                                  np.nan, np.nan, "not testable here", ours="at chance")]
    evidence = verdicts.claim_table(rows)
    spec = plots.claims_chart(evidence, verdicts.claim_verdicts(evidence), title="claims").to_dict()
    assert spec["facet"]["row"]["field"] == "claim" and spec["resolve"]["scale"]["x"] == "independent"
    data = next(iter(spec["datasets"].values()))
    assert [d["row"] for d in data] == ["thinking SmolLM2, ARC-Easy · ShortGPT, 1 of 30 layers cut",
                                        "organism, sums · LaCo, 2 of 12 layers cut"]  # no row without a number
    assert [d["verdict"] for d in data] == ["agrees", "disagrees"]
    marks = [layer["mark"] for layer in spec["spec"]["layer"]]
    assert any(m.get("shape") == "diamond" for m in marks if isinstance(m, dict))
    assert "<svg" in plots.offline_renderer(spec)["text/html"]
