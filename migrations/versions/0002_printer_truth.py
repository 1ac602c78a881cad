"""printer truth: paper width, status answers, the roll sensor, the last bytes sent

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("printer_paper_mm", sa.Integer(), nullable=False, server_default="80")
        )
        batch_op.add_column(
            sa.Column("printer_confirms", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.add_column(
            sa.Column(
                "printer_paper",
                sqlmodel.sql.sqltypes.AutoString(length=10),
                nullable=False,
                server_default="",
            )
        )
        batch_op.add_column(
            sa.Column("printer_paper_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
    with op.batch_alter_table("printjob", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sent_data", sa.LargeBinary(), nullable=True))
    # Printers registered before: a POS-5890 is a 58 mm printer of 32 columns, and has no
    # native QR; a file:// printer cannot answer status requests.
    op.execute(
        "UPDATE device SET printer_paper_mm = 58, printer_width_chars = 32, "
        "printer_native_qr = false WHERE printer_profile = 'POS-5890'"
    )
    op.execute("UPDATE device SET printer_confirms = false WHERE printer_uri LIKE 'file:%'")


def downgrade() -> None:
    with op.batch_alter_table("printjob", schema=None) as batch_op:
        batch_op.drop_column("sent_data")
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.drop_column("printer_paper_at")
        batch_op.drop_column("printer_paper")
        batch_op.drop_column("printer_confirms")
        batch_op.drop_column("printer_paper_mm")
