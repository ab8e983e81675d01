"""The admin's webhook console: endpoints, their secret (shown once), test, deliveries, replay."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
from anyio import to_thread
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Response, Template

from content.words import N_
from nurture import endpoints
from nurture.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from nurture.webhooks import EVENT_TYPES
from portal import i18n
from portal.accounts.guards import requires_role
from portal.accounts.service import StaffPrincipal
from portal.console_nav import WEBHOOKS
from portal.db import Database
from portal.routes.console import FormBody, console_page
from portal.settings import Settings
from portal.signing import InvalidToken, Purpose, Signer

BASE = "/console/webhooks"
NOTICES = {
    "saved": N_("Endpoint saved."),
    "enabled": N_("Endpoint enabled: deliveries resume."),
    "disabled": N_("Endpoint disabled: nothing is sent to it until you enable it again."),
    "replayed": N_("Delivery queued again; the worker sends it within seconds."),
}
"""What the endpoint's page says after each action (marked; shown in the reader's language)."""
REVEAL_COOKIE = "ls_secret_reveal"
REVEAL_SECONDS = 600
"""How long after creating or rotating the secret page may still show it (once)."""


def _values(endpoint: WebhookEndpoint | None) -> dict[str, Any]:
    if endpoint is None:
        return {"url": "", "description": "", "event_types": list(EVENT_TYPES)}
    return {
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": list(endpoint.event_types or []),
    }


class EndpointForm(msgspec.Struct, kw_only=True):
    """An endpoint's address, its note and the event types it receives."""

    url: str = ""
    description: str = ""
    event_types: list[str] | str = []
    """The ticked boxes (a form with one ticked box sends it as a plain string)."""

    def values(self) -> dict[str, Any]:
        """The fields as the form shows them again."""
        chosen = [self.event_types] if isinstance(self.event_types, str) else self.event_types
        return {"url": self.url, "description": self.description, "event_types": chosen}


class EnabledForm(msgspec.Struct, kw_only=True):
    """The enable/disable button: ``1`` turns deliveries on, anything else off."""

    enabled: str = ""


def _notice(done: str) -> str | None:
    said = NOTICES.get(done)
    return i18n.gettext(said) if said else None


def _fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


def _show_secret_once(
    signer: Signer, settings: Settings, endpoint: WebhookEndpoint, rotated: bool
) -> Response[Any]:
    """POST-redirect-GET: the secret page is a GET, so a reload or a retry posts nothing again.

    A short-lived signed cookie, bound to this endpoint and this secret, lets that page
    show the secret one time; the page deletes it.
    """
    url = f"{BASE}/{endpoint.id}/secret"
    response: Response[Any] = Redirect(url, status_code=303)
    token = signer.sign(
        Purpose.SECRET_REVEAL,
        {"endpoint": endpoint.id, "secret": _fingerprint(endpoint.secret), "rotated": rotated},
    )
    response.set_cookie(
        REVEAL_COOKIE,
        token,
        path=url,
        max_age=REVEAL_SECONDS,
        httponly=True,
        samesite="strict",
        secure=settings.secure_cookies,
    )
    return response


def _revealed(
    request: Request[StaffPrincipal, Any, Any], signer: Signer, endpoint: WebhookEndpoint
) -> dict[str, Any] | None:
    """What the reveal cookie allows this page to show, or None (shown already, or expired)."""
    try:
        claim = signer.unsign(
            Purpose.SECRET_REVEAL, request.cookies.get(REVEAL_COOKIE, ""), REVEAL_SECONDS
        )
    except InvalidToken:
        return None
    if claim.get("endpoint") != endpoint.id or claim.get("secret") != _fingerprint(endpoint.secret):
        return None
    return {"secret": endpoint.secret, "rotated": bool(claim.get("rotated"))}


