"""Writing a trainability report: ``report.html`` (one self-contained page: the verdict, then one
section per check with its figure, table and the command that reproduces it; figures embedded,
no network access needed), ``report.md`` (the same text and tables, figures as PNG files beside
it), ``verdict.csv``, one CSV per section table and ``diagnose.json`` (configuration, timings,
skipped sections, versions)."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from bpdiag.results import _fig_metadata, write_csv, write_result

#: Rows of a section table shown in the report (the CSV beside it holds them all).
MAX_ROWS = 30
_TITLES = {
    "audit": "Lie audit: dead parameters, dynamical Lie algebra, predicted variance",
    "params": "Per-parameter variance",
    "scaling": "Variance against qubits and depth",
    "noise": "Sensitivity to noise",
    "entropy": "Entanglement of data-encoded states against the Page curve",
}
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:960px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em} h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid
#ddd} .verdict{background:#f4f8ff;border-left:4px solid #2a6fdb;padding:.6em 1em}
.verdict li{margin:.3em 0} code{background:#f2f2f2;padding:.1em .3em;border-radius:3px}
table{border-collapse:collapse;font-size:.8em;margin:.5em 0;display:block;overflow-x:auto}
td,th{border:1px solid #ddd;padding:.2em .5em;text-align:left} th{background:#fafafa}
img{max-width:100%}
.skipped{color:#a33} .small{color:#666;font-size:.85em}
"""


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata=_fig_metadata("png"))
    return buf.getvalue()


def _shown(df: pd.DataFrame) -> pd.DataFrame:
    return df.head(MAX_ROWS)


def _markdown_table(df: pd.DataFrame) -> str:
    df = _shown(df)
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in df.itertuples(index=False):
        cells = [f"{v:.4g}" if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def _section_tables(tables: dict, section: str) -> list[tuple[str, pd.DataFrame]]:
    """(csv name, rows shown) of a section: the audit shows its circuit summary and the dead
    parameters only; the others their own table."""
    if section == "audit":
        out = [("audit", tables["audit"])] if "audit" in tables else []
        if "audit_params" in tables:
            p = tables["audit_params"]
            dead = p[p["dead"].astype(bool)]
            out += [("audit_params", dead)] if len(dead) else []
        return out
    table = tables.get(section)
    return [(section, table)] if table is not None and len(table) else []


def write_report(result, out: str | Path, *, figures: Callable | None = None) -> dict[str, Path]:
    """Write a :func:`bpdiag.analyses.diagnose.diagnose` result into ``out``; returns the paths.

    figures: ``f(result) -> {section: Figure}`` (e.g.
    :func:`bpdiag.figures.diagnose.report_figures`)."""
    import matplotlib.pyplot as plt

    out = Path(out)
    paths = write_result(result.table, result.meta, out, "diagnose")
    paths["verdict_csv"] = out / "verdict.csv"
    write_csv(result.table, paths["verdict_csv"])
    for name, df in result.tables.items():
        paths[f"{name}_csv"] = out / f"{name}.csv"
        write_csv(df, paths[f"{name}_csv"])
    pngs: dict[str, bytes] = {}
    for name, fig in (figures(result) if figures else {}).items():
        pngs[name] = _png(fig)
        plt.close(fig)
        paths[f"{name}_png"] = out / f"{name}.png"
        paths[f"{name}_png"].write_bytes(pngs[name])
    meta = result.meta
    label = meta.get("label", "circuit")
    md = [f"# Trainability report: {label}", "", "## Verdict", ""]
    md += [f"- {t}" for t in result.table["text"]]
    body = [
        f"<h1>Trainability report: <code>{html.escape(str(label))}</code></h1>",
        '<p class="small">costs: '
        + html.escape(", ".join(map(str, meta.get("config", {}).get("cost", ()))))
        + f" · total {meta.get('timing', {}).get('total', 0):.1f} s</p>",
        '<div class="verdict"><h2 style="border:0;margin-top:.2em">Verdict</h2><ul>',
        *[f"<li>{html.escape(str(t))}</li>" for t in result.table["text"]],
        "</ul></div>",
    ]
    for section in meta.get("sections", ()):
        title = _TITLES.get(section, section)
        md += ["", f"## {title}", ""]
        body.append(f"<h2>{html.escape(title)}</h2>")
        if section in meta.get("skipped", {}):
            why = meta["skipped"][section]
            md.append(f"*skipped: {why}*")
            body.append(f'<p class="skipped">skipped: {html.escape(why)}</p>')
        command = meta.get("commands", {}).get(section)
        if command:
            md += [f"Reproduce: `{command}`", ""]
            body.append(f"<p>Reproduce: <code>{html.escape(command)}</code></p>")
        if section in pngs:
            md += [f"![{title}]({section}.png)", ""]
            data = base64.b64encode(pngs[section]).decode("ascii")
            body.append(f'<img alt="{html.escape(title)}" src="data:image/png;base64,{data}">')
        for name, table in _section_tables(result.tables, section):
            more = f" (first {MAX_ROWS} of {len(table)} rows)" if len(table) > MAX_ROWS else ""
            csv = f"{name}.csv"
            md += [_markdown_table(table), "", f"Full table: `{csv}`{more}"]
            body.append(_shown(table).to_html(index=False, float_format=lambda v: f"{v:.4g}"))
            body.append(f'<p class="small">Full table: <code>{csv}</code>{more}</p>')
    for note in meta.get("notes", ()):
        md.append(f"\n*note: {note}*")
        body.append(f'<p class="small">note: {html.escape(note)}</p>')
    paths["md"] = out / "report.md"
    paths["md"].write_text("\n".join(md) + "\n", encoding="utf-8")
    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>bpdiag report: {html.escape(str(label))}</title><style>{_CSS}</style></head>"
        "<body>" + "\n".join(body) + "</body></html>\n"
    )
    paths["html"] = out / "report.html"
    paths["html"].write_text(page, encoding="utf-8")
    return paths
