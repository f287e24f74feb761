"""What a ledger import reports back: the rows taken, and each rejected row with its reason."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Rejection(BaseModel):
    row: int = Field(description="Spreadsheet row number (the header is row 1)")
    field: str = Field(description="The ledger column at fault (its English key)")
    reason: str


class ImportReport(BaseModel):
    rows: int = Field(description="Non-empty data rows read")
    accepted: int = Field(description="Rows that passed every check")
    imported: int = Field(description="Businesses written (0 in a dry run)")
    dry_run: bool
    rejected: list[Rejection] = Field(
        default_factory=list, description="The first 200 rejections (a row may have several)"
    )
    rejected_count: int = Field(default=0, description="Every rejection, shown or not")
    rejected_rows: int = Field(default=0, description="Rows with at least one rejection")
    import_id: str | None = Field(
        default=None, description="Names the full rejection report, when there are rejections"
    )
    rejections_url: str | None = Field(
        default=None, description="Where to download every rejection as CSV (row, column, reason)"
    )
