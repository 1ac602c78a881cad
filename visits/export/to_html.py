"""The history as a standalone HTML page that opens for printing."""

from __future__ import annotations

from jinja2 import Environment

from visits.export.document import HistoryDocument

_HTML = """<!doctype html>
<html lang="ru">
<head>
<meta charset="utf-8">
<title>История взаимодействия — {{ d.client.full_name }}</title>
<style>
  body { font: 14px/1.45 "DejaVu Sans", Arial, sans-serif; color: #111; margin: 2rem auto;
         max-width: 60rem; padding: 0 1rem; }
  h1 { font-size: 1.5rem; margin: 0 0 .25rem; }
  .muted { color: #555; }
  dl { display: grid; grid-template-columns: 14rem 1fr; gap: .2rem 1rem; }
  dt { color: #555; }
  table { width: 100%; border-collapse: collapse; margin-top: 1rem; }
  th, td { text-align: left; vertical-align: top; border-bottom: 1px solid #ccc;
           padding: .4rem .5rem; }
  th { background: #eee; }
  td.when { white-space: nowrap; }
  .message { white-space: pre-line; color: #333; font-size: .92em; margin-top: .3rem;
             border-left: 3px solid #ccc; padding-left: .5rem; }
  .print { font-size: 1rem; padding: .6rem 1.2rem; min-height: 44px; }
  @media print { .print { display: none; } body { margin: 0; max-width: none; } }
</style>
</head>
<body>
<button class="print" type="button" onclick="window.print()">Печать</button>
<h1>История взаимодействия</h1>
<p class="muted">{{ d.office }}</p>
<dl>
  <dt>Клиент</dt><dd>{{ d.client.full_name }}</dd>
  <dt>Телефон</dt><dd>{{ d.phone }}</dd>
  {% if d.client.email %}<dt>Электронная почта</dt><dd>{{ d.client.email }}</dd>{% endif %}
  <dt>Способ связи</dt><dd>{{ d.channels }}</dd>
  <dt>Выдано</dt><dd>{{ d.generated_at_local }}, {{ d.generated_by }}</dd>
  <dt>Событий</dt><dd>{{ d.rows|length }}</dd>
</dl>
<p class="muted">Время — {{ d.time_zone_label }}. Тексты событий и сообщений приведены так, как они были
записаны в момент события. История хранится пять лет (§4 порядка).</p>
<table>
  <thead><tr><th>Когда</th><th>Событие</th><th>Кто</th><th>Подробности</th></tr></thead>
  <tbody>
  {% for r in d.rows %}
  <tr id="entry-{{ r.id }}" data-kind="{{ r.kind }}">
    <td class="when">{{ r.at_local }}</td>
    <td>{{ r.label }}{% if r.channel_label %}<br><span class="muted">{{ r.channel_label }}</span>{% endif %}</td>
    <td>{{ r.actor }}</td>
    <td>{{ r.summary }}{% if r.message %}<div class="message">{{ r.message }}</div>{% endif %}</td>
  </tr>
  {% else %}
  <tr><td colspan="4">Событий нет.</td></tr>
  {% endfor %}
  </tbody>
</table>
</body>
</html>
"""

_jinja = Environment(autoescape=True)
_html_template = _jinja.from_string(_HTML)


def render_html(document: HistoryDocument) -> bytes:
    """The document as an HTML page with a print button."""
    return _html_template.render(d=document).encode()
