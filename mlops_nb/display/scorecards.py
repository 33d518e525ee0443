"""A maturity scorecard as a notebook shows it: a compact card that fits one screen.

Text (`repr`): who it is for, the phase, the criteria counts and the ML Test Score, each criterion's
status by phase, and the next steps of those that do not pass. HTML: a phase badge and headline; the
three phases as rows whose criteria are chips coloured green, amber or red with their status as a
word (their detail and next step in the tooltip); the next steps of the failing and partial
criteria; the ML Test Score's four sections, final score and band; and, on a project's card, one
line per model. Titles and words are scorecard_results' and the board pack's (display/scorecard_export),
so the notebook says what the console and the export say. Every user string is escaped.

    card = mlops.scorecard(model="credit-risk")
    card            # the card; card.to_frame() for the criteria as a table
"""
from __future__ import annotations

import html
from typing import Any

from mlops_nb.display.base import displays
from mlops_nb.display.scorecard_export import (
    STATUS_BACKGROUND,
    STATUS_COLOUR,
    as_of_text,
    card_heading,
    phase_text,
    score_text,
    status_counts,
)
from mlops_nb.services.monitoring.scorecard_results import PHASES, SECTIONS, Criterion, Scorecard

MAX_MODELS = 20  # model lines shown on a project's card; `.models` has all
BADGE = "#37474f"  # the phase badge: neutral, the chips carry the colour
CELL = "padding:1px 8px;white-space:nowrap;text-align:left;border:none"  # against JupyterLab's cell padding


def summary_line(card: Scorecard) -> str:
    """'credit · credit-risk v5: phase 1 Foundational, 6 pass, 1 partial, 5 fail; ML Test Score 2.5, band (2, 3]'."""
    passed, partial, failed = status_counts(card)
    score = card.ml_test_score
    return (f"{card_heading(card)}: phase {phase_text(card)}, {passed} pass, {partial} partial, {failed} fail; "
            f"ML Test Score {score_text(score.final)}, band {score.band}")


def next_steps(card: Scorecard) -> list[Criterion]:
    """The criteria that do not pass, in phase order: their next steps are what to do."""
    return [c for c in card.criteria if c.status != "pass"]


def _chip(criterion: Criterion) -> str:
    esc = html.escape
    status = criterion.status
    colour, background = STATUS_COLOUR.get(status, "#444"), STATUS_BACKGROUND.get(status, "#eee")
    tip = criterion.detail + (f"\nNext step: {criterion.next_step}" if criterion.next_step else "")
    return (f"<span class='mlops-chip mlops-{esc(status, quote=True)}' title='{esc(tip, quote=True)}' "
            f"style='display:inline-block;margin:1px 4px 2px 0;padding:1px 6px;border-radius:9px;"
            f"border:1px solid {colour};background:{background};color:{colour};font-size:12px;line-height:1.4'>"
            f"{esc(criterion.title)} <b>{esc(status)}</b></span>")


