"""The webhook rules with plain values: events per change, ids, signatures, backoff, SSRF."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from nurture import targets
from nurture.delivery import Claimed, lanes
from nurture.webhooks import (
    EVENT_TYPES,
    RETRY_FOR,
    ChangeFacts,
    backoff,
    event_id,
    events_for,
    next_attempt,
    schedule,
    sign,
    verify,
)

AT = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
LOOPBACK = targets.parse_networks("127.0.0.0/8")


def change(
    kind: str, new: str, old: str | None = None, reason: str = "", seq: int = 7
) -> ChangeFacts:
    return ChangeFacts(seq=seq, lead_id=3, at=AT, kind=kind, old=old, new=new, reason=reason)


def claimed(delivery_id: int, lane: tuple[int, int] | None) -> Claimed:
    return Claimed(
        delivery_id, "claim", "https://crm.example/hook", "s", f"evt_{delivery_id}", "{}", lane
    )


def test_one_leads_events_to_one_endpoint_share_a_lane_in_queue_order() -> None:
    batch = [
        claimed(9, (1, 3)),  # claimed first (due first) but queued after 4
        claimed(4, (1, 3)),
        claimed(5, (2, 3)),  # same lead, other endpoint
        claimed(6, (1, 8)),  # other lead
        claimed(7, None),  # a test ping: alone
        claimed(8, None),
    ]
    assert [[item.id for item in lane] for lane in lanes(batch)] == [[4, 9], [5], [6], [7], [8]]


@pytest.mark.parametrize(
    ("facts", "types"),
    [
        (change("identified", "lead", reason="form on pricing"), ["lead.identified"]),
        (change("stage", "decision", "consideration"), ["lead.stage_changed"]),
        (change("lifecycle", "mql", "lead", "fit 70"), ["lead.lifecycle_changed", "lead.mql"]),
        (
            change("lifecycle", "sql", "lead", "sales fast lane: demo request"),
            ["lead.lifecycle_changed", "lead.sales_fast_lane"],
        ),
        (change("lifecycle", "recycled", "sql", "not yet"), ["lead.lifecycle_changed"]),
        (change("milestone", "webinar_attended", reason="Attended a webinar"), ["lead.milestone"]),
        (change("unlocked", "12", reason="pricing-guide"), ["asset.unlocked"]),
        (change("email_bounced", "hard_bounce", reason="550 5.1.1"), ["email.bounced"]),
        (change("email_bounced", "complaint", reason="abuse report"), ["email.bounced"]),
        (change("unsubscribed", "unsubscribed", reason="one-click"), ["lead.unsubscribed"]),
        (change("deal", "5", "open", "deal D-1 won: Renewal (EUR 9.00)"), ["deal.changed"]),
        (change("grade", "B", "C"), []),
        (change("category", "bant", "known"), []),
    ],
)
def test_each_change_makes_the_contract_event_types(facts: ChangeFacts, types: list[str]) -> None:
    assert [event.type for event in events_for(facts)] == types


def test_event_data_says_what_moved_and_why() -> None:
    (moved,) = events_for(change("stage", "decision", "consideration", "decision (0.8)"))
    assert moved.data == {"from": "consideration", "to": "decision", "reason": "decision (0.8)"}
    (milestone,) = events_for(change("milestone", "read_3", reason="Read 3 decision assets"))
    assert milestone.data == {"milestone": "read_3", "label": "Read 3 decision assets"}


def test_mail_events_say_why_the_address_stopped_receiving_mail() -> None:
    (bounced,) = events_for(change("email_bounced", "hard_bounce", reason="550 5.1.1 no user"))
    assert bounced.data == {"reason": "hard_bounce", "detail": "550 5.1.1 no user"}
    (complained,) = events_for(change("email_bounced", "complaint", reason="ARF abuse"))
    assert complained.data == {"reason": "complaint", "detail": "ARF abuse"}
    (left,) = events_for(change("unsubscribed", "unsubscribed", reason="List-Unsubscribe"))
    assert left.data == {"detail": "List-Unsubscribe"}


def test_every_event_type_a_change_makes_can_be_subscribed_to() -> None:
    kinds = ["identified", "stage", "milestone", "unlocked", "email_bounced", "unsubscribed"]
    kinds += ["sales_notified", "deal"]
    made = {event.type for kind in kinds for event in events_for(change(kind, "1"))}
    made |= {e.type for e in events_for(change("lifecycle", "mql", reason="sales fast lane"))}
    assert made == set(EVENT_TYPES)


def test_a_deal_change_names_the_deal_and_its_stage_before() -> None:
    (changed,) = events_for(change("deal", "5", "open", "deal D-1 won: Renewal (EUR 9.00)"))
    assert changed.data == {"deal_id": 5, "previous_stage": "open"}  # the relay adds the deal
    (new,) = events_for(change("deal", "6", None, "deal D-2 open: Pilot (EUR 1.00)"))
    assert new.data == {"deal_id": 6, "previous_stage": None}


def test_event_ids_are_stable_per_change_and_type_and_differ_otherwise() -> None:
    lifecycle = change("lifecycle", "mql", "lead", "fit")
    first, second = events_for(lifecycle)
    assert [e.id for e in events_for(lifecycle)] == [first.id, second.id]
    assert first.id != second.id
    assert event_id(change("lifecycle", "mql", seq=8), "lead.mql") != second.id
    later = ChangeFacts(7, 3, AT + timedelta(days=1), "lifecycle", "lead", "mql", "fit")
    assert event_id(later, "lead.mql") != second.id  # a rebuilt database reusing seq 7


def test_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    body = b'{"id":"x","type":"lead.mql"}'
    expected = hmac.new(b"whsec_k", b"1764000000." + body, hashlib.sha256).hexdigest()
    assert sign("whsec_k", 1764000000, body) == f"t=1764000000,v1={expected}"


def test_verify_accepts_the_signature_and_refuses_tampering_other_secrets_and_old_times() -> None:
    body = b'{"id":"x"}'
    header = sign("whsec_k", 1000, body)
    assert verify("whsec_k", header, body, now=1100)
    assert not verify("whsec_k", header, body + b" ", now=1100)
    assert not verify("whsec_other", header, body, now=1100)
    assert not verify("whsec_k", header, body, now=1000 + 301)
    assert not verify("whsec_k", "v1=deadbeef", body, now=1000)


def test_backoff_doubles_from_thirty_seconds_to_at_most_an_hour_with_jitter() -> None:
    top = lambda: 0.999999  # noqa: E731
    assert backoff(1, top) == pytest.approx(timedelta(seconds=30), abs=timedelta(seconds=0.01))
    assert backoff(2, top) == pytest.approx(timedelta(seconds=60), abs=timedelta(seconds=0.01))
    assert backoff(5, top) == pytest.approx(timedelta(minutes=8), abs=timedelta(seconds=0.01))
    assert backoff(30, top) <= timedelta(hours=1)
    for attempts in range(1, 12):
        low, high = backoff(attempts, lambda: 0.0), backoff(attempts, top)
        assert low == high / 2 or abs(low - high / 2) < timedelta(seconds=0.01)


def test_retry_schedule_spans_24_hours_then_dead_letter() -> None:
    waits = schedule()
    assert sum(waits, timedelta()) == RETRY_FOR
    assert waits[0] == timedelta(seconds=30)
    assert max(waits) == timedelta(hours=1)
    assert 25 <= len(waits) <= 35  # about 30 attempts in a day


def test_the_last_try_is_at_the_deadline_and_after_it_the_delivery_is_dead() -> None:
    until = AT + RETRY_FOR
    assert next_attempt(1, until, AT, lambda: 1.0) == AT + timedelta(seconds=30)
    assert next_attempt(20, until, until - timedelta(minutes=5), lambda: 1.0) == until
    assert next_attempt(21, until, until, lambda: 1.0) is None


def resolver(mapping: dict[str, list[str]]) -> targets.Resolver:
    def resolve(host: str, port: int) -> list[str]:
        if host not in mapping:
            raise OSError("Name or service not known")
        return mapping[host]

    return resolve


PUBLIC = resolver({"crm.example.com": ["93.184.215.14"]})


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://10.1.2.3/hook", "10.1.2.3 is a private address"),
        ("http://127.0.0.1:8000/hook", "127.0.0.1 is a loopback address"),
        ("http://127.8.9.10/hook", "loopback"),
        ("http://169.254.169.254/latest/meta-data", "169.254.169.254 is a link-local address"),
        ("http://[::1]/hook", "::1 is a loopback address"),
        ("http://[::ffff:10.0.0.1]/hook", "embeds 10.0.0.1, a private address"),
        ("http://[fe80::1]/hook", "link-local"),
        ("http://224.0.0.1/hook", "multicast"),
        ("http://0.0.0.0/hook", "unspecified"),
        ("http://100.64.0.1/hook", "reserved"),
        ("http://192.168.1.20/hook", "private"),
        ("ftp://crm.example.com/hook", "only http:// and https://"),
        ("file:///etc/passwd", "only http:// and https://"),
        ("http://user:pw@crm.example.com/hook", "credentials"),
        ("https:///hook", "no host"),
        ("http://unknown.example/hook", "does not resolve"),
    ],
)
def test_targets_that_could_reach_inside_are_refused(url: str, reason: str) -> None:
    with pytest.raises(targets.TargetRefused, match=reason.replace(".", r"\.")):
        targets.check(url, (), PUBLIC)


def test_a_name_resolving_to_a_private_address_is_refused_with_the_name() -> None:
    rebinding = resolver({"crm.internal.example": ["93.184.215.14", "10.9.8.7"]})
    with pytest.raises(targets.TargetRefused, match=r"crm\.internal\.example: 10\.9\.8\.7"):
        targets.check("https://crm.internal.example/hook", (), rebinding)


def test_localhost_is_refused_by_default_and_allowed_through_the_setting() -> None:
    local = resolver({"localhost": ["127.0.0.1"]})
    with pytest.raises(targets.TargetRefused, match="loopback"):
        targets.check("http://localhost:9000/hook", (), local)
    target = targets.check("http://localhost:9000/hook", LOOPBACK, local)
    assert (target.host, target.port, target.address) == ("localhost", 9000, "127.0.0.1")


def test_a_public_url_passes_with_the_address_to_connect_to() -> None:
    target = targets.check("https://crm.example.com/hook?x=1", (), PUBLIC)
    assert (target.address, target.port, target.url) == (
        "93.184.215.14",
        443,
        "https://crm.example.com/hook?x=1",
    )


def test_allowed_networks_are_exact() -> None:
    allowed = targets.parse_networks("10.20.0.0/16")
    assert targets.address_refusal(ipaddress.ip_address("10.20.5.5"), allowed) is None
    assert targets.address_refusal(ipaddress.ip_address("10.21.5.5"), allowed) is not None
    with pytest.raises(ValueError, match="not a network"):
        targets.parse_networks("10.0.0.0/8, intranet")


# IPv6 addresses that carry an IPv4 address are judged by it: private inside, refused.
EMBEDDED_PRIVATE = [
    ("::ffff:127.0.0.1", "127.0.0.1", "a loopback address"),  # IPv4-mapped
    ("::ffff:0:10.0.0.1", "10.0.0.1", "a private address"),  # IPv4-translated (SIIT)
    ("::127.0.0.1", "127.0.0.1", "a loopback address"),  # IPv4-compatible (deprecated)
    ("::10.1.2.3", "10.1.2.3", "a private address"),
    ("::169.254.169.254", "169.254.169.254", "a link-local address"),
    ("64:ff9b::127.0.0.1", "127.0.0.1", "a loopback address"),  # NAT64 well-known prefix
    ("64:ff9b::10.0.0.1", "10.0.0.1", "a private address"),
    ("64:ff9b::169.254.169.254", "169.254.169.254", "a link-local address"),
    ("64:ff9b::192.168.1.20", "192.168.1.20", "a private address"),
    ("64:ff9b::100.64.0.1", "100.64.0.1", "a reserved address"),
    ("64:ff9b::0.0.0.0", "0.0.0.0", "the unspecified address"),  # noqa: S104
    ("2002:7f00:1::1", "127.0.0.1", "a loopback address"),  # 6to4
    ("2002:a9fe:a9fe::", "169.254.169.254", "a link-local address"),
    ("2002:c0a8:114:1::5", "192.168.1.20", "a private address"),
    ("2002:a01:203:ffff:ffff:ffff:ffff:ffff", "10.1.2.3", "a private address"),
    ("2002:e000:1::", "224.0.0.1", "a multicast address"),
]


@pytest.mark.parametrize(("address", "inner", "kind"), EMBEDDED_PRIVATE)
def test_ipv6_carrying_a_private_ipv4_is_refused_and_names_it(
    address: str, inner: str, kind: str
) -> None:
    refusal = targets.address_refusal(ipaddress.ip_address(address), ())
    assert refusal == f"{ipaddress.ip_address(address)} embeds {inner}, {kind}"
    with pytest.raises(targets.TargetRefused, match=f"embeds {re.escape(inner)}, {kind}"):
        targets.check(f"http://[{address}]/hook", (), PUBLIC)


@pytest.mark.parametrize(
    "address",
    [
        "::ffff:93.184.215.14",
        "::ffff:0:93.184.215.14",
        "::93.184.215.14",
        "64:ff9b::93.184.215.14",
        "2002:5db8:d70e::1",
    ],
)
def test_ipv6_carrying_a_public_ipv4_passes_as_that_ipv4_would(address: str) -> None:
    assert targets.address_refusal(ipaddress.ip_address(address), ()) is None
    target = targets.check(f"https://[{address}]/hook", (), PUBLIC)
    assert target.address == str(ipaddress.ip_address(address))


def test_a_name_resolving_to_nat64_of_a_private_address_is_refused() -> None:
    dns64 = resolver({"crm.example.com": ["64:ff9b::93.184.215.14", "64:ff9b::10.9.8.7"]})
    with pytest.raises(targets.TargetRefused, match=r"crm\.example\.com: .* embeds 10\.9\.8\.7"):
        targets.check("https://crm.example.com/hook", (), dns64)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        # Local-use NAT64: the operator picks where the IPv4 sits, so it cannot be read back.
        ("64:ff9b:1::a00:1", "local-use IPv4/IPv6 translation address"),
        ("64:ff9b:1:ffff::5db8:d70e", "local-use IPv4/IPv6 translation address"),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "private address"),  # Teredo
        ("::1", "::1 is a loopback address"),
        ("::", ":: is the unspecified address"),
    ],
)
def test_ipv6_whose_ipv4_cannot_be_judged_is_refused(address: str, reason: str) -> None:
    refusal = targets.address_refusal(ipaddress.ip_address(address), ())
    assert refusal is not None
    assert reason in refusal


def test_allowed_ipv4_networks_let_their_embedded_forms_through_too() -> None:
    allowed = targets.parse_networks("10.20.0.0/16")
    for address in (
        "10.20.5.5",
        "::ffff:10.20.5.5",
        "::ffff:0:10.20.5.5",
        "::10.20.5.5",
        "64:ff9b::10.20.5.5",
        "2002:a14:505::1",
    ):
        assert targets.address_refusal(ipaddress.ip_address(address), allowed) is None, address
    for address in (
        "10.21.5.5",
        "::ffff:10.21.5.5",
        "64:ff9b::10.21.5.5",
        "2002:a15:505::1",
        "64:ff9b:1::a14:505",
    ):
        assert targets.address_refusal(ipaddress.ip_address(address), allowed), address


def test_allowed_ipv6_networks_are_taken_as_given() -> None:
    allowed = targets.parse_networks("64:ff9b:1::/48, 64:ff9b::a00:0/120")
    for address in ("64:ff9b:1::a00:1", "64:ff9b::10.0.0.7"):
        assert targets.address_refusal(ipaddress.ip_address(address), allowed) is None, address
    assert targets.address_refusal(ipaddress.ip_address("64:ff9b::10.0.1.7"), allowed)
    assert targets.address_refusal(ipaddress.ip_address("10.0.0.7"), allowed)


def test_the_readme_verification_snippet_accepts_our_signatures() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    snippet = re.search(r"```python\n(import hashlib, hmac, time\n.*?)```", readme, re.S)
    assert snippet is not None
    namespace: dict[str, Any] = {}
    exec(snippet.group(1), namespace)  # noqa: S102 (our own README)
    body = b'{"id":"x","type":"ping"}'
    header = sign("whsec_k", int(time.time()), body)
    assert namespace["verify"]("whsec_k", header, body)
    assert not namespace["verify"]("whsec_k", header, body + b"!")
    assert not namespace["verify"]("whsec_k", sign("whsec_k", 1000, body), body)