class WebhooksController(Controller):
    path = BASE
    guards = [requires_role(*WEBHOOKS.roles)]
    include_in_schema = False

    @get("/", sync_to_thread=True)
    def index(
        self, request: Request[StaffPrincipal, Any, Any], database: NamedDependency[Database]
    ) -> Template:
        with database.read() as session:
            rows = endpoints.all_endpoints(session)
        return console_page(request, "console/webhooks.html", rows=rows)

    @get("/new", sync_to_thread=False)
    def new(self, request: Request[StaffPrincipal, Any, Any]) -> Template:
        return console_page(
            request,
            "console/webhook_form.html",
            endpoint=None,
            values=_values(None),
            errors={},
            event_types=EVENT_TYPES,
        )

    @post("/new")
    async def create(
        self,
        request: Request[StaffPrincipal, Any, Any],
        database: NamedDependency[Database],
        settings: NamedDependency[Settings],
        signer: NamedDependency[Signer],
        data: Annotated[EndpointForm, FormBody],
    ) -> Response[Any]:
        values = data.values()
        networks = settings.webhook_networks

        def work() -> WebhookEndpoint | endpoints.EndpointError:
            try:
                draft = endpoints.validate(
                    values["url"], values["event_types"], values["description"], networks
                )
            except endpoints.EndpointError as problem:
                return problem
            with database.write() as session:
                return endpoints.create(session, draft)

        outcome = await to_thread.run_sync(work)
        if isinstance(outcome, endpoints.EndpointError):
            return self._invalid(request, None, values, outcome)
        return _show_secret_once(signer, settings, outcome, rotated=False)

    def _invalid(
        self,
        request: Request[StaffPrincipal, Any, Any],
        endpoint: WebhookEndpoint | None,
        values: dict[str, Any],
        problem: endpoints.EndpointError,
    ) -> Template:
        page = console_page(
            request,
            "console/webhook_form.html",
            endpoint=endpoint,
            values=values,
            errors={problem.field: i18n.say(problem.said)},
            event_types=EVENT_TYPES,
        )
        page.status_code = 400
        return page

    @get("/{endpoint_id:int}", sync_to_thread=True)
    def detail(
        self,
        request: Request[StaffPrincipal, Any, Any],
        database: NamedDependency[Database],
        endpoint_id: FromPath[int],
        status: FromQuery[str] = "",
        tested: FromQuery[int | None] = None,
    ) -> Template:
        status = status if status in {s.value for s in DeliveryStatus} else ""
        with database.read() as session:
            endpoint = _endpoint_or_404(session, endpoint_id)
            rows = endpoints.deliveries(session, endpoint_id, status)
            test = session.get(WebhookDelivery, tested) if tested is not None else None
            if test is not None and test.endpoint_id != endpoint_id:
                test = None
        return console_page(
            request,
            "console/webhook.html",
            endpoint=endpoint,
            values=_values(endpoint),
            errors={},
            event_types=EVENT_TYPES,
            deliveries=rows,
            status=status,
            statuses=[s.value for s in DeliveryStatus],
            test=test,
            notice=_notice(request.query_params.get("done", "")),
            problem=request.query_params.get("problem"),
        )

    @post("/{endpoint_id:int}")
    async def update(
        self,
        request: Request[StaffPrincipal, Any, Any],
        database: NamedDependency[Database],
        settings: NamedDependency[Settings],
        endpoint_id: FromPath[int],
        data: Annotated[EndpointForm, FormBody],
    ) -> Response[Any]:
        values = data.values()
        networks = settings.webhook_networks

        def work() -> WebhookEndpoint | endpoints.EndpointError:
            with database.write() as session:
                endpoint = _endpoint_or_404(session, endpoint_id)
                try:
                    draft = endpoints.validate(
                        values["url"], values["event_types"], values["description"], networks
                    )
                except endpoints.EndpointError as problem:
                    return problem
                return endpoints.update(session, endpoint.id, draft)

        outcome = await to_thread.run_sync(work)
        if isinstance(outcome, endpoints.EndpointError):
            with database.read() as session:
                endpoint = _endpoint_or_404(session, endpoint_id)
            return self._invalid(request, endpoint, values, outcome)
        return Redirect(f"{BASE}/{endpoint_id}?done=saved", status_code=303)

    @post("/{endpoint_id:int}/enabled")
    async def enable(
        self,
        database: NamedDependency[Database],
        endpoint_id: FromPath[int],
        data: Annotated[EnabledForm, FormBody],
    ) -> Response[Any]:
        enabled = data.enabled == "1"

        def work() -> None:
            with database.write() as session:
                _endpoint_or_404(session, endpoint_id)
                endpoints.set_enabled(session, endpoint_id, enabled)

        await to_thread.run_sync(work)
        done = "enabled" if enabled else "disabled"
        return Redirect(f"{BASE}/{endpoint_id}?done={done}", status_code=303)

    @post("/{endpoint_id:int}/rotate", sync_to_thread=True)
    def rotate(
        self,
        database: NamedDependency[Database],
        settings: NamedDependency[Settings],
        signer: NamedDependency[Signer],
        endpoint_id: FromPath[int],
    ) -> Response[Any]:
        with database.write() as session:
            _endpoint_or_404(session, endpoint_id)
            endpoint = endpoints.rotate_secret(session, endpoint_id)
        return _show_secret_once(signer, settings, endpoint, rotated=True)

    @get("/{endpoint_id:int}/secret", sync_to_thread=True)
    def secret(
        self,
        request: Request[StaffPrincipal, Any, Any],
        database: NamedDependency[Database],
        signer: NamedDependency[Signer],
        endpoint_id: FromPath[int],
    ) -> Template:
        """The secret right after it is made, once; afterwards, how to get a new one."""
        with database.read() as session:
            endpoint = _endpoint_or_404(session, endpoint_id)
        shown = _revealed(request, signer, endpoint)
        page = console_page(
            request,
            "console/webhook_secret.html",
            endpoint=endpoint,
            secret=shown["secret"] if shown else None,
            rotated=bool(shown and shown["rotated"]),
        )
        page.headers["Cache-Control"] = "no-store"
        page.delete_cookie(REVEAL_COOKIE, path=f"{BASE}/{endpoint_id}/secret")
        return page

    @post("/{endpoint_id:int}/test", sync_to_thread=True)
    def send_test(
        self,
        database: NamedDependency[Database],
        settings: NamedDependency[Settings],
        endpoint_id: FromPath[int],
    ) -> Response[Any]:
        with database.read() as session:
            _endpoint_or_404(session, endpoint_id)
        sent = endpoints.send_test(database, endpoint_id, settings.webhook_networks)
        return Redirect(f"{BASE}/{endpoint_id}?tested={sent.id}#test-result", status_code=303)

    @post("/{endpoint_id:int}/deliveries/{delivery_id:int}/replay", sync_to_thread=True)
    def replay(
        self,
        database: NamedDependency[Database],
        endpoint_id: FromPath[int],
        delivery_id: FromPath[int],
    ) -> Response[Any]:
        try:
            with database.write() as session:
                endpoints.replay(session, endpoint_id, delivery_id)
        except LookupError:
            raise NotFoundException() from None
        except ValueError as refused:
            reason = i18n.say(refused.args[0]) if refused.args else str(refused)
            query = urlencode({"problem": reason})
            return Redirect(f"{BASE}/{endpoint_id}?{query}", status_code=303)
        return Redirect(f"{BASE}/{endpoint_id}?done=replayed", status_code=303)


def _endpoint_or_404(session: Any, endpoint_id: int) -> WebhookEndpoint:
    try:
        return endpoints.get(session, endpoint_id)
    except LookupError:
        raise NotFoundException() from None
