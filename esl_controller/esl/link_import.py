"""Importing label links from a CSV file: label id; GTIN; template, one label a row.

Each row is judged alone: a bad row is reported with its line number and the reason, and
every good row is still linked. Separators `;` and `,` are both accepted (spreadsheets in
most of Europe save with `;`), and UTF-8 with or without a byte-order mark.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from sqlmodel import Session

from esl_controller.config import Settings
from esl_controller.esl import label_links
from esl_controller.labels.render_pool import shared_renderer

MAX_IMPORT_BYTES = 2 * 1024 * 1024
HEADER_NAMES = {"label", "label id", "label_id", "labelid", "etichetă", "eticheta"}


class ImportFileError(ValueError):
    """The file as a whole cannot be read; nothing was changed."""


@dataclass(frozen=True)
class LinkRow:
    line: int
    label_id: str
    gtin: str
    template: str | None


@dataclass(frozen=True)
class RowResult:
    line: int
    label_id: str
    gtin: str
    error: str | None = None  # None: linked

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class ImportReport:
    results: list[RowResult] = field(default_factory=list)

    @property
    def linked(self) -> int:
        return sum(1 for row in self.results if row.ok)

    @property
    def errors(self) -> list[RowResult]:
        return [row for row in self.results if not row.ok]


def decode(data: bytes) -> str:
    if len(data) > MAX_IMPORT_BYTES:
        raise ImportFileError(f"the file is larger than {MAX_IMPORT_BYTES // 1024} KiB")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileError(
            "the file is not UTF-8 text; save it from your spreadsheet as “CSV UTF-8”"
        ) from None


def separator_of(text: str) -> str:
    first = next((line for line in text.splitlines() if line.strip()), "")
    return ";" if first.count(";") >= first.count(",") and ";" in first else ","


def parse_rows(text: str) -> tuple[list[LinkRow], list[RowResult]]:
    """Rows to link and rows refused while reading (wrong column count, empty cells,
    a label listed twice). A header row is recognised by its first cell and skipped."""
    reader = csv.reader(io.StringIO(text), delimiter=separator_of(text))
    rows: list[LinkRow] = []
    refused: list[RowResult] = []
    seen: dict[str, int] = {}
    for index, cells in enumerate(reader):
        line = reader.line_num
        cells = [cell.strip() for cell in cells]
        if not any(cells):
            continue
        if index == 0 and cells[0].lower() in HEADER_NAMES:
            continue
        label_id = cells[0]
        gtin = cells[1] if len(cells) > 1 else ""
        if len(cells) not in (2, 3):
            refused.append(
                RowResult(
                    line,
                    label_id,
                    gtin,
                    f"expected 2 or 3 columns (label id; GTIN; template), found {len(cells)}",
                )
            )
            continue
        if not label_id or not gtin:
            refused.append(RowResult(line, label_id, gtin, "the label id and the GTIN are needed"))
            continue
        if label_id in seen:
            refused.append(
                RowResult(
                    line, label_id, gtin, f"label {label_id} is already on line {seen[label_id]}"
                )
            )
            continue
        seen[label_id] = line
        template = cells[2] if len(cells) == 3 and cells[2] else None
        rows.append(LinkRow(line, label_id, gtin, template))
    return rows, refused


def import_links(
    session: Session, settings: Settings, data: bytes, *, actor: str, relink: bool = False
) -> ImportReport:
    """Link every good row and commit them together; ImportFileError if the file is unreadable.

    link_label checks everything before it writes, so a refused row leaves nothing behind
    and needs no savepoint."""
    rows, refused = parse_rows(decode(data))
    if not rows and not refused:
        raise ImportFileError("the file has no rows (label id; GTIN; template)")
    renderer = shared_renderer(settings.templates_dir)
    report = ImportReport(results=list(refused))
    for row in rows:
        try:
            label_links.link_label(
                session,
                settings,
                row.label_id,
                row.gtin,
                row.template,
                renderer,
                actor=actor,
                relink=relink,
                commit=False,
            )
        except LookupError as exc:
            report.results.append(RowResult(row.line, row.label_id, row.gtin, str(exc.args[0])))
        except label_links.LinkError as exc:
            report.results.append(RowResult(row.line, row.label_id, row.gtin, str(exc)))
        else:
            report.results.append(RowResult(row.line, row.label_id, row.gtin))
    session.commit()
    report.results.sort(key=lambda result: result.line)
    return report
