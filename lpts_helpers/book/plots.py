"""Chart specs for the book, and an Altair renderer that draws them with no network.

Altair's default HTML output loads vega, vega-lite and vega-embed from a public CDN, so a reader offline or
behind a firewall would see no chart. The ``lpts`` renderer instead emits a ``<div>`` holding a static SVG of the
chart (drawn by vl-convert, visible anywhere, JupyterLab included) and a script that swaps in the interactive
chart when ``vegaEmbed`` is on the page. The built book puts it there once for every page: the build writes
``vl_convert.javascript_bundle()`` to ``_static/vega-bundle.js`` (see ``write_vega_bundle``). Introduced in
``00-models-and-benchmarks``; every chapter's charts come from here.
"""

from __future__ import annotations

import hashlib
import html
import itertools
import json
from pathlib import Path

import altair as alt
import pandas as pd

VEGA_BUNDLE = "vega-bundle.js"
_counter = itertools.count()

_EMBED_SCRIPT = """<script type="text/javascript">
(function () {
  var el = document.getElementById("%(id)s");
  var spec = %(spec)s;
  function draw() {
    el.innerHTML = "";
    window.vegaEmbed(el, spec, {renderer: "svg", actions: {export: true, source: false, compiled: false,
                                                           editor: false}})
      .catch(function (err) { el.textContent = "chart failed to render: " + err; });
  }
  if (window.vegaEmbed) { draw(); }
  else { window.addEventListener("load", function () { if (window.vegaEmbed) { draw(); } }); }
})();
</script>"""


def _static_svg(spec: dict) -> str:
    import vl_convert

    return vl_convert.vegalite_to_svg(spec)


def offline_renderer(spec: dict, **_: object) -> dict[str, str]:
    """Altair renderer: a mimebundle whose HTML draws the chart from a page-level vega bundle, or shows an SVG."""
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]
    div_id = f"lpts-chart-{digest}-{next(_counter)}"
    body = (f'<div id="{div_id}" class="lpts-chart">{_static_svg(spec)}</div>\n'
            + _EMBED_SCRIPT % {"id": div_id, "spec": json.dumps(spec).replace("</", "<\\/")})
    title = spec.get("title", "")
    title = title.get("text", "") if isinstance(title, dict) else title
    return {"text/html": body, "text/plain": f"<chart: {html.escape(str(title)) or spec.get('mark', 'layered')}>"}


def enable_offline_charts() -> None:
    """Make every Altair chart displayed in this kernel use the offline renderer (call once per notebook)."""
    alt.renderers.register("lpts", offline_renderer)
    alt.renderers.enable("lpts")
    alt.data_transformers.disable_max_rows()


def write_vega_bundle(static_dir: Path) -> Path:
    """Write vega + vega-lite + vega-embed (from vl-convert, no network) as one script the book's pages load."""
    import vl_convert

    static_dir.mkdir(parents=True, exist_ok=True)
    path = static_dir / VEGA_BUNDLE
    # The bundle declares top-level names (e.g. `_`) that clash with Sphinx's underscore.js: give it its own
    # function scope; it still publishes window.vegaEmbed, window.vega and window.vegaLite.
    bundle = "(function () {\n" + vl_convert.javascript_bundle() + "\n})();\n"
    if not path.exists() or path.read_text() != bundle:
        path.write_text(bundle)
    return path


def depth_share_chart(presets: pd.DataFrame) -> alt.Chart:
    """Bar chart: how much of each model's depth one decoder layer is (chapter 00)."""
    return alt.Chart(presets, title="One decoder layer as a share of depth").mark_bar().encode(
        x=alt.X("one layer = % of depth:Q", title="one layer, % of the model's decoder layers"),
        y=alt.Y("title:N", sort="-x", title=None),
        color=alt.Color("role:N", title="role"),
        tooltip=["title", "n_layers", "params (M)", "one layer = % of depth"],
    ).properties(width=420, height=alt.Step(22))


