"""Every table of the application, gathered so Alembic and tests see one complete metadata."""

from content import models as content_models
from content import site_pages
from content.orm import Base
from nurture import models as nurture_models
from nurture.attribution import models as attribution_models
from nurture.intelligence import models as intelligence_models
from nurture.mail import models as mail_models
from nurture.programs import models as program_models
from portal import job_records, ratelimit
from portal.accounts import models as accounts_models
from portal.db import Database
from tracking import models as tracking_models
from tracking.accounts import models as account_models
from tracking.deals import models as deal_models
from tracking.pipeline import audience as audience_models
from tracking.sources import models as source_models

metadata = Base.metadata


def database(url: str) -> Database:
    """The database at ``url`` in a process that imported only some models: the event writer
    process imports this module so its ORM knows every table (a lead's row names an account's,
    and flushing it needs that table's metadata)."""
    return Database(url)


__all__ = [
    "account_models",
    "accounts_models",
    "attribution_models",
    "audience_models",
    "content_models",
    "database",
    "deal_models",
    "intelligence_models",
    "job_records",
    "mail_models",
    "metadata",
    "nurture_models",
    "program_models",
    "ratelimit",
    "site_pages",
    "source_models",
    "tracking_models",
]
