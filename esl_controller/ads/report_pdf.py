"""The buyer's PDF of a campaign report (fpdf2): key figures, summary, delivery chart, table.

Drawn with fpdf2 primitives only (rects and lines for the chart) and the bundled DejaVu fonts,
so every script a campaign or screen name may use prints. Deterministic: the PDF's creation
date is the report's generation time.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from esl_controller.ads.reports import Report, ReportGroup, money, percent, store_list
from esl_controller.labels.fonts import font_path

INK = (33, 37, 41)
MUTED = (108, 117, 125)
ACCENT = (13, 71, 161)
BAR = (100, 149, 237)
GOAL = (211, 84, 0)
RULE = (222, 226, 230)
BAND = (241, 244, 248)
PAGE_MARGIN = 15.0
FONT = "DejaVu"
CONDENSED = "DejaVuCond"
GROUP_TITLES = {
    "day": "Day", "hour": "Hour", "store": "Store", "player": "Screen", "zone": "Zone",
    "creative": "Creative",
}  # fmt: skip


def count(value: int) -> str:
    return f"{value:,}"


def milli(value_milli: int, places: int = 3) -> str:
    """Exact thousandths: 12500 -> "12.500"; with places=0 only for whole numbers."""
    whole, fraction = divmod(value_milli, 1000)
    if places == 0 and fraction == 0:
        return f"{whole:,}"
    return f"{whole:,}.{fraction:03d}"


def impression_places(report: Report) -> int:
    """3 decimals when any figure has a fraction (so columns align), else none."""
    values = [g.impressions_milli for g in report.groups] + [report.total.impressions_milli]
    return 3 if any(value % 1000 for value in values) else 0


def play_time(play_ms: int) -> str:
    seconds = (play_ms + 500) // 1000
    hours, rest = divmod(seconds, 3600)
    return f"{hours:,}:{rest // 60:02d}:{rest % 60:02d}"


def amount(minor: int | None, currency: str) -> str:
    if minor is None:
        return "–"
    value = money(minor, currency)
    return f"{value:,} {currency}"


def pct(tenths: int | None) -> str:
    value = percent(tenths)
    return "–" if value is None else f"{value}%"


class _ReportPdf(FPDF):
    def __init__(self, report: Report) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.report = report
        self.set_margins(PAGE_MARGIN, PAGE_MARGIN, PAGE_MARGIN)
        self.set_auto_page_break(True, margin=20)
        self.add_font(FONT, "", str(font_path("DejaVuSans.ttf")))
        self.add_font(FONT, "B", str(font_path("DejaVuSans-Bold.ttf")))
        self.add_font(CONDENSED, "", str(font_path("DejaVuSansCondensed.ttf")))
        self.add_font(CONDENSED, "B", str(font_path("DejaVuSansCondensed-Bold.ttf")))
        self.set_creation_date(report.generated_at)
        campaign = report.campaign
        self.set_title(f"Proof-of-play report: {campaign.name}")
        self.set_author("esl-controller")
        self.set_subject(f"Campaign {campaign.id} for {campaign.advertiser}")

    def local(self, moment: datetime | None) -> str:
        if moment is None:
            return "all"
        return moment.astimezone(ZoneInfo(self.report.tz)).strftime("%Y-%m-%d %H:%M")

    def footer(self) -> None:
        self.set_y(-14)
        self.set_draw_color(*RULE)
        self.line(PAGE_MARGIN, self.get_y(), self.w - PAGE_MARGIN, self.get_y())
        self.set_font(FONT, "", 7)
        self.set_text_color(*MUTED)
        head = self.report.chain_head
        proof = (
            f"Impression log head: seq {head[0]}, sha256 {head[1]}"
            if head
            else "Impression log head: not stamped"
        )
        self.cell(0, 6, proof, new_x=XPos.LMARGIN, new_y=YPos.TOP)
        self.cell(0, 6, f"Page {self.page_no()} of {{nb}}", align="R")


def render_pdf(report: Report) -> bytes:
    pdf = _ReportPdf(report)
    pdf.add_page()
    _title(pdf)
    _key_figures(pdf)
    _summary(pdf)
    _chart(pdf)
    _group_table(pdf)
    return bytes(pdf.output())


def _title(pdf: _ReportPdf) -> None:
    report, campaign = pdf.report, pdf.report.campaign
    pdf.set_fill_color(*ACCENT)
    pdf.rect(0, 0, pdf.w, 30, style="F")
    pdf.set_xy(PAGE_MARGIN, 8)
    pdf.set_text_color(255, 255, 255)
    pdf.set_font(FONT, "B", 17)
    pdf.cell(0, 8, "Proof-of-play report", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", 10)
    pdf.cell(0, 6, f"{campaign.name} · {campaign.advertiser}", new_x=XPos.LMARGIN)
    pdf.set_xy(PAGE_MARGIN, 8)
    pdf.set_font(FONT, "", 8)
    pdf.cell(0, 5, f"Generated {pdf.local(report.generated_at)} ({report.tz})", align="R")
    pdf.set_xy(PAGE_MARGIN, 36)
    pdf.set_text_color(*INK)


def _key_figures(pdf: _ReportPdf) -> None:
    total, currency = pdf.report.total, pdf.report.campaign.currency
    campaign = pdf.report.campaign
    tiles = [
        ("Impressions", milli(total.impressions_milli, impression_places(pdf.report))),
        ("Plays", count(total.plays)),
        ("Spend", amount(total.spend_minor, currency)),
        (f"Delivered ({campaign.goal_kind} goal)", pct(total.delivery_tenths)),
    ]
    gap = 4.0
    width = (pdf.w - 2 * PAGE_MARGIN - gap * (len(tiles) - 1)) / len(tiles)
    top = pdf.get_y()
    for index, (caption, value) in enumerate(tiles):
        x = PAGE_MARGIN + index * (width + gap)
        pdf.set_fill_color(*BAND)
        pdf.rect(x, top, width, 18, style="F")
        pdf.set_xy(x + 3, top + 2.5)
        pdf.set_font(FONT, "", 7.5)
        pdf.set_text_color(*MUTED)
        pdf.cell(width - 6, 4, caption)
        pdf.set_xy(x + 3, top + 8)
        pdf.set_font(FONT, "B", 12)
        pdf.set_text_color(*INK)
        pdf.cell(width - 6, 7, value)
    pdf.set_xy(PAGE_MARGIN, top + 24)


def _summary_rows(pdf: _ReportPdf) -> list[tuple[str, str]]:
    report, campaign = pdf.report, pdf.report.campaign
    total, currency = report.total, campaign.currency
    names = ", ".join(s.player_name or s.player_id for s in report.screens[:8])
    if len(report.screens) > 8:
        names += f" and {len(report.screens) - 8} more"
    if campaign.goal_value <= 0:
        goal = "none set"
    elif campaign.goal_kind == "budget":
        goal = f"budget {amount(campaign.goal_value, currency)}"
    else:
        goal = f"{count(campaign.goal_value)} {campaign.goal_kind}"
    return [
        ("Campaign", f"{campaign.name} (id {campaign.id})"),
        ("Advertiser", campaign.advertiser),
        ("Flight", f"{pdf.local(campaign.starts_at)} to {pdf.local(campaign.ends_at)}"),
        ("Report period", f"{pdf.local(report.period_from)} to {pdf.local(report.period_to)}"
                          f" ({report.tz})"),
        ("Venue type (OpenOOH)", campaign.venue_type),
        ("Stores", store_list(report)),
        ("Screens", f"{len(report.screens)}" + (f": {names}" if names else "")),
        ("Goal", goal),
        ("CPM / effective CPM",
         f"{amount(campaign.cpm_minor, currency)} / {amount(total.ecpm_minor, currency)}"),
        ("Play time", f"{play_time(total.play_ms)} (h:mm:ss)"),
        ("Audience source", f"measured by sensor on {count(total.measured_plays)} plays, "
                            f"declared by the venue on {count(total.declared_plays)}"),
    ]  # fmt: skip


def _summary(pdf: _ReportPdf) -> None:
    _heading(pdf, "Campaign summary")
    label_width = 45.0
    for index, (label, value) in enumerate(_summary_rows(pdf)):
        fill = index % 2 == 0
        pdf.set_fill_color(*BAND)
        pdf.set_font(FONT, "B", 8.5)
        pdf.set_text_color(*MUTED)
        y = pdf.get_y()
        pdf.set_font(FONT, "", 8.5)
        pdf.set_text_color(*INK)
        pdf.set_x(PAGE_MARGIN + label_width)
        pdf.multi_cell(
            pdf.w - 2 * PAGE_MARGIN - label_width,
            5.5,
            value,
            fill=fill,
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        height = pdf.get_y() - y
        pdf.set_xy(PAGE_MARGIN, y)
        pdf.set_font(FONT, "B", 8.5)
        pdf.set_text_color(*MUTED)
        pdf.cell(label_width, height, "  " + label, fill=fill)
        pdf.set_xy(PAGE_MARGIN, y + height)
    pdf.ln(4)
    pdf.set_text_color(*INK)


def _heading(pdf: _ReportPdf, text: str) -> None:
    pdf.set_font(FONT, "B", 11)
    pdf.set_text_color(*ACCENT)
    pdf.cell(0, 7, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(*INK)


def _nice_ceiling(value: int) -> int:
    """A round axis maximum >= value (1, 2, 2.5, 5 x 10^n)."""
    if value <= 0:
        return 1
    magnitude = 1
    while magnitude * 10 <= value:
        magnitude *= 10
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value:
            return int(step * magnitude) if step * magnitude >= 1 else 1
    return magnitude * 10


def _chart(pdf: _ReportPdf) -> None:
    points = pdf.report.timeline
    _heading(pdf, "Delivery over time")
    if not points:
        pdf.set_font(FONT, "", 9)
        pdf.cell(0, 8, "No plays in this period.", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        return
    height, left, right = 55.0, PAGE_MARGIN + 14, pdf.w - PAGE_MARGIN - 12
    if pdf.get_y() + height + 20 > pdf.h - 20:
        pdf.add_page()
    top = pdf.get_y() + 3
    bottom = top + height
    peak = _nice_ceiling(max(p.impressions_milli for p in points) // 1000 + 1)
    _chart_axes(pdf, left, right, top, bottom, peak)
    slot = (right - left) / len(points)
    pdf.set_fill_color(*BAR)
    for index, point in enumerate(points):
        bar = height * point.impressions_milli / (peak * 1000)
        if bar > 0:
            pdf.rect(left + index * slot + slot * 0.15, bottom - bar, slot * 0.7, bar, style="F")
    _cumulative_line(pdf, points, left, slot, top, bottom)
    _date_labels(pdf, points, left, slot, bottom)
    _chart_legend(pdf, bottom + 9)


def _chart_axes(
    pdf: _ReportPdf, left: float, right: float, top: float, bottom: float, peak: int
) -> None:
    pdf.set_font(FONT, "", 6.5)
    pdf.set_draw_color(*RULE)
    pdf.set_line_width(0.2)
    for step in range(5):
        y = bottom - (bottom - top) * step / 4
        pdf.line(left, y, right, y)
        pdf.set_text_color(*MUTED)
        pdf.set_xy(left - 14, y - 2)
        pdf.cell(13, 4, f"{peak * step / 4:,.0f}".replace(".0", ""), align="R")
        if pdf.report.campaign.goal_value > 0:
            pdf.set_xy(right + 1, y - 2)
            pdf.cell(11, 4, f"{25 * step}%")
    pdf.set_draw_color(*MUTED)
    pdf.line(left, bottom, right, bottom)


def _cumulative_line(
    pdf: _ReportPdf, points, left: float, slot: float, top: float, bottom: float
) -> None:
    if pdf.report.campaign.goal_value <= 0:
        return
    pdf.set_draw_color(*GOAL)
    pdf.set_line_width(0.6)
    coordinates = []
    for index, point in enumerate(points):
        share = min(point.cumulative_delivery_tenths or 0, 1000) / 1000
        coordinates.append((left + (index + 0.5) * slot, bottom - (bottom - top) * share))
    if len(coordinates) == 1:
        x, y = coordinates[0]
        pdf.set_fill_color(*GOAL)
        pdf.ellipse(x - 1, y - 1, 2, 2, style="F")
    else:
        pdf.polyline(coordinates)
    pdf.set_line_width(0.2)


def _date_labels(pdf: _ReportPdf, points, left: float, slot: float, bottom: float) -> None:
    pdf.set_font(FONT, "", 6.5)
    pdf.set_text_color(*MUTED)
    every = max(1, -(-len(points) // 10))
    for index in range(0, len(points), every):
        pdf.set_xy(left + index * slot + slot / 2 - 10, bottom + 1)
        pdf.cell(20, 4, points[index].day.strftime("%d %b"), align="C")


def _chart_legend(pdf: _ReportPdf, y: float) -> None:
    pdf.set_xy(PAGE_MARGIN + 14, y)
    pdf.set_fill_color(*BAR)
    pdf.rect(pdf.get_x(), y + 1.2, 4, 2.5, style="F")
    pdf.set_x(pdf.get_x() + 5)
    pdf.set_font(FONT, "", 7)
    pdf.set_text_color(*INK)
    pdf.cell(60, 5, f"Impressions per day ({pdf.report.tz})")
    if pdf.report.campaign.goal_value > 0:
        x = pdf.get_x()
        pdf.set_draw_color(*GOAL)
        pdf.set_line_width(0.6)
        pdf.line(x, y + 2.5, x + 5, y + 2.5)
        pdf.set_line_width(0.2)
        pdf.set_x(x + 6)
        pdf.cell(70, 5, f"Cumulative delivery of the {pdf.report.campaign.goal_kind} goal (right)")
    pdf.set_xy(PAGE_MARGIN, y + 9)


def _group_cells(group: ReportGroup, currency: str, places: int) -> list[str]:
    return [
        group.label,
        count(group.plays),
        play_time(group.play_ms),
        milli(group.impressions_milli, places),
        f"{count(group.measured_plays)} / {count(group.declared_plays)}",
        amount(group.ecpm_minor, currency),
        amount(group.spend_minor, currency),
        pct(group.delivery_tenths),
    ]


def _group_table(pdf: _ReportPdf) -> None:
    report, currency = pdf.report, pdf.report.campaign.currency
    if pdf.get_y() > pdf.h - 60:
        pdf.add_page()
    _heading(pdf, f"Delivery by {GROUP_TITLES[report.group_by].lower()}")
    headings = [GROUP_TITLES[report.group_by], "Plays", "Play time", "Impressions",
                "Sensor / declared", "eCPM", "Spend", "Of goal"]  # fmt: skip
    places = impression_places(report)
    pdf.set_font(CONDENSED, "", 8)
    pdf.set_draw_color(*RULE)
    pdf.set_fill_color(*BAND)
    with pdf.table(
        col_widths=(36, 15, 18, 22, 29, 19, 25, 16),
        text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "RIGHT"),
        headings_style=FontFace(emphasis="BOLD", color=(255, 255, 255), fill_color=ACCENT),
        cell_fill_color=BAND,
        cell_fill_mode="ROWS",
        line_height=5.5,
        borders_layout="HORIZONTAL_LINES",
        repeat_headings=1,
    ) as table:
        table.row(headings)
        for group in report.groups:
            table.row(_group_cells(group, currency, places))
        total_style = FontFace(emphasis="BOLD", fill_color=(225, 232, 245))
        row = table.row()
        for text in _group_cells(report.total, currency, places):
            row.cell(text, style=total_style)
    pdf.ln(3)
    pdf.set_font(FONT, "", 7)
    pdf.set_text_color(*MUTED)
    pdf.multi_cell(0, 4, _notes(report), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _notes(report: Report) -> str:
    exact = Decimal(report.total.spend_basis) / 1_000_000
    return (
        "Impressions = plays x audience per play, measured by the screen's audience sensor "
        "during the play or declared by the venue for the daypart. Spend = impressions / 1000 x "
        f"CPM, rounded half up once on the total (exact {exact} minor units); group spends are "
        "allocated so they add up to the total; with several stores each store's spend is "
        "rounded once and the total is their sum. Days and hours are store-local "
        f"({report.tz}); a play belongs to the day and hour it started. Figures are exact; "
        "the CSV and JSON versions of this report hold the same numbers."
    )
