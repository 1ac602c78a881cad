"""The shared cache of recent push events: one read serves every stream, topics stay private."""

from collections.abc import Callable

from flask.testing import FlaskClient
from sqlmodel import Session

from tests.conftest import login_as
from visits.db import write_transaction
from visits.push import push_emit
from visits.web.sse import RecentEvents


def _emit(factory: Callable[[], Session], kind: str, topics: list[str], **ids: int) -> int:
    with factory() as session, write_transaction(session):
        row = push_emit(session, kind, topics, **ids)
    return row.id or 0


def test_streams_share_one_read_and_see_only_their_topics(
    session_factory: Callable[[], Session],
) -> None:
    reads = 0

    def counting_factory() -> Session:
        nonlocal reads
        reads += 1
        return session_factory()

    cache = RecentEvents()
    start = cache.after(counting_factory, 0, ["displays"], known_latest=0, force=False)[1]
    first = _emit(session_factory, "ticket.called", ["displays", "staff:1"], ticket_id=7)
    second = _emit(session_factory, "invite", ["staff:2"], invite_id=3)
    reads = 0
    display, last = cache.after(
        counting_factory, start, ["displays"], known_latest=second, force=False
    )
    other, _ = cache.after(counting_factory, start, ["staff:2"], known_latest=second, force=False)
    assert [(i, k) for i, k, _ in display] == [(first, "ticket.called")]
    assert '"ticket_id": 7' in display[0][2]
    assert [k for _, k, _ in other] == ["invite"]
    assert reads == 1  # the second stream was served from memory
    assert last == second


def test_a_stream_far_behind_reads_its_own_rows(session_factory: Callable[[], Session]) -> None:
    old = _emit(session_factory, "ticket.called", ["displays"], ticket_id=1)
    cache = RecentEvents()
    cache.after(
        session_factory, old, ["displays"], known_latest=old, force=False
    )  # cache starts here
    events, _ = cache.after(session_factory, old - 1, ["displays"], known_latest=old, force=False)
    assert [i for i, _, _ in events] == [old]


def test_a_live_page_streams_from_the_event_before_it_was_read(
    client: FlaskClient, session_factory: Callable[[], Session]
) -> None:
    """A check-in committed while the day loads still reaches it: the stream starts
    at the newest event read before the page, not at the one when it connects."""
    before = _emit(session_factory, "ticket.checked_in", ["staff:1"], ticket_id=1)
    login_as(client, "ivanova")
    page = client.get("/staff/today", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert f'sse-connect="/staff/events?after={before}"' in page
    later = _emit(session_factory, "ticket.checked_in", ["staff:1"], ticket_id=2)
    again = client.get("/staff/today", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert f'sse-connect="/staff/events?after={later}"' in again
