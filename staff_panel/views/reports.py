"""Reports (§34.4, §36): ratings, waits, service times, no-shows, late starts.

Fragments: #report (filters + tables + charts, swapped on every filter
change) and #report-alerts (ratings of 1-2, refreshed on the "rating.low"
push of the staff stream). Every table has a CSV export with the same filters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode

from flask import Response, abort, request, url_for
from flask.typing import ResponseReturnValue

from staff_panel import bp
from staff_panel.nav import nav_item
from visits.errors import InvalidInput
from visits.export.spreadsheet import csv_text
from visits.models import Role, Staff
from visits.queries.reports import (
    PERCENTILES,
    SCORES,
    DurationStats,
    RatingGroup,
    RatingStats,
    Report,
    ReportFilter,
    ReportScope,
    low_rating_alerts,
    report_build,
    report_default_filter,
    report_scope_for,
    report_services,
    report_ticket_card,
)
from visits.ru import plural
from visits.services.rating import rating_ticket_open
from visits.web.auth import current_staff, staff_required
from visits.web.context import db, priyom
from visits.web.htmx import render
from visits.web.security import parse_id

nav_item("staff_panel.reports", "Отчёты", Role.ADMINISTRATOR, Role.SPECIALIST, order=60)

MAX_DAYS = 366
SCORE_COLOURS = {1: "#b91c1c", 2: "#ea580c", 3: "#ca8a04", 4: "#65a30d", 5: "#15803d"}
TABLES = {
    "by_staff": "Оценки по специалистам",
    "by_service": "Оценки по услугам",
    "by_room": "Оценки по кабинетам",
    "by_day": "По дням",
    "wait": "Ожидание: от регистрации до вызова",
    "service_time": "Длительность приёма",
    "late": "Опоздания с началом приёма (§34.4)",
    "comments": "Комментарии",
    "faults": "Ошибки департамента (§35.5)",
    "calls": "Консультационная линия (§18-27)",
    "calls_by_day": "Звонки по дням и темам",
}


def _me() -> tuple[Staff, ReportScope]:
    staff = current_staff()
    assert staff is not None
    scope = report_scope_for(staff)
    if scope is None:
        abort(403)
    return staff, scope


def _date_arg(name: str, default: date) -> date:
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput("Укажите дату в виде ГГГГ-ММ-ДД.", field=name) from None


def _filters(scope: ReportScope) -> ReportFilter:
    default = report_default_filter(priyom().calendar)
    date_from = _date_arg("from", default.date_from)
    date_to = _date_arg("to", default.date_to)
    if date_from > date_to:
        raise InvalidInput("Начало периода позже его конца. Поменяйте даты местами.", field="from")
    if (date_to - date_from).days >= MAX_DAYS:
        raise InvalidInput("Отчёт строится не больше чем за год.", field="from")
    service = request.args.get("service", "")
    unit = request.args.get("unit", "").strip() or None
    return ReportFilter(
        date_from=date_from,
        date_to=date_to,
        unit=scope.unit or unit,
        service_id=parse_id(service),
    )


def _query(filters: ReportFilter) -> dict[str, str]:
    args = {"from": filters.date_from.isoformat(), "to": filters.date_to.isoformat()}
    if filters.unit:
        args["unit"] = filters.unit
    if filters.service_id:
        args["service"] = str(filters.service_id)
    return args


# ---------------------------------------------------------------- charts (server-side SVG)


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: str
    colour: str


@dataclass(frozen=True)
class Chart:
    title: str
    width: int
    height: int
    base: float
    bars: list[Bar]


def bar_chart(
    title: str,
    items: list[tuple[str, float | None]],
    *,
    top: float | None = None,
    colours: list[str] | None = None,
    digits: int = 0,
    width: int = 520,
    height: int = 220,
) -> Chart:
    """Geometry of a vertical bar chart; the template draws it as SVG."""
    base = height - 28.0
    usable = base - 24.0
    peak = top or max((v or 0 for _l, v in items), default=0) or 1
    step = (width - 20) / max(len(items), 1)
    bars = []
    for i, (label, value) in enumerate(items):
        h = usable * (value or 0) / peak
        bars.append(
            Bar(
                x=10 + i * step + step * 0.15,
                y=base - h,
                width=step * 0.7,
                height=h,
                label=label,
                value="—" if value is None else f"{value:.{digits}f}".replace(".", ","),
                colour=(colours[i] if colours else "#0b3d91"),
            )
        )
    return Chart(title=title, width=width, height=height, base=base, bars=bars)


def _charts(report: Report) -> list[Chart]:
    charts = [
        bar_chart(
            "Распределение оценок",
            [(str(s), float(report.ratings.distribution[s])) for s in SCORES],
            colours=[SCORE_COLOURS[s] for s in SCORES],
        ),
        bar_chart("Ожидание вызова, минут", [(lbl, float(n)) for lbl, n in report.wait.buckets]),
        bar_chart(
            "Длительность приёма, минут",
            [(lbl, float(n)) for lbl, n in report.service_time.buckets],
        ),
    ]
    calls = report.calls
    if calls is not None and calls.total:
        charts.append(
            bar_chart(
                "Звонки по дням",
                [(f"{row.day:%d.%m}", float(row.total)) for row in calls.by_day[-31:]],
                width=max(520, 26 * len(calls.by_day[-31:])),
            )
        )
        charts.append(
            bar_chart(
                "Звонки по темам",
                [(name, float(n)) for name, n in calls.by_topic],
                width=max(520, 170 * len(calls.by_topic)),
            )
        )
        charts.append(
            bar_chart(
                "Перезвоны (§24)",
                [
                    ("в срок", float(calls.callbacks_on_time)),
                    ("позже срока", float(calls.callbacks_late)),
                    ("срок прошёл", float(calls.callbacks_overdue)),
                    ("ждут", float(calls.callbacks_waiting)),
                ],
                colours=["#15803d", "#ea580c", "#b91c1c", "#0b3d91"],
            )
        )
    if report.by_day:
        charts.append(
            bar_chart(
                "Средняя оценка по дням",
                [(f"{row.day:%d.%m}", row.ratings.average) for row in report.by_day[-31:]],
                top=5,
                digits=1,
                width=max(520, 26 * len(report.by_day[-31:])),
            )
        )
    return charts


# ---------------------------------------------------------------- tables (screen and CSV)


def _num(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}".replace(".", ",")


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.0f}%"


def _rating_cells(stats: RatingStats) -> list[str]:
    return [
        str(stats.count),
        _num(stats.average, 2),
        *(str(stats.distribution[s]) for s in SCORES),
        _pct(stats.low_share),
    ]


RATING_HEAD = ["Оценок", "Средняя", "1", "2", "3", "4", "5", "Доля 1–2"]


def _group_rows(groups: list[RatingGroup]) -> list[list[str]]:
    return [[g.label, *_rating_cells(g.stats)] for g in groups]


def _duration_rows(stats: DurationStats) -> list[list[str]]:
    rows = [["Случаев", str(stats.count)], ["Среднее", _num(stats.mean)]]
    rows += [[f"{p}-й процентиль", _num(stats.percentiles[p])] for p in PERCENTILES]
    rows.append(["Максимум", _num(stats.maximum)])
    rows += [[f"{label} мин", str(n)] for label, n in stats.buckets]
    return rows


def _calls_table(report: Report, name: str) -> tuple[list[str], list[list[str]]]:
    """The consultation line: a summary, or one row per day with the calls by topic."""
    calls = report.calls
    if calls is None:
        return [], []
    if name == "calls_by_day":
        head = ["День", "Звонков", *(t.name for t in calls.topics)]
        head += ["С первого обращения", "Переключений", "Неделовых"]
        return head, [
            [
                f"{row.day:%d.%m.%Y}",
                str(row.total),
                *(str(row.by_topic[t.key]) for t in calls.topics),
                str(row.first_contact),
                str(row.handovers),
                str(row.non_business),
            ]
            for row in calls.by_day
        ]
    if not calls.total:
        return ["Показатель", "Значение"], []
    return ["Показатель", "Значение"], [
        ["Звонков", str(calls.total)],
        ["Завершено", str(calls.closed)],
        ["Ответ с первого обращения", f"{calls.first_contact} ({_pct(calls.first_contact_share)})"],
        ["Переключений (§23)", str(calls.handovers)],
        ["Звонков с переключением", str(calls.handed_calls)],
        ["Переключены дважды", str(calls.handed_twice)],
        ["Обещано перезвонов (§24)", str(calls.callbacks)],
        ["Перезвонили в срок", f"{calls.callbacks_on_time} ({_pct(calls.on_time_share)})"],
        ["Перезвонили позже срока", str(calls.callbacks_late)],
        ["Срок прошёл, не перезвонили", str(calls.callbacks_overdue)],
        ["Ждут перезвона, срок не прошёл", str(calls.callbacks_waiting)],
        ["Вопрос не в полномочиях (§26)", str(calls.referred)],
        ["Завершены как неделовые (§27)", str(calls.non_business)],
        ["Длительность разговора, среднее мин", _num(calls.mean_minutes)],
    ]


def table(report: Report, name: str) -> tuple[list[str], list[list[str]]]:
    """Header and rows of one report table, the same on screen and in CSV."""
    scope = report.scope
    if name == "by_staff":
        return ["Специалист", *RATING_HEAD], _group_rows(report.by_staff)
    if name == "by_service":
        return ["Услуга", *RATING_HEAD], _group_rows(report.by_service)
    if name == "by_room":
        # §36: a visit counts under the specialist's room; a meeting room is its own column.
        rows = [
            [*row, ", ".join(f"{label}: {n}" for label, n in g.meeting_rooms) or "—"]
            for row, g in zip(_group_rows(report.by_room), report.by_room, strict=True)
        ]
        return ["Кабинет специалиста", *RATING_HEAD, "Из них в переговорной"], rows
    if name == "by_day":
        head = ["День", "Талонов", "Принято", "Не подошли", "Оценок", "Средняя", "Доля 1–2"]
        head.append("Ожидание, медиана мин")
        return head, [
            [
                f"{row.day:%d.%m.%Y}",
                str(row.tickets),
                str(row.served),
                str(row.no_shows),
                str(row.ratings.count),
                _num(row.ratings.average, 2),
                _pct(row.ratings.low_share),
                _num(row.wait_median),
            ]
            for row in report.by_day
        ]
    if name == "wait":
        return ["Ожидание, минут", "Значение"], _duration_rows(report.wait)
    if name == "service_time":
        return ["Приём, минут", "Значение"], _duration_rows(report.service_time)
    if name == "late":
        head = ["Специалист", "Вызовов", "С опозданием", "Доля", "Среднее, мин", "Максимум, мин"]
        late = [*report.late, report.late_total] if scope.show_names else [report.late_total]
        return head, [
            [
                row.label,
                str(row.called),
                str(row.late),
                _pct(row.share),
                _num(row.mean_minutes),
                "" if row.max_minutes is None else str(row.max_minutes),
            ]
            for row in late
        ]
    if name in ("calls", "calls_by_day"):
        return _calls_table(report, name)
    if name == "faults":
        head = ["День", "В чём ошибка"]
        head += ["Специалист"] if scope.show_names else []
        head += ["Талон"] if scope.show_tickets else []
        return head, [
            [f"{f.day:%d.%m.%Y}", f.reason]
            + ([f.staff_label or ""] if scope.show_names else [])
            + ([f.ticket_number or ""] if scope.show_tickets else [])
            for f in report.faults
        ]
    if name == "comments":
        head = ["День", "Оценка", "Причины", "Комментарий"]
        if scope.show_names:
            head.append("Специалист")
        if scope.show_tickets:
            head.append("Талон")
        rows = []
        for c in report.comments:
            row = [f"{c.day:%d.%m.%Y}", str(c.score), ", ".join(c.reasons), c.comment]
            if scope.show_names:
                row.append(c.staff_label or "")
            if scope.show_tickets:
                row.append(c.ticket_number or "")
            rows.append(row)
        return head, rows
    abort(404)


def _report(scope: ReportScope, filters: ReportFilter) -> Report:
    return report_build(
        session=db(),
        calendar=priyom().calendar,
        scope=scope,
        filters=filters,
        checkin_grace=timedelta(minutes=priyom().config.office.late_checkin_grace_minutes),
    )


# ---------------------------------------------------------------- routes


@bp.route("/reports")
@staff_required(Role.ADMINISTRATOR, Role.SPECIALIST)
def reports() -> ResponseReturnValue:
    staff, scope = _me()
    filters = _filters(scope)
    report = _report(scope, filters)
    query = _query(filters)
    names = ["by_staff", "by_service", "by_room", "by_day", "late", "faults", "comments"]
    names += ["calls", "calls_by_day"]
    if not scope.show_names:
        names.remove("by_staff")
    return render(
        "staff_panel/pages/reports.html",
        "staff_panel/partials/_report_body.html",
        me=staff,
        report=report,
        scope=scope,
        charts=_charts(report),
        tables={name: (TABLES[name], *table(report, name)) for name in names},
        csv_urls={
            name: url_for("staff_panel.reports_csv", name=name) + "?" + urlencode(query)
            for name in TABLES
        },
        services=report_services(session=db()),
        alerts=low_rating_alerts(session=db(), staff=staff),
        percentiles=PERCENTILES,
        plural=plural,
    )


@bp.route("/reports/<name>.csv")
@staff_required(Role.ADMINISTRATOR, Role.SPECIALIST)
def reports_csv(name: str) -> Response:
    """One table as CSV for a spreadsheet (UTF-8 with BOM, semicolons, as Excel expects here)."""
    _staff, scope = _me()
    if name not in TABLES or (name == "by_staff" and not scope.show_names):
        abort(404)
    filters = _filters(scope)
    head, rows = table(_report(scope, filters), name)
    # A BOM: a Russian spreadsheet reads the file as UTF-8; csv_text neutralises formulas.
    text = "\ufeff" + csv_text(head, rows)
    filename = f"priyom-{name}-{filters.date_from:%Y%m%d}-{filters.date_to:%Y%m%d}.csv"
    return Response(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.route("/reports/alerts")
@staff_required(Role.ADMINISTRATOR, Role.SPECIALIST)
def reports_alerts() -> ResponseReturnValue:
    """Ratings of 1-2 of the last week: refreshed on the "rating.low" push."""
    staff, scope = _me()
    return render(
        "staff_panel/partials/_report_alerts.html",
        "staff_panel/partials/_report_alerts.html",
        scope=scope,
        alerts=low_rating_alerts(session=db(), staff=staff),
    )


@bp.route("/reports/tickets/<int:ticket_id>")
@staff_required(Role.ADMINISTRATOR)
def reports_ticket(ticket_id: int) -> ResponseReturnValue:
    """The ticket and client behind a rating: administrators only, audited."""
    staff, _scope = _me()
    rating_ticket_open(session=db(), staff=staff, ticket_id=ticket_id)
    card = report_ticket_card(session=db(), ticket_id=ticket_id)
    if card is None:
        abort(404)
    return render("staff_panel/pages/report_ticket.html", card=card)
