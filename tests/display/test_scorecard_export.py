"""The board pack: the portfolio table, every card's criteria and ML Test Score, in Markdown and in a
standalone HTML page where nothing a user typed can run."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from mlops_nb.display.scorecard_export import md_cell, to_html, to_markdown
from mlops_nb.services.errors import InvalidInput
from mlops_nb.services.monitoring.scorecard_results import BANDS, CRITERIA
from tests.display.scorecard_cards import card, every_status


def _portfolio():
    model = every_status()
    failing = card(model="<script>alert(1)</script>", version=None, default="fail",
                   label="run <img src=x onerror=alert(2)> | pipe")
    return [card(model=None, version=None, statuses={"sla_met": "partial"}, models=[model, failing]),
            card(project="fraud", model=None, version=None, default="fail")]


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += attrs


def test_markdown_pack_has_the_portfolio_then_each_card_by_phase():
    text = to_markdown(_portfolio(), title="Board pack Q4")
    assert text.startswith("# Board pack Q4\n")
    assert "As of 2026-11-18 11:06:40 UTC." in text
    summary = text.split("## Portfolio", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in summary.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| Project | Model | Version | Phase | Passed | Partial | Failed | ML Test Score | Band")
    # the project card, its two models, the second project: phase, counts, final score and band
    assert rows[1] == "| credit | (whole project) |  | 2 Automated | 11 | 1 | 0 | 0 | 0 |"
    assert rows[2] == "| credit | credit-risk | 5 | 1 Foundational | 6 | 1 | 5 | 2.5 | (2, 3] |"
    assert rows[4].startswith("| fraud | (whole project) |  | 0 Not yet foundational | 0 | 0 | 12 |")
    assert len(rows) == 5
    # one section per card, three phase tables each with its criteria
    assert text.count("\n## ") == 1 + 4
    assert text.count("### Phase 1: Foundational") == 4 and text.count("### Phase 3: Advanced") == 4
    for spec in CRITERIA:
        assert f"| {spec.title} |" in text
    assert "| Drift reports on a schedule for production models | fail | drift_on_schedule: fail detail | " \
           "credit-risk v5 | do drift_on_schedule next |" in text


def test_markdown_pack_gives_section_sums_final_and_the_papers_band_reading():
    text = to_markdown([every_status()])
    assert "| data | 2.5 |" in text and "| model | 3.5 |" in text and "| infrastructure | 2.5 |" in text
    assert "| final (lowest section) | 2.5 |" in text
    assert f"Band (2, 3]: {BANDS[3][1]}" in text.replace("\\", "")


def test_markdown_cells_escape_pipes_newlines_and_markup():
    assert md_cell("a | b\nc\r\nd") == "a \\| b<br>c<br>d"
    assert md_cell("<script>*x*</script>") == "\\<script\\>\\*x\\*\\</script\\>"
    text = to_markdown(_portfolio())
    assert "run \\<img src=x onerror=alert(2)\\> \\| pipe" in text
    assert not re.search(r"(?<!\\)<(?!br>)", text)  # no `<` opens a tag but the line breaks
    # every table row keeps its columns: a `|` in a cell does not split it
    for table in re.findall(r"(?:^\|.*\n)+", text, flags=re.M):
        widths = {len(re.findall(r"(?<!\\)\|", row)) for row in table.splitlines()}
        assert len(widths) == 1, table


def test_html_pack_is_one_page_without_script_or_fetch_and_escapes_user_strings():
    page = to_html(_portfolio(), title="<b>Q4</b> & co")
    tags = _Tags()
    tags.feed(page)
    assert "script" not in tags.tags and "img" not in tags.tags and "b" not in tags.tags[:6]
    assert not {"link", "iframe", "object", "embed"} & set(tags.tags)
    assert not [name for name, _ in tags.attrs if name.startswith("on") or name in ("src", "href")]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "run &lt;img src=x onerror=alert(2)&gt; | pipe" in page
    assert "<title>&lt;b&gt;Q4&lt;/b&gt; &amp; co</title>" in page
    assert "default-src 'none'" in page  # a Content-Security-Policy, should anything slip through
    assert "@page { size: A4" in page and "@media print" in page and "table-layout: fixed" in page
    # printed, a page may break between a table's rows but not right after a heading: forbidding a break
    # after every row left each card's heading alone on a page (seen in Chromium's PDF of the demo)
    printed = page.split("@media print", 1)[1]
    assert "tr { break-inside: avoid; }" in printed and "h2, h3, p.meta { break-inside: avoid; break-after: avoid; }" in printed
    assert not re.search(r"\btr[^{]*\{[^}]*break-after", printed)


def test_html_pack_shows_status_as_a_word_on_its_colour_and_the_band_reading():
    page = to_html([every_status()])
    statuses = re.findall(r"<td class='status (\w+)'>(\w+)</td>", page)
    assert statuses.count(("pass", "pass")) == 6
    assert statuses.count(("partial", "partial")) == 1 and statuses.count(("fail", "fail")) == 5
    assert ".pass { color: #1b6e20" in page and ".fail { color: #b3261e" in page
    assert "<td>monitoring</td><td class=num>2.5</td>" in page
    assert f"Band (2, 3]: {BANDS[3][1]}".replace("'", "&#x27;") in page
    assert page.count("<section class='card'>") == 1


def test_an_empty_portfolio_says_so():
    assert "No scorecards: the store has no project." in to_markdown([])
    assert "No scorecards: the store has no project." in to_html([])


def test_exports_refuse_what_is_not_a_list_of_scorecards():
    with pytest.raises(InvalidInput, match="cards must be a list of Scorecards; it holds a dict"):
        to_html([{"project": "credit"}])
    with pytest.raises(InvalidInput, match="cards must be a list of Scorecards, got str"):
        to_markdown("credit")


def test_control_characters_are_escapes_in_both_formats():
    hostile = card(model="evil\x1b[2J\x07", label="a\x00b")
    md, page = to_markdown([hostile]), to_html([hostile])
    for text in (md, page):
        assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", text)
    assert "evil\\\\x1b\\[2J\\\\x07" in md and "a\\\\x00b" in md  # Markdown escapes the backslash and `[`
    assert "evil\\x1b[2J\\x07" in page and "a\\x00b" in page
