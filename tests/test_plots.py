"""The offline chart renderer, and the browser check that proves charts draw with no network."""

import altair as alt
import pandas as pd
import pytest

from lpts_helpers import browser, plots

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
