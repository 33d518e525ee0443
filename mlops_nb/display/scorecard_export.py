"""Scorecards as a board pack: one Markdown document or one standalone HTML page for a list of cards.

The pack opens with a portfolio summary (each project's card, then its models' cards: phase, criteria
passed / partial / failed, ML Test Score and band), then one section per card: the twelve criteria by
phase (status, detail, evidence, next step) and the ML Test Score's four section sums, final score and
the paper's reading of its band. Titles and wording come from services.monitoring.scorecard_results,
so the pack says what the notebook and the console say.

The HTML page is self-contained (inline CSS, no script, no external fetch; a Content-Security-Policy
forbids both) and prints on A4; every string a user chose (project, model, labels, details, notes) is
escaped, and a status is a word as well as a colour. In Markdown, cells escape `|`, newlines and the
characters that would start markup.

    cards = scorecards.portfolio(session=s)
    Path("maturity.html").write_text(to_html(cards, title="MLOps maturity, Q4"))
    Path("maturity.md").write_text(to_markdown(cards))
"""
from __future__ import annotations

import html
import re
from collections.abc import Iterator, Sequence

from mlops_nb.display.format import format_time
from mlops_nb.services.errors import InvalidInput
from mlops_nb.services.monitoring.scorecard_results import PHASES, SECTIONS, Criterion, Scorecard

# the palette of the drift and validation reports: readable on white, distinct when printed in grey
STATUS_COLOUR = {"pass": "#1b6e20", "partial": "#9a6700", "fail": "#b3261e"}
STATUS_BACKGROUND = {"pass": "#e6f4e7", "partial": "#fff4d6", "fail": "#fbe7e5"}
WHOLE_PROJECT = "(whole project)"  # the model column of a project's own card
MAX_EVIDENCE = 6  # evidence labels listed per criterion; the rest are counted
SUMMARY_COLUMNS = ["Project", "Model", "Version", "Phase", "Passed", "Partial", "Failed", "ML Test Score", "Band"]
CRITERIA_COLUMNS = ["Criterion", "Status", "Detail", "Evidence", "Next step"]


def status_counts(card: Scorecard) -> tuple[int, int, int]:
    """(passed, partial, failed): how many of the card's criteria have each status."""
    statuses = [c.status for c in card.criteria]
    return statuses.count("pass"), statuses.count("partial"), statuses.count("fail")


def phase_text(card: Scorecard) -> str:
    """"2 Automated", "0 Not yet foundational"."""
    return f"{card.phase} {card.phase_name}"


def score_text(value: float) -> str:
    """A score as people write it: 1.5, 2, 0."""
    return f"{value:g}"


def card_heading(card: Scorecard) -> str:
    """"credit · credit-risk v5", "credit · credit-risk (no production version)", "credit (whole project)"."""
    if card.model is None:
        return f"{card.project} {WHOLE_PROJECT}"
    version = f"v{card.version}" if card.version is not None else "(no production version)"
    return f"{card.project} · {card.model} {version}"


def as_of_text(card: Scorecard) -> str:
    """The card's `as_of` as "YYYY-MM-DD HH:MM:SS UTC"."""
    return f"{format_time(card.as_of)} UTC"


def evidence_labels(criterion: Criterion, limit: int = MAX_EVIDENCE) -> list[str]:
    """The first `limit` evidence labels, and "and N more" when there are more."""
    labels = [e.label for e in criterion.evidence[:limit]]
    if len(criterion.evidence) > limit:
        labels.append(f"and {len(criterion.evidence) - limit} more")
    return labels


def every_card(cards: Sequence[Scorecard]) -> Iterator[Scorecard]:
    """Each card, followed by its models' cards (a project's card lists them in `.models`)."""
    for card in cards:
        yield card
        yield from card.models


def _checked(cards: Sequence[Scorecard]) -> list[Scorecard]:
    if isinstance(cards, Scorecard):
        return [cards]
    if isinstance(cards, (str, bytes)) or not isinstance(cards, Sequence):
        raise InvalidInput(f"cards must be a list of Scorecards, got {type(cards).__name__}")
    wrong = [type(c).__name__ for c in cards if not isinstance(c, Scorecard)]
    if wrong:
        raise InvalidInput(f"cards must be a list of Scorecards; it holds a {wrong[0]}")
    return list(cards)


def _summary_row(card: Scorecard) -> list[str]:
    passed, partial, failed = status_counts(card)
    score = card.ml_test_score
    return [card.project, card.model if card.model is not None else WHOLE_PROJECT,
            "" if card.version is None else str(card.version), phase_text(card), str(passed), str(partial),
            str(failed), score_text(score.final), score.band]


# ---- Markdown ------------------------------------------------------------------------------------

