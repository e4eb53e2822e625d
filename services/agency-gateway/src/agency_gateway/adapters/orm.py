"""Tables of the agency-gateway service (the event runtime's tables come from collections_common)."""

from sqlalchemy import MetaData

metadata = MetaData()