@displays(Scorecard)
class ScorecardView(Scorecard):
    """A scorecard (SPEC §4): `.phase`, `.phase_name`, `.criteria` (each `phase`, `name`, `status`,
    `evidence`, `next_step`), `.ml_test_score`, `.models` on a project's card, `.to_frame()`; a text
    `repr` and a compact HTML card in Jupyter.

        card = mlops.scorecard(model="credit-risk")
        card.phase, card.criterion("drift_on_schedule").next_step
    """

    def __repr__(self) -> str:
        score = self.ml_test_score
        sections = ", ".join(f"{s} {score_text(score.sections.get(s, 0.0))}" for s in SECTIONS)
        lines = [f"Scorecard {summary_line(self)}", f"  as of {as_of_text(self)}",
                 f"  ML Test Score sections: {sections}; band {score.band}: {score.band_text}"]
        for number, name in PHASES.items():
            lines.append(f"  Phase {number}: {name}")
            lines += [f"    {c.status:<8} {c.title}" for c in self.criteria if c.phase == number]
        todo = next_steps(self)
        if todo:
            lines.append("  next steps:")
            lines += [f"    {c.title} ({c.status}): {c.next_step}" for c in todo]
        if self.models:
            lines.append("  models:")
            lines += [f"    {summary_line(m)}" for m in self.models[:MAX_MODELS]]
            if len(self.models) > MAX_MODELS:
                lines.append(f"    … {len(self.models) - MAX_MODELS} more (.models has all)")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        esc = html.escape
        passed, partial, failed = status_counts(self)
        score = self.ml_test_score
        head = (f"<div style='margin:2px 0 6px 0'><span class='mlops-phase' style='display:inline-block;"
                f"padding:2px 8px;border-radius:4px;background:{BADGE};color:#fff;font-weight:600'>"
                f"Phase {esc(phase_text(self))}</span> <b>{esc(card_heading(self))}</b> "
                f"<span style='color:#666;font-size:12px'>{passed} pass, {partial} partial, {failed} fail · "
                f"ML Test Score {esc(score_text(score.final))} · as of {esc(as_of_text(self))}</span></div>")
        rows = []
        for number, name in PHASES.items():
            chips = "".join(_chip(c) for c in self.criteria if c.phase == number)
            rows.append(f"<div class='mlops-scorecard-phase' style='display:flex;align-items:flex-start;"
                        f"margin:0 0 2px 0'><div style='flex:0 0 10em;font-weight:600;font-size:12px;padding-top:2px'>"
                        f"Phase {number}: {esc(name)}</div><div style='flex:1 1 auto'>{chips}</div></div>")
        todo = next_steps(self)
        steps = ""
        if todo:
            items = "".join(f"<li><b>{esc(c.title)}</b> (<span style='color:{STATUS_COLOUR.get(c.status, '#444')}'>"
                            f"{esc(c.status)}</span>): {esc(c.next_step)}</li>" for c in todo)
            steps = (f"<div class='mlops-scorecard-next' style='font-size:12px;margin:4px 0'>Next steps:"
                     f"<ul style='margin:0;padding-left:18px'>{items}</ul></div>")
        header = "".join(f"<th style='{CELL}'>{esc(s)}</th>" for s in SECTIONS) + f"<th style='{CELL}'>final</th>"
        cells = "".join(f"<td style='{CELL}'>{esc(score_text(score.sections.get(s, 0.0)))}</td>" for s in SECTIONS)
        sections = (f"<table class='mlops-table mlops-scorecard-tests' style='margin:4px 0 0 0;font-size:12px'>"
                    f"<caption style='text-align:left;font-weight:600'>ML Test Score</caption><thead><tr>{header}"
                    f"</tr></thead><tbody><tr>{cells}<td style='{CELL};font-weight:600'>"
                    f"{esc(score_text(score.final))}</td></tr></tbody></table>"
                    f"<div style='font-size:12px;margin:2px 0'>Band {esc(score.band)}: {esc(score.band_text)}</div>")
        return f"<div class='mlops-scorecard'>{head}{''.join(rows)}{steps}{sections}{self._models_html()}</div>"

    def _models_html(self) -> str:
        if not self.models:
            return ""
        esc = html.escape
        columns = ["model", "version", "phase", "pass", "partial", "fail", "ML Test Score"]
        body = []
        for m in self.models[:MAX_MODELS]:
            values = [m.model or "", "" if m.version is None else f"v{m.version}", phase_text(m),
                      *map(str, status_counts(m)), f"{score_text(m.ml_test_score.final)}, band {m.ml_test_score.band}"]
            body.append("<tr>" + "".join(f"<td style='{CELL}'>{esc(v)}</td>" for v in values) + "</tr>")
        more = (f"<tr><td colspan='{len(columns)}' style='{CELL}'>… {len(self.models) - MAX_MODELS} more "
                "(.models has all)</td></tr>" if len(self.models) > MAX_MODELS else "")
        header = "".join(f"<th style='{CELL}'>{esc(c)}</th>" for c in columns)
        return (f"<table class='mlops-table mlops-scorecard-models' style='margin:6px 0 0 0;font-size:12px'>"
                f"<caption style='text-align:left;font-weight:600'>Models</caption><thead><tr>{header}</tr></thead>"
                f"<tbody>{''.join(body)}{more}</tbody></table>")

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": repr(self), "text/html": self._repr_html_()}


__all__ = ["ScorecardView", "next_steps", "summary_line"]
