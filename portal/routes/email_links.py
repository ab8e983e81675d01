"""The tracking links of mail: ``GET /email/click?t=`` (record, then redirect to the link's
target) and ``GET /email/open?t=`` (the open pixel).

Only targets a message contained redirect: the target is inside the signed token, so a forged
or altered token is a 404 page, never a redirect (no open redirect). Recording never stands in
the reader's way: a failure is logged and the redirect (or the pixel) still answers. Neither
route hands the browser a visitor id: the click's landing page does that, as any page does.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromQuery
from litestar.response import Redirect

from content.orm import utcnow
from nurture.mail import engagement
from portal.dependencies import PublicSite
from portal.mail.links import read_click, read_open
from portal.visitor import visitor_of
from portal.web import client_ip

logger = logging.getLogger("leadshelf.mail")

PIXEL = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
"""A transparent 1x1 GIF."""

NOT_STORED = {"Cache-Control": "no-store, private", "Referrer-Policy": "no-referrer"}
"""Every load and click reaches the server (no cache answers for it); the token in the URL
goes to no one else."""


@get("/email/click", include_in_schema=False, sync_to_thread=True)
def email_click(
    request: Request[Any, Any, Any], site: NamedDependency[PublicSite], t: FromQuery[str] = ""
) -> Redirect:
    """Record the click on the message's lead, then send the browser where the link pointed."""
    click = read_click(site.signer, t)
    if click is None:
        raise NotFoundException()
    visitor_of(request).discard()
    try:
        with site.database.write() as session:
            engagement.record_click(
                session,
                click.message_id,
                click.target,
                utcnow(),
                base_url=site.settings.base_url,
                model=site.model,
                user_agent=request.headers.get("user-agent", ""),
            )
    except Exception:  # the reader still gets where the link leads
        logger.exception("could not record a click on mail %d", click.message_id)
    return Redirect(click.target, status_code=302, headers=NOT_STORED)


@get("/email/open", include_in_schema=False, sync_to_thread=True)
def email_open(
    request: Request[Any, Any, Any], site: NamedDependency[PublicSite], t: FromQuery[str] = ""
) -> Response[bytes]:
    """The open pixel: records the open (a person's or a machine's), answers a 1x1 GIF."""
    visitor_of(request).discard()
    message_id = read_open(site.signer, t)
    if message_id is not None:
        try:
            with site.database.write() as session:
                engagement.record_open(
                    session,
                    message_id,
                    utcnow(),
                    user_agent=request.headers.get("user-agent", ""),
                    address=client_ip(request),
                    model=site.model,
                )
        except Exception:  # an image never fails for the reader
            logger.exception("could not record an open of mail %d", message_id)
    return Response(PIXEL, media_type="image/gif", headers=NOT_STORED)


ROUTES: list[Any] = [email_click, email_open]
