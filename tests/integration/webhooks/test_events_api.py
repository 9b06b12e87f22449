"""Events: publishing (internal, idempotent by id), subscription filters, listing and
fetching for reconciliation, redelivery, the test send, the delivery log, and tenant
isolation of all of them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import grpc
import pytest
from google.protobuf import json_format, timestamp_pb2
from payment_engine_protos.webhooks.v1 import webhooks_pb2 as pb
from sqlalchemy import text

from corelib.grpc_pipeline import error_from_rpc
from corelib.timestamps import to_timestamp, utc_now
from tests.integration.webhooks.receivers import Receiver, guide_python_verifier
from tests.integration.webhooks.stack import (
    WebhooksStack,
    event,
    eventually,
    reason_of,
    running_webhooks,
)


@pytest.fixture
async def stack(database_url: str) -> AsyncIterator[WebhooksStack]:
    async with running_webhooks(database_url) as running:
        yield running


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    started = await Receiver().start()
    yield started
    await started.stop()


async def test_publishing_is_idempotent_by_event_id(stack: WebhooksStack, receiver: Receiver) -> None:
    tenant = await stack.new_tenant("Idempotent")
    await stack.create_endpoint(tenant, receiver.url)
    sent = event(tenant.tenant_id)
    first = await stack.publish([sent])
    again = await stack.publish([sent, sent])
    assert (first.accepted_count, first.duplicate_count) == (1, 0)
    assert (again.accepted_count, again.duplicate_count) == (0, 2)
    await receiver.wait_count(1)
    await asyncio.sleep(0.5)
    assert receiver.event_ids() == [sent.event_id]


async def test_only_the_engines_services_may_publish(stack: WebhooksStack) -> None:
    tenant = await stack.new_tenant("Not a service")
    call = stack.stub().PublishEvents(
        pb.PublishEventsRequest(events=[event(tenant.tenant_id)]), metadata=tenant.metadata
    )
    assert await reason_of(call) == "FORBIDDEN"


async def test_malformed_events_are_refused(stack: WebhooksStack) -> None:
    tenant = await stack.new_tenant("Malformed")
    for bad in (
        event(tenant.tenant_id, event_id="not-an-evt-id"),
        event(tenant.tenant_id, "Transaction Completed"),
        event("", "transaction.completed"),
        event(tenant.tenant_id, data={"blob": "x" * 70_000}),
        # 36 kB as UTF-8, but 72 kB as the escaped JSON the limit is measured on.
        event(tenant.tenant_id, data={"blob": "€" * 12_000}),
    ):
        assert await reason_of(stack.publish([bad])) == "INVALID_REQUEST"
    accepted = await stack.publish([event(tenant.tenant_id, data={"blob": "€" * 10_000})])
    assert accepted.accepted_count == 1


VARIED_DATA: list[dict[str, Any]] = [
    {
        "amount": 100.25,
        "whole": 100.0,
        "integer": 7,
        "large": 1e16,
        "huge": 1.7976931348623157e308,
        "small": 1e-7,
        "negativeZero": -0.0,
        "settled": True,
        "reversed": False,
        "note": None,
        "empty": "",
    },
    {"unicode": "Zahlung für Ökostrom — ✓ 支付 🙂", "Schlüssel": r"\u0000 is text here", "": "empty key"},
    {"nested": {"deeper": {"list": [1.5, "two", None, True, {"k": []}]}}, "lists": [[], [[]]], "obj": {}},
    {},
]


async def test_event_data_is_stored_exactly_as_published(stack: WebhooksStack) -> None:
    """As the JSON MessageToDict made of the data was stored before: value, type and
    scale of every number included."""
    tenant = await stack.new_tenant("Exact data")
    sent = [event(tenant.tenant_id, data=data) for data in VARIED_DATA]
    answer = await stack.publish([*sent, sent[0]])
    assert (answer.accepted_count, answer.duplicate_count) == (len(sent), 1)
    async with stack.engine.connect() as conn:
        for message in sent:
            stored, expected, created_at = (
                await conn.execute(
                    text(
                        "SELECT data::text, CAST(:expected AS jsonb)::text, created_at"
                        " FROM webhooks.events WHERE id = :id"
                    ),
                    {"id": message.event_id, "expected": json.dumps(json_format.MessageToDict(message.data))},
                )
            ).one()
            assert stored == expected
            assert to_timestamp(created_at) == message.created_at
    stub = stack.stub()
    for message in sent:
        got = await stub.GetEvent(pb.GetEventRequest(id=message.event_id), metadata=tenant.metadata)
        fetched = got.event
        # By value: PostgreSQL's numeric keeps no negative zero, so -0.0 comes back 0.0.
        assert json_format.MessageToDict(fetched.data) == json_format.MessageToDict(message.data)
        assert fetched.created_at == message.created_at


async def test_a_nul_in_event_data_is_refused_by_field_and_nothing_is_stored(stack: WebhooksStack) -> None:
    tenant = await stack.new_tenant("NUL data")
    fine = event(tenant.tenant_id)
    bad = event(tenant.tenant_id, data={"nested": {"note": "in\x00voice"}})
    try:
        await stack.publish([fine, bad])
    except grpc.aio.AioRpcError as exc:
        refused = error_from_rpc(exc)
    else:
        raise AssertionError("the call succeeded")
    assert refused.reason == "INVALID_REQUEST"
    assert refused.details == {"field": "events[1].data.nested.note"}
    assert "U+0000" in refused.message
    async with stack.engine.connect() as conn:
        stored = (
            await conn.execute(
                text("SELECT count(*) FROM webhooks.events WHERE id IN (:fine, :bad)"),
                {"fine": fine.event_id, "bad": bad.event_id},
            )
        ).scalar_one()
    assert stored == 0


async def test_endpoints_get_only_the_types_they_subscribe_to(stack: WebhooksStack) -> None:
    tenant = await stack.new_tenant("Filters")
    everything, transactions, completed = Receiver(), Receiver(), Receiver()
    for r in (everything, transactions, completed):
        await r.start()
    try:
        await stack.create_endpoint(tenant, everything.url)
        await stack.create_endpoint(tenant, transactions.url, ["transaction.*"])
        await stack.create_endpoint(tenant, completed.url, ["transaction.completed"])
        sent = [
            event(tenant.tenant_id, "transaction.created"),
            event(tenant.tenant_id, "transaction.completed"),
            event(tenant.tenant_id, "account.balance.updated", {"accountId": "acc_1"}),
        ]
        await stack.publish(sent)
        await everything.wait_count(3)
        await transactions.wait_count(2)
        await completed.wait_count(1)
        await asyncio.sleep(0.3)
    finally:
        for r in (everything, transactions, completed):
            await r.stop()
    assert sorted(everything.event_ids()) == sorted(e.event_id for e in sent)
    assert sorted(transactions.event_ids()) == sorted(e.event_id for e in sent[:2])
    assert completed.event_ids() == [sent[1].event_id]


async def test_events_list_filter_and_paginate(stack: WebhooksStack) -> None:
    tenant = await stack.new_tenant("Reconcile")
    base = utc_now() - timedelta(hours=1)
    sent = [
        event(tenant.tenant_id, "transaction.completed", created_at=base + timedelta(minutes=i))
        for i in range(5)
    ] + [
        event(
            tenant.tenant_id,
            "account.balance.updated",
            {"accountId": "a"},
            created_at=base + timedelta(minutes=9),
        )
    ]
    await stack.publish(sent)
    stub = stack.stub()
    seen: list[str] = []
    token = ""
    for _ in range(10):
        page = await stub.ListEvents(
            pb.ListEventsRequest(page_size=2, page_token=token), metadata=tenant.metadata
        )
        seen.extend(e.event_id for e in page.events)
        token = page.next_page_token
        if not token:
            break
    assert seen == [e.event_id for e in reversed(sent)]
    completed = await stub.ListEvents(
        pb.ListEventsRequest(event_type="transaction.completed"), metadata=tenant.metadata
    )
    assert len(completed.events) == 5
    family = await stub.ListEvents(pb.ListEventsRequest(event_type="account.*"), metadata=tenant.metadata)
    assert [e.event_id for e in family.events] == [sent[-1].event_id]
    window = await stub.ListEvents(
        pb.ListEventsRequest(
            created_after=to_timestamp(base + timedelta(minutes=1)),
            created_before=to_timestamp(base + timedelta(minutes=3)),
        ),
        metadata=tenant.metadata,
    )
    assert [e.event_id for e in window.events] == [sent[2].event_id, sent[1].event_id]
    fetched = (await stub.GetEvent(pb.GetEventRequest(id=sent[0].event_id), metadata=tenant.metadata)).event
    assert fetched.event_type == "transaction.completed" and fetched.data == sent[0].data
    assert fetched.created_at == sent[0].created_at
    inverted = stub.ListEvents(
        pb.ListEventsRequest(
            created_after=to_timestamp(base), created_before=timestamp_pb2.Timestamp(seconds=1)
        ),
        metadata=tenant.metadata,
    )
    assert await reason_of(inverted) == "INVALID_REQUEST"
    assert await reason_of(
        stub.ListEvents(pb.ListEventsRequest(page_token="garbage!"), metadata=tenant.metadata)
    ) == ("INVALID_REQUEST")


async def test_redeliver_to_one_or_all_endpoints(stack: WebhooksStack) -> None:
    tenant = await stack.new_tenant("Redeliver")
    one, two = await Receiver().start(), await Receiver().start()
    try:
        first = await stack.create_endpoint(tenant, one.url)
        await stack.create_endpoint(tenant, two.url)
        sent = event(tenant.tenant_id)
        await stack.publish([sent])
        await one.wait_count(1)
        await two.wait_count(1)
        only_one = await stack.stub().RedeliverEvent(
            pb.RedeliverEventRequest(id=sent.event_id, endpoint_id=first.id), metadata=tenant.metadata
        )
        assert [d.endpoint_id for d in only_one.deliveries] == [first.id]
        assert only_one.deliveries[0].trigger == pb.WEBHOOK_DELIVERY_TRIGGER_REDELIVERY
        await one.wait_count(2)
        everyone = await stack.stub().RedeliverEvent(
            pb.RedeliverEventRequest(id=sent.event_id), metadata=tenant.metadata
        )
        assert len(everyone.deliveries) == 2
        await one.wait_count(3)
        await two.wait_count(2)
    finally:
        await one.stop()
        await two.stop()
    assert set(one.event_ids()) == {sent.event_id} == set(two.event_ids())
    deliveries = await stack.deliveries(tenant, first.id)
    assert sorted(d.trigger for d in deliveries) == sorted(
        [pb.WEBHOOK_DELIVERY_TRIGGER_EVENT] + [pb.WEBHOOK_DELIVERY_TRIGGER_REDELIVERY] * 2
    )


async def test_the_test_send_answers_with_its_attempt(stack: WebhooksStack, receiver: Receiver) -> None:
    tenant = await stack.new_tenant("Test send")
    endpoint = await stack.create_endpoint(tenant, receiver.url)
    receiver.verifier = guide_python_verifier(endpoint.secret)
    receiver.reply_body = b"x" * 5000
    answer = await stack.stub().TestWebhookEndpoint(
        pb.TestWebhookEndpointRequest(id=endpoint.id), metadata=tenant.metadata
    )
    assert answer.event.event_type == "webhook.test"
    delivery = answer.delivery
    assert (
        delivery.status == pb.WEBHOOK_DELIVERY_STATUS_SUCCEEDED
        and delivery.trigger == pb.WEBHOOK_DELIVERY_TRIGGER_TEST
    )
    (only,) = delivery.attempts
    assert only.status_code == 200 and only.succeeded and only.latency_ms >= 0
    # Only the first bytes of an answer are kept.
    assert only.response_body == "x" * 1024
    assert receiver.received[0].verified is True
    assert receiver.received[0].event["eventId"] == answer.event.event_id
    receiver.default = 500
    failed = await stack.stub().TestWebhookEndpoint(
        pb.TestWebhookEndpointRequest(id=endpoint.id), metadata=tenant.metadata
    )
    assert failed.delivery.status == pb.WEBHOOK_DELIVERY_STATUS_FAILED
    assert failed.delivery.attempts[0].error == "HTTP 500"
    # A test neither retries nor counts towards disabling.
    await asyncio.sleep(0.5)
    assert len(receiver.received) == 2
    assert (await stack.endpoint(tenant, endpoint.id)).consecutive_failures == 0


async def test_events_and_deliveries_are_private_to_their_tenant(
    stack: WebhooksStack, receiver: Receiver
) -> None:
    owner = await stack.new_tenant("Owner")
    intruder = await stack.new_tenant("Intruder")
    endpoint = await stack.create_endpoint(owner, receiver.url)
    intruder_endpoint = await stack.create_endpoint(intruder, receiver.url)
    sent = event(owner.tenant_id)
    await stack.publish([sent])
    await receiver.wait_count(1)
    stub = stack.stub()
    meta = intruder.metadata
    assert await reason_of(stub.GetEvent(pb.GetEventRequest(id=sent.event_id), metadata=meta)) == "NOT_FOUND"
    assert await reason_of(
        stub.RedeliverEvent(pb.RedeliverEventRequest(id=sent.event_id), metadata=meta)
    ) == ("NOT_FOUND")
    cross = stub.RedeliverEvent(
        pb.RedeliverEventRequest(id=sent.event_id, endpoint_id=intruder_endpoint.id), metadata=owner.metadata
    )
    assert await reason_of(cross) == "NOT_FOUND"
    assert list((await stub.ListEvents(pb.ListEventsRequest(), metadata=meta)).events) == []
    assert await stack.deliveries(intruder, intruder_endpoint.id) == []
    assert len(await stack.deliveries(owner, endpoint.id)) == 1
    await asyncio.sleep(0.3)
    assert len(receiver.received) == 1


async def test_delivery_log_filters(stack: WebhooksStack, receiver: Receiver) -> None:
    tenant = await stack.new_tenant("Log")
    endpoint = await stack.create_endpoint(tenant, receiver.url)
    sent = [event(tenant.tenant_id) for _ in range(3)]
    await stack.publish(sent)
    await receiver.wait_count(3)

    async def all_succeeded() -> bool:
        return all(
            d.status == pb.WEBHOOK_DELIVERY_STATUS_SUCCEEDED
            for d in await stack.deliveries(tenant, endpoint.id)
        )

    await eventually(all_succeeded)
    stub = stack.stub()
    one = await stub.ListWebhookDeliveries(
        pb.ListWebhookDeliveriesRequest(endpoint_id=endpoint.id, event_id=sent[1].event_id),
        metadata=tenant.metadata,
    )
    assert [d.event_id for d in one.deliveries] == [sent[1].event_id]
    assert one.deliveries[0].event_type == "transaction.completed"
    pending = await stub.ListWebhookDeliveries(
        pb.ListWebhookDeliveriesRequest(endpoint_id=endpoint.id, status=pb.WEBHOOK_DELIVERY_STATUS_PENDING),
        metadata=tenant.metadata,
    )
    assert list(pending.deliveries) == []
    page = await stub.ListWebhookDeliveries(
        pb.ListWebhookDeliveriesRequest(endpoint_id=endpoint.id, page_size=2), metadata=tenant.metadata
    )
    assert len(page.deliveries) == 2 and page.next_page_token
