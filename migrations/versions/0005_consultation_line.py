"""consultation line: calls, hand-overs, call-backs, bookings made during a call (§18-28)

Revision ID: 0005
Revises: 0004
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('call',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('opened_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('opened_by_staff_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=True),
    sa.Column('topic', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=True),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('handover_count', sa.Integer(), nullable=False),
    sa.Column('referral', sqlmodel.sql.sqltypes.AutoString(length=600), nullable=False),
    sa.Column('warning', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('closed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('closed_by_staff_id', sa.Integer(), nullable=True),
    sa.Column('duration_seconds', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['client.id'], ),
    sa.ForeignKeyConstraint(['closed_by_staff_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['opened_by_staff_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], ),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('call', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_call_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_call_opened_at'), ['opened_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_call_opened_by_staff_id'), ['opened_by_staff_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_call_outcome'), ['outcome'], unique=False)
        batch_op.create_index(batch_op.f('ix_call_staff_id'), ['staff_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_call_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_call_topic'), ['topic'], unique=False)

    op.create_table('callback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=True),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('promised_by_staff_id', sa.Integer(), nullable=False),
    sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('question', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('answer_by', sa.Date(), nullable=False),
    sa.Column('intervals', sa.JSON(), nullable=False),
    sa.Column('due_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('late_after', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('done_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('done_by_staff_id', sa.Integer(), nullable=True),
    sa.Column('answer', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['call.id'], ),
    sa.ForeignKeyConstraint(['client_id'], ['client.id'], ),
    sa.ForeignKeyConstraint(['done_by_staff_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['promised_by_staff_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('callback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callback_call_id'), ['call_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_callback_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_callback_done_at'), ['done_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_callback_due_at'), ['due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_callback_staff_id'), ['staff_id'], unique=False)

    op.create_table('callbooking',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('booking_id', sa.Integer(), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.ForeignKeyConstraint(['booking_id'], ['booking.id'], ),
    sa.ForeignKeyConstraint(['call_id'], ['call.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('callbooking', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callbooking_booking_id'), ['booking_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_callbooking_call_id'), ['call_id'], unique=False)

    op.create_table('callhandover',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('from_staff_id', sa.Integer(), nullable=False),
    sa.Column('to_staff_id', sa.Integer(), nullable=False),
    sa.Column('said', sqlmodel.sql.sqltypes.AutoString(length=600), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['call.id'], ),
    sa.ForeignKeyConstraint(['from_staff_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['to_staff_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('callhandover', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callhandover_call_id'), ['call_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_callhandover_to_staff_id'), ['to_staff_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('callhandover', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_callhandover_to_staff_id'))
        batch_op.drop_index(batch_op.f('ix_callhandover_call_id'))

    op.drop_table('callhandover')
    with op.batch_alter_table('callbooking', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_callbooking_call_id'))
        batch_op.drop_index(batch_op.f('ix_callbooking_booking_id'))

    op.drop_table('callbooking')
    with op.batch_alter_table('callback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_callback_staff_id'))
        batch_op.drop_index(batch_op.f('ix_callback_due_at'))
        batch_op.drop_index(batch_op.f('ix_callback_done_at'))
        batch_op.drop_index(batch_op.f('ix_callback_client_id'))
        batch_op.drop_index(batch_op.f('ix_callback_call_id'))

    op.drop_table('callback')
    with op.batch_alter_table('call', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_call_topic'))
        batch_op.drop_index(batch_op.f('ix_call_status'))
        batch_op.drop_index(batch_op.f('ix_call_staff_id'))
        batch_op.drop_index(batch_op.f('ix_call_outcome'))
        batch_op.drop_index(batch_op.f('ix_call_opened_by_staff_id'))
        batch_op.drop_index(batch_op.f('ix_call_opened_at'))
        batch_op.drop_index(batch_op.f('ix_call_client_id'))

    op.drop_table('call')