def token_length_chart(lengths: pd.DataFrame) -> alt.Chart:
    """Box plot of prompt lengths in tokens per benchmark (chapter 00)."""
    return alt.Chart(lengths, title="Prompt length per benchmark").mark_boxplot(extent="min-max").encode(
        x=alt.X("prompt_tokens:Q", title="prompt tokens (chat template applied)", scale=alt.Scale(type="log")),
        y=alt.Y("benchmark:N", title=None),
        color=alt.Color("benchmark:N", legend=None),
    ).properties(width=420, height=alt.Step(28))


def accuracy_chart(frame: pd.DataFrame, *, x: str, color: str, title: str, column: str = "accuracy",
                   facet: str | None = None, chance: float | None = None, x_title: str | None = None) -> alt.Chart:
    """Accuracy (points and lines) with its 95% CI (error bars) against ``x``, one line per ``color`` value.

    ``frame`` has columns ``column``, ``low`` and ``high``; ``chance`` draws a dashed rule at that accuracy.
    """
    base = alt.Chart().encode(
        x=alt.X(f"{x}:O", title=x_title or x),
        color=alt.Color(f"{color}:N", title=color),
        tooltip=[x, color, alt.Tooltip(f"{column}:Q", format=".3f"), alt.Tooltip("low:Q", format=".3f"),
                 alt.Tooltip("high:Q", format=".3f"), "n_problems"],
    )
    layers = [base.mark_line(point=True).encode(y=alt.Y(f"{column}:Q", title="accuracy (95% CI)",
                                                        scale=alt.Scale(domain=[0, 1]))),
              base.mark_errorbar().encode(y=alt.Y("low:Q", title="accuracy (95% CI)"), y2="high:Q")]
    if chance is not None:
        layers.append(alt.Chart().mark_rule(strokeDash=[4, 4], color="gray").encode(y=alt.datum(chance)))
    chart = alt.layer(*layers, data=frame).properties(width=150 if facet else 320, height=180)
    if facet:
        chart = chart.facet(column=alt.Column(f"{facet}:N", title=None))
    return chart.properties(title=title)


def interval_chart(frame: pd.DataFrame, *, y: str, title: str, chance: float | None = None) -> alt.Chart:
    """Horizontal accuracy points with 95% CI bars, one row per ``y`` value (e.g. per scoring rule)."""
    base = alt.Chart().encode(y=alt.Y(f"{y}:N", title=None))
    layers = [base.mark_errorbar().encode(x=alt.X("low:Q", title="accuracy (95% CI)",
                                                  scale=alt.Scale(domain=[0, 1])), x2="high:Q"),
              base.mark_point(filled=True, size=60).encode(x="accuracy:Q", tooltip=[y, "accuracy", "low", "high"])]
    if chance is not None:
        layers.append(alt.Chart().mark_rule(strokeDash=[4, 4], color="gray").encode(x=alt.datum(chance)))
    return alt.layer(*layers, data=frame).properties(width=420, height=alt.Step(28), title=title)


def static_chart(frame: pd.DataFrame, *, title: str) -> alt.Chart:
    """Per benchmark, accuracy with its 95% CI for each metric (colour), chance as a grey tick and published numbers
    as hollow diamonds (``frame``: benchmark, metric, accuracy, low, high, chance, published)."""
    base = alt.Chart().encode(y=alt.Y("benchmark:N", title=None), yOffset="metric:N",
                              color=alt.Color("metric:N", title="metric"))
    axis = alt.X("low:Q", title="accuracy (95% CI)", scale=alt.Scale(domain=[0, 1]))
    layers = [base.mark_errorbar().encode(x=axis, x2="high:Q"),
              base.mark_point(filled=True, size=50).encode(
                  x="accuracy:Q", tooltip=["benchmark", "metric", "accuracy", "low", "high"]),
              base.mark_point(shape="diamond", size=90, filled=False).encode(
                  x="published:Q", tooltip=["benchmark", "metric", "published"]),
              alt.Chart().mark_tick(color="gray", thickness=2).encode(y="benchmark:N", x="chance:Q")]
    return alt.layer(*layers, data=frame).properties(width=420, height=alt.Step(16), title=title)


