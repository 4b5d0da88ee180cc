"""What the org API modules share: the fields every code and name is checked with."""

from ninja import Field

Code = Field(..., min_length=1, max_length=16, pattern=r"^[A-Za-z0-9_-]+$")
Name = Field(..., min_length=1, max_length=200)