_MARKUP = re.compile(r"([\\`*\[<>|])")  # `]` is inert without its `[`; `_` inside words is too (GFM)
_NEWLINES = re.compile(r"\r\n|\r|\n")
# control characters but tab and line breaks, and the bidirectional marks and overrides: shown as
# escapes (ESC as \x1b, U+202E as \u202e), so a name from the store cannot rewrite or reorder the
# terminal the pack is printed to, nor put an invalid character in the page
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible(text: object) -> str:
    """`str(text)` with control characters other than tab and line breaks written as escapes."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], str(text))


def md_cell(text: object) -> str:
    """`text` safe in a GitHub table cell: markup characters (`|`, `<`, `*`, ...) backslash-escaped,
    line breaks as `<br>`, other control characters as escapes."""
    return _NEWLINES.sub("<br>", _MARKUP.sub(r"\\\1", visible(text)))


def _md_line(text: object) -> str:
    """`text` for a heading or a paragraph: escaped like a cell, on one line."""
    return _NEWLINES.sub(" ", _MARKUP.sub(r"\\\1", visible(text)))


def _md_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(md_cell(c) for c in columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(md_cell(v) for v in row) + " |" for row in rows]
    return lines


def _md_card(card: Scorecard) -> list[str]:
    passed, partial, failed = status_counts(card)
    score = card.ml_test_score
    lines = ["", f"## {_md_line(card_heading(card))}", "",
             f"Phase {_md_line(phase_text(card))}: {passed} criteria pass, {partial} partial, {failed} fail; "
             f"ML Test Score {score_text(score.final)}. As of {as_of_text(card)}."]
    for number, name in PHASES.items():
        rows = [[c.title, c.status, c.detail, "; ".join(evidence_labels(c)), c.next_step]
                for c in card.criteria if c.phase == number]
        lines += ["", f"### Phase {number}: {name}", ""] + _md_table(CRITERIA_COLUMNS, rows)
    lines += ["", "### ML Test Score", ""]
    lines += _md_table(["Section", "Score (of 7)"],
                       [[s, score_text(score.sections.get(s, 0.0))] for s in SECTIONS]
                       + [["final (lowest section)", score_text(score.final)]])
    lines += ["", f"Band {_md_line(score.band)}: {_md_line(score.band_text)}"]
    return lines


def to_markdown(cards: Sequence[Scorecard], *, title: str = "MLOps maturity") -> str:
    """A board pack in GitHub Markdown: the title, a portfolio table (one row per card and per model
    card), then each card's criteria by phase and its ML Test Score with the band's reading.

    `cards`: Scorecards (a portfolio's project cards, whose `.models` follow each; or one card).

    >>> text = to_markdown(scorecards.portfolio(session=s), title="MLOps maturity, Q4")

    Raises:
        InvalidInput: `cards` is not a list of Scorecards.
    """
    shown = list(every_card(_checked(cards)))
    lines = [f"# {_md_line(title)}", ""]
    if not shown:
        return "\n".join(lines + ["No scorecards: the store has no project.", ""])
    times = sorted({c.as_of for c in shown})
    lines.append(f"As of {as_of_text(shown[0])}." if len(times) == 1 else
                 f"Computed between {format_time(times[0])} and {format_time(times[-1])} UTC.")
    lines += ["", "## Portfolio", ""] + _md_table(SUMMARY_COLUMNS, [_summary_row(c) for c in shown])
    for card in shown:
        lines += _md_card(card)
    return "\n".join(lines) + "\n"


# ---- HTML ----------------------------------------------------------------------------------------

_CSS = """
@page { size: A4; margin: 14mm 12mm; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; font-size: 13px;
  color: #1f1f1f; margin: 24px auto; max-width: 1100px; padding: 0 16px; line-height: 1.4; }
h1 { font-size: 22px; margin: 0 0 4px 0; }
h2 { font-size: 17px; margin: 0 0 4px 0; }
h3 { font-size: 14px; margin: 14px 0 4px 0; }
p.meta { color: #555; margin: 0 0 12px 0; }
table { width: 100%; border-collapse: collapse; table-layout: fixed; margin: 4px 0 8px 0; }
th, td { border: 1px solid #d0d0d0; padding: 3px 6px; text-align: left; vertical-align: top;
  overflow-wrap: anywhere; word-break: break-word; }
th { background: #f3f3f3; font-weight: 600; overflow-wrap: normal; word-break: normal; }
td.num, th.num { text-align: right; }
.status { font-weight: 600; white-space: nowrap; }
.pass { color: #1b6e20; background: #e6f4e7; }
.partial { color: #9a6700; background: #fff4d6; }
.fail { color: #b3261e; background: #fbe7e5; }
tr.project td { font-weight: 600; }
section.card { margin: 24px 0 0 0; padding-top: 12px; border-top: 2px solid #888; }
ul.evidence { margin: 0; padding-left: 14px; }
p.band { margin: 4px 0; }
table.sections { width: auto; min-width: 40%; }
@media print {
  body { margin: 0; max-width: none; padding: 0; font-size: 10px; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  section.card { break-before: page; border-top: none; margin: 0; }
  tr { break-inside: avoid; }  /* a break may fall between rows: with none allowed, Chromium moved each
     card's first table to the next page and left its heading alone on one */
  h2, h3, p.meta { break-inside: avoid; break-after: avoid; }
  thead { display: table-header-group; }
}
"""
# cells of the summary (percent of the width) and of a criteria table
_SUMMARY_WIDTHS = (14, 19, 8, 15, 8, 8, 8, 10, 10)  # a header word ("Version", "Partial") fits A4
_CRITERIA_WIDTHS = (22, 8, 26, 22, 22)


def _esc(text: object) -> str:
    return html.escape(visible(text), quote=True)


def _status_cell(status: str) -> str:
    css = status if status in STATUS_COLOUR else ""
    return f"<td class='status {css}'>{_esc(status)}</td>"


def _colgroup(widths: Sequence[int]) -> str:
    return "<colgroup>" + "".join(f"<col style='width:{w}%'>" for w in widths) + "</colgroup>"


def _html_summary(cards: Sequence[Scorecard]) -> str:
    numeric = {2, 4, 5, 6, 7}
    head = "".join(f"<th{' class=num' if i in numeric else ''}>{_esc(c)}</th>" for i, c in enumerate(SUMMARY_COLUMNS))
    body = []
    for card in cards:
        cells = _summary_row(card)
        tds = [f"<td{' class=num' if i in numeric else ''}>{_esc(v)}</td>" for i, v in enumerate(cells)]
        kind = " class='project'" if card.model is None else ""
        body.append(f"<tr{kind}>{''.join(tds)}</tr>")
    return (f"<table class='summary'>{_colgroup(_SUMMARY_WIDTHS)}<thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


def _html_criteria(criteria: Sequence[Criterion]) -> str:
    head = "".join(f"<th>{_esc(c)}</th>" for c in CRITERIA_COLUMNS)
    rows = []
    for c in criteria:
        labels = evidence_labels(c)
        evidence = ("<ul class='evidence'>" + "".join(f"<li>{_esc(label)}</li>" for label in labels) + "</ul>"
                    if labels else "")
        rows.append(f"<tr><td>{_esc(c.title)}</td>{_status_cell(c.status)}<td>{_esc(c.detail)}</td>"
                    f"<td>{evidence}</td><td>{_esc(c.next_step)}</td></tr>")
    return (f"<table class='criteria'>{_colgroup(_CRITERIA_WIDTHS)}<thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def _html_card(card: Scorecard) -> str:
    passed, partial, failed = status_counts(card)
    score = card.ml_test_score
    parts = [f"<section class='card'><h2>{_esc(card_heading(card))}</h2>",
             f"<p class='meta'>Phase {_esc(phase_text(card))}: {passed} criteria pass, {partial} partial, "
             f"{failed} fail; ML Test Score {_esc(score_text(score.final))}. As of {_esc(as_of_text(card))}.</p>"]
    for number, name in PHASES.items():
        parts.append(f"<h3>Phase {number}: {_esc(name)}</h3>")
        parts.append(_html_criteria([c for c in card.criteria if c.phase == number]))
    rows = "".join(f"<tr><td>{_esc(s)}</td><td class=num>{_esc(score_text(score.sections.get(s, 0.0)))}</td></tr>"
                   for s in SECTIONS)
    parts.append("<h3>ML Test Score</h3><table class='sections'><thead><tr><th>Section</th>"
                 f"<th class=num>Score (of 7)</th></tr></thead><tbody>{rows}<tr><td><b>final (lowest section)</b>"
                 f"</td><td class=num><b>{_esc(score_text(score.final))}</b></td></tr></tbody></table>")
    parts.append(f"<p class='band'>Band {_esc(score.band)}: {_esc(score.band_text)}</p></section>")
    return "".join(parts)


def to_html(cards: Sequence[Scorecard], *, title: str = "MLOps maturity") -> str:
    """A board pack as one standalone HTML page (UTF-8 text): inline CSS with a print stylesheet for A4,
    no script and no external fetch; the portfolio table, then each card's criteria by phase (status as
    a word on green, amber or red) and its ML Test Score with the band's reading. Every string from the
    store or the caller is escaped.

    `cards`: Scorecards (a portfolio's project cards, whose `.models` follow each; or one card).

    >>> Path("maturity.html").write_text(to_html(scorecards.portfolio(session=s)), encoding="utf-8")

    Raises:
        InvalidInput: `cards` is not a list of Scorecards.
    """
    shown = list(every_card(_checked(cards)))
    head = ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; style-src 'unsafe-inline'\">"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{_esc(title)}</title><style>{_CSS}</style></head><body>")
    parts = [head, f"<h1>{_esc(title)}</h1>"]
    if not shown:
        parts.append("<p class='meta'>No scorecards: the store has no project.</p>")
    else:
        times = sorted({c.as_of for c in shown})
        when = (f"As of {as_of_text(shown[0])}." if len(times) == 1 else
                f"Computed between {format_time(times[0])} and {format_time(times[-1])} UTC.")
        parts += [f"<p class='meta'>{_esc(when)}</p>", "<h2>Portfolio</h2>", _html_summary(shown)]
        parts += [_html_card(card) for card in shown]
    parts.append("</body></html>")
    return "".join(parts)


__all__ = ["to_html", "to_markdown"]