def layer_profile_chart(frame: pd.DataFrame, *, title: str) -> alt.Chart:
    """Per-layer measures against relative depth (0 = first layer, 1 = last), one line per model, one panel per
    measure with its own scale (``redundancy.layer_profile`` rows)."""
    return alt.Chart(frame).mark_line(point=True).encode(
        x=alt.X("depth:Q", title="relative depth of the removed layer", scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("value:Q", title=None),
        color=alt.Color("model:N", title="model"),
        tooltip=["model", "layer", "measure", alt.Tooltip("value:Q", format=".3f")],
    ).properties(width=420, height=120).facet(row=alt.Row("measure:N", title=None)).resolve_scale(
        y="independent").properties(title=title)


def loss_curve_chart(frame: pd.DataFrame, *, title: str) -> alt.Chart:
    """Training loss against step, one line per model (``organism.train_organism`` rows with a ``model`` column)."""
    return alt.Chart(frame, title=title).mark_line().encode(
        x=alt.X("step:Q", title="optimizer step"),
        y=alt.Y("loss:Q", title="training loss (nats per trained token)", scale=alt.Scale(type="log")),
        color=alt.Color("model:N", title="model"),
        tooltip=["model", "step", alt.Tooltip("loss:Q", format=".3f"), "max_chain"],
    ).properties(width=420, height=220)


def sensitivity_heatmap(frame: pd.DataFrame, *, title: str) -> alt.Chart:
    """Layer × task heatmap of what a model keeps when that one layer is removed (``redundancy.removal_table``
    rows with a ``model`` column): retention for tasks, 1 / (1 + relative loss rise) for the held-out loss, so
    that 1 is harmless and 0 is fatal everywhere."""
    shown = frame.assign(kept=[1 / (1 + r) if m == "heldout_nll" else r
                               for m, r in zip(frame["measure"], frame["relative"])],
                         task=frame["measure"].map(lambda m: "held-out loss" if m == "heldout_nll" else m))
    return alt.Chart(shown).mark_rect().encode(
        x=alt.X("layer:O", title="removed layer (0 = first)"),
        y=alt.Y("task:N", title=None),
        color=alt.Color("kept:Q", title="kept", scale=alt.Scale(domain=[0, 1.2], scheme="redyellowgreen")),
        tooltip=["model", "layer", "task", alt.Tooltip("kept:Q", format=".2f"), alt.Tooltip("value:Q", format=".3f"),
                 alt.Tooltip("baseline:Q", format=".3f")],
    ).properties(width=alt.Step(22), height=alt.Step(22)).facet(row=alt.Row("model:N", title=None)).resolve_scale(
        x="independent").properties(title=title)


def retention_chart(frame: pd.DataFrame, *, title: str) -> alt.Chart:
    """Retention (pruned / unpruned accuracy, 95% CI) against pruned layers, one line per method, one panel per
    model × task (``study.compare`` rows; uninformative tasks left out), with a method selector."""
    shown = frame[frame["informative"]]
    pick = alt.selection_point(fields=["method"], bind="legend")
    base = alt.Chart().encode(
        x=alt.X("pruned_layers:O", title="pruned layers"),
        color=alt.Color("method:N", title="method"),
        opacity=alt.condition(pick, alt.value(1.0), alt.value(0.15)),
        tooltip=["model", "task", "method", "pruned_layers", alt.Tooltip("retention:Q", format=".2f"),
                 alt.Tooltip("retention_low:Q", format=".2f"), alt.Tooltip("retention_high:Q", format=".2f"),
                 alt.Tooltip("accuracy:Q", format=".3f"), alt.Tooltip("baseline:Q", format=".3f"), "n_problems"])
    layers = [base.mark_line(point=True).encode(y=alt.Y("retention:Q", title="retention (95% CI)")),
              base.mark_errorbar().encode(y=alt.Y("retention_low:Q", title="retention (95% CI)"),
                                          y2="retention_high:Q"),
              alt.Chart().mark_rule(strokeDash=[4, 4], color="gray").encode(y=alt.datum(1.0))]
    data = shown.assign(panel=shown["model"] + " · " + shown["task"])
    return alt.layer(*layers, data=data).add_params(pick).properties(width=170, height=150).facet(
        facet=alt.Facet("panel:N", title=None), columns=3).properties(title=title)


def scaling_chart(frame: pd.DataFrame, *, x: str, title: str, x_title: str, log_x: bool = False,
                  column: str = "accuracy", color: str = "pruned_layers") -> alt.Chart:
    """Accuracy (95% CI) against a test-time-compute setting ``x``, one line per number of pruned layers (or per
    ``color``: "method" draws one line per method or recovery recipe), one panel per model × task × the other
    field (``study.compare`` or ``ch06_parallel.k_table`` rows), with a selector on the lines."""
    pick = alt.selection_point(fields=[color], bind="legend")
    scale = alt.Scale(type="log", base=2) if log_x else alt.Scale(zero=False)
    lines = alt.Color("pruned_layers:O", title="pruned layers", scale=alt.Scale(scheme="viridis")) \
        if color == "pruned_layers" else alt.Color(f"{color}:N", title=color, sort=None)
    base = alt.Chart().encode(
        x=alt.X(f"{x}:Q", title=x_title, scale=scale),
        color=lines,
        opacity=alt.condition(pick, alt.value(1.0), alt.value(0.15)),
        tooltip=["model", "method", "pruned_layers", x, alt.Tooltip(f"{column}:Q", format=".3f"),
                 alt.Tooltip("low:Q", format=".3f"), alt.Tooltip("high:Q", format=".3f"), "n_problems"])
    layers = [base.mark_line(point=True).encode(y=alt.Y(f"{column}:Q", title="accuracy (95% CI)",
                                                        scale=alt.Scale(domain=[0, 1]))),
              base.mark_errorbar().encode(y="low:Q", y2="high:Q")]
    other = "method" if color == "pruned_layers" else None
    panel = frame["model"] + " · " + frame["task"] + (" · " + frame[other] if other else "")
    data = frame.assign(panel=panel)
    return alt.layer(*layers, data=data).add_params(pick).properties(width=170, height=150).facet(
        facet=alt.Facet("panel:N", title=None), columns=3).properties(title=title)


AGREEMENT_COLORS = {"agrees": "#1b9e77", "partly": "#e6ab02", "disagrees": "#d95f02", "inconclusive": "#999999",
                    "not testable here": "#cccccc", "beyond the paper": "#7570b3"}


def claims_chart(evidence: pd.DataFrame, verdicts: pd.DataFrame, *, title: str) -> alt.Chart:
    """Every claim's evidence on one page: per claim (a panel with its own scale: shares, slopes and gains differ),
    each model-task row's number with its 95% CI, coloured by how the claim came out overall, and the paper's
    number for the same measure as a black diamond. ``evidence``: claim rows (``core.verdicts.evidence_row``);
    ``verdicts``: ``claim_verdicts`` of them."""
    frame = evidence.dropna(subset=["value"]).merge(verdicts[["claim", "verdict"]], on="claim")
    frame = frame.assign(row=frame["model and task"] + " · " + frame["variant"])
    verdict_scale = alt.Scale(domain=list(AGREEMENT_COLORS), range=list(AGREEMENT_COLORS.values()))
    base = alt.Chart().encode(y=alt.Y("row:N", title=None, sort=None, axis=alt.Axis(labelLimit=360)))
    tooltip = ["claim", "model and task", "variant", "measure", "ours", "paper", "agreement"]
    layers = [
        base.mark_errorbar(thickness=2).encode(
            x=alt.X("low:Q", title="effect (95% CI): see the measure"), x2="high:Q",
            color=alt.Color("verdict:N", scale=verdict_scale, title="claim's verdict")),
        base.mark_point(filled=True, size=70).encode(x="value:Q", color=alt.Color("verdict:N", scale=verdict_scale),
                                                     tooltip=tooltip),
        base.mark_point(shape="diamond", size=90, color="black", filled=True).encode(
            x="paper value:Q", tooltip=tooltip),
        alt.Chart().mark_rule(strokeDash=[4, 4], color="gray").encode(x=alt.datum(0.0)),
    ]
    header = alt.Header(labelOrient="top", labelAnchor="start", labelFontWeight="bold", labelFontSize=12)
    return alt.layer(*layers, data=frame).properties(width=260, height=alt.Step(16)).facet(
        row=alt.Row("claim:N", title=None, sort=list(verdicts["claim"]), header=header)
    ).resolve_scale(x="independent", y="independent").properties(title=title)


def arms_chart(frame: pd.DataFrame, *, title: str) -> alt.Chart:
    """Accuracy (95% CI) of each arm — unpruned, pruned, each recovery — one panel per model × task
    (``study.compare`` rows whose ``method`` names the arm), arms in the order given."""
    order = list(dict.fromkeys(frame["method"]))
    base = alt.Chart().encode(
        y=alt.Y("method:N", title=None, sort=order),
        color=alt.Color("method:N", title="arm", sort=order, legend=None),
        tooltip=["model", "task", "method", alt.Tooltip("accuracy:Q", format=".3f"),
                 alt.Tooltip("low:Q", format=".3f"), alt.Tooltip("high:Q", format=".3f"), "n_problems"])
    layers = [base.mark_point(filled=True, size=60).encode(x=alt.X("accuracy:Q", title="accuracy (95% CI)",
                                                                   scale=alt.Scale(domain=[0, 1]))),
              base.mark_errorbar().encode(x="low:Q", x2="high:Q")]
    data = frame.assign(panel=frame["model"] + " · " + frame["task"])
    return alt.layer(*layers, data=data).properties(width=230, height=150).facet(
        facet=alt.Facet("panel:N", title=None), columns=3).properties(title=title)


def recovery_curves_chart(curves: pd.DataFrame, *, title: str) -> alt.Chart:
    """Per recovery: the SFT recipes' training and held-out loss (log scale) and GRPO's mean reward, against the
    optimizer step (``recovery.loss_curves`` rows)."""
    sft = curves[curves["reward"].isna()].assign(line=lambda f: f["recipe"] + " · " + f["kind"])
    rl = curves[curves["reward"].notna()]
    losses = alt.Chart(sft, title="SFT: loss per trained token").mark_line(point=True).encode(
        x=alt.X("step:Q", title="optimizer step"),
        y=alt.Y("loss:Q", title="loss (nats per token)", scale=alt.Scale(type="log")),
        color=alt.Color("recipe:N", title="recipe"), strokeDash=alt.StrokeDash("kind:N", title="split"),
        detail="line:N", tooltip=["recipe", "kind", "step", alt.Tooltip("loss:Q", format=".3f")],
    ).properties(width=300, height=200)
    rewards = alt.Chart(rl, title="GRPO: mean reward of the sampled answers").mark_line(point=True).encode(
        x=alt.X("step:Q", title="optimizer step"), y=alt.Y("reward:Q", title="reward", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("recipe:N", title="recipe"), tooltip=["recipe", "step",
                                                              alt.Tooltip("reward:Q", format=".3f")],
    ).properties(width=300, height=200)
    return alt.hconcat(losses, rewards).resolve_scale(color="independent").properties(title=title)


def measures_chart(frame: pd.DataFrame, *, title: str) -> alt.Chart:
    """Trace measures (95% CI) against the number of pruned layers, one line per method, one row of panels per
    measure (own scale) and one column per model (``analysis.long_form`` rows)."""
    base = alt.Chart().encode(
        x=alt.X("pruned_layers:O", title="pruned layers"),
        color=alt.Color("method:N", title="method"),
        tooltip=["model", "method", "pruned_layers", "measure", alt.Tooltip("value:Q", format=".3f"),
                 alt.Tooltip("low:Q", format=".3f"), alt.Tooltip("high:Q", format=".3f")])
    layers = [base.mark_line(point=True).encode(y=alt.Y("value:Q", title=None)),
              base.mark_errorbar().encode(y="low:Q", y2="high:Q")]
    return alt.layer(*layers, data=frame).properties(width=200, height=120).facet(
        row=alt.Row("measure:N", title=None, sort=list(dict.fromkeys(frame["measure"]))),
        column=alt.Column("model:N", title=None)).resolve_scale(y="independent").properties(title=title)


def compounding_chart(frame: pd.DataFrame, *, title: str) -> alt.Chart:
    """Accuracy against chain length in steps: measured points with 95% CIs and the fitted a·(1 − ε)^k curve,
    one colour per number of pruned layers, one panel per model × method (``compounding.curves`` rows)."""
    color = alt.Color("pruned_layers:O", title="pruned layers", scale=alt.Scale(scheme="viridis"))
    base = alt.Chart().encode(x=alt.X("steps:Q", title="chain length (steps)"), color=color)
    measured = alt.datum.kind == "measured"
    layers = [base.mark_point(filled=True).encode(
                  y=alt.Y("accuracy:Q", title="accuracy (95% CI)", scale=alt.Scale(domain=[0, 1])),
                  tooltip=["model", "method", "pruned_layers", "steps", alt.Tooltip("accuracy:Q", format=".3f"),
                           alt.Tooltip("low:Q", format=".3f"), alt.Tooltip("high:Q", format=".3f")]
              ).transform_filter(measured),
              base.mark_errorbar().encode(y="low:Q", y2="high:Q").transform_filter(measured),
              base.mark_line(strokeDash=[4, 3]).encode(y="accuracy:Q").transform_filter(alt.datum.kind == "fit")]
    data = frame.assign(panel=frame["model"] + " · " + frame["method"])
    return alt.layer(*layers, data=data).properties(width=170, height=150).facet(
        facet=alt.Facet("panel:N", title=None), columns=3).properties(title=title)


def frontier_chart(frame: pd.DataFrame, *, title: str) -> alt.Chart:
    """Accuracy (95% CI) against compute per problem (layer passes, log scale): one line per variant through its
    k = 1, 2, 4, … samples, Pareto-optimal points ringed, one panel per model (``frontier.pareto`` rows)."""
    data = frame.assign(variant=frame["method"].where(frame["pruned_layers"] > 0, "unpruned")
                        + " " + frame["pruned_layers"].astype(str))
    base = alt.Chart().encode(
        x=alt.X("compute:Q", title="layer passes per problem (layers × generated tokens × samples)",
                scale=alt.Scale(type="log")),
        color=alt.Color("variant:N", title="variant"),
        tooltip=["model", "method", "pruned_layers", "k", alt.Tooltip("compute:Q", format=".0f"),
                 alt.Tooltip("accuracy:Q", format=".3f"), alt.Tooltip("low:Q", format=".3f"),
                 alt.Tooltip("high:Q", format=".3f"), "frontier"])
    layers = [base.mark_line(point=True).encode(y=alt.Y("accuracy:Q", title="accuracy (95% CI)")),
              base.mark_errorbar(opacity=0.4).encode(y="low:Q", y2="high:Q"),
              base.mark_point(size=160, shape="circle", filled=False, color="black").encode(y="accuracy:Q")
              .transform_filter(alt.datum.frontier)]
    return alt.layer(*layers, data=data).properties(width=260, height=200).facet(
        facet=alt.Facet("model:N", title=None), columns=3).resolve_scale(y="independent").properties(title=title)
