"""The specialist's queue: call, recall, no-show, serve, finish, return, transfer (§23, §33-34).

Every action runs in one write transaction, writes the client's history (§4)
and an audit entry, and pushes an event (ids only) to the hallway displays,
the specialist panels concerned and the administrators' day view.

Claiming a ticket cannot happen twice: the specialist's row is locked first
(FOR UPDATE on PostgreSQL; on SQLite the whole write transaction is BEGIN
IMMEDIATE), the candidate ticket is read with FOR UPDATE SKIP LOCKED, and the
status is checked again after the lock. A ticket that changed meanwhile gives
a Conflict with a readable message, never a second call.

One module per stage of a ticket: `calling` (call, call out of turn, recall,
start), `finishing` (finish, no-show, return to the queue), `transfer` (§23);
`common` holds the locks and checks they share.
"""

from visits.services.queue.calling import (
    CallResult,
    lateness,
    ticket_call,
    ticket_call_next,
    ticket_recall,
    ticket_start,
    ticket_start_change,
)
from visits.services.queue.common import STATUS_PHRASES, TicketChange, ticket_locked
from visits.services.queue.finishing import (
    ticket_finish,
    ticket_finish_change,
    ticket_no_show,
    ticket_return,
)
from visits.services.queue.transfer import TRANSFER_LIMIT, ticket_transfer

__all__ = [
    "STATUS_PHRASES",
    "TRANSFER_LIMIT",
    "CallResult",
    "TicketChange",
    "lateness",
    "ticket_call",
    "ticket_call_next",
    "ticket_finish",
    "ticket_finish_change",
    "ticket_locked",
    "ticket_no_show",
    "ticket_recall",
    "ticket_return",
    "ticket_start",
    "ticket_start_change",
    "ticket_transfer",
]
