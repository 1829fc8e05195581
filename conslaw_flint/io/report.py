"""Reports of results in the formats the command line and the docs use: text, JSON,
Markdown and LaTeX.

The results render themselves (:mod:`conslaw_flint.results`: ``str``, ``to_dict``,
``_repr_markdown_``); this module picks the format and adds the LaTeX table of laws used in
papers.

>>> from conslaw_flint.models import build_model
>>> from conslaw_flint.algorithms.certify import count_laws
>>> print(render(count_laws(build_model("poly:x1*x2")), "latex"))
\\begin{tabular}{rl}
\\multicolumn{2}{l}{exactly 1 independent conservation law (certified by polynomial laws)} \\\\
1 & $x_{1}^{2} - x_{2}^{2}$ \\\\
\\end{tabular}
"""

from __future__ import annotations

import json

from ..core.polynomials import default_names, to_latex
from ..results import CountResult, LawResult

FORMATS = ("text", "json", "markdown", "latex")


def _latex(res: LawResult | CountResult, index_names: bool) -> str:
    if isinstance(res, CountResult):
        title, laws = res.verdict(), res.laws
    else:
        title = (f"{len(res.basis)} polynomial laws ({'homogeneous ' if res.homogeneous else ''}"
                 f"degree {res.degree}), {len(res.independent)} independent")
        laws = res.basis
    names = default_names(res.model.D) if index_names else None
    lines = ["\\begin{tabular}{rl}", f"\\multicolumn{{2}}{{l}}{{{title}}} \\\\"]
    lines += [f"{i + 1} & ${to_latex(h, names)}$ \\\\" for i, h in enumerate(laws)]
    lines.append("\\end{tabular}")
    return "\n".join(lines)


def render(res: LawResult | CountResult, fmt: str = "text", index_names: bool = False,
           all_terms: bool = False) -> str:
    """``res`` in one of :data:`FORMATS` (the text shortens laws of more than
    :data:`~conslaw_flint.results.MAX_TERMS_SHOWN` terms unless ``all_terms``)."""
    if fmt == "text":
        return res.text(index_names, max_terms=None) if all_terms else res.text(index_names)
    if fmt == "json":
        return json.dumps(res.to_dict(index_names), indent=1)
    if fmt == "markdown":
        return res._repr_markdown_()
    if fmt == "latex":
        return _latex(res, index_names)
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


__all__ = ["FORMATS", "render"]
