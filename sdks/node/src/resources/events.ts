/**
 * `client.events`: the events the engine emitted, to reconcile what an endpoint missed.
 *
 *     for await (const event of client.events.list({ eventType: "transaction.*", createdAfter: since })) handle(event);
 */

import { InvalidResponseError } from "../errors";
import { PageIterator, parsePage, type ListOptions } from "../pagination";
import type { RequestOptions } from "../transport";
import type { Event, WebhookDelivery } from "../types";
import { compact, pathSegment, timestampParam } from "../wire";
import { Resource, objectOf } from "./resource";

const PATH = "/api/v1/events";

export interface ListEventsOptions extends ListOptions {
  /** One type or a family (`transaction.*`). */
  eventType?: string;
  createdAfter?: Date | string;
  createdBefore?: Date | string;
}

export interface RedeliverOptions extends RequestOptions {
  /** One endpoint; every endpoint subscribed to the event's type otherwise. */
  endpointId?: string;
}

function parseDeliveries(document: unknown): WebhookDelivery[] {
  const deliveries = (document as { deliveries?: unknown } | null)?.deliveries ?? [];
  if (!Array.isArray(deliveries)) throw new InvalidResponseError("Expected deliveries to be a list");
  return deliveries as WebhookDelivery[];
}

export class Events extends Resource {
  async get(eventId: string, options: RequestOptions = {}): Promise<Event> {
    return this.transport.request(
      { method: "GET", route: `${PATH}/{id}`, path: `${PATH}/${pathSegment(eventId, "eventId")}`, parse: objectOf<Event>("an event") },
      options,
    );
  }

  list(options: ListEventsOptions = {}): PageIterator<Event> {
    const filters = {
      eventType: options.eventType,
      createdAfter: timestampParam(options.createdAfter),
      createdBefore: timestampParam(options.createdBefore),
    };
    return new PageIterator(
      (pageToken, pageSize) =>
        this.transport.request({
          method: "GET",
          route: PATH,
          path: PATH,
          query: { ...filters, pageSize, pageToken },
          parse: (document) => parsePage<Event>(document, "events"),
        }),
      options,
    );
  }

  /** Queues the event again for one endpoint, or for every endpoint subscribed to its type. */
  async redeliver(eventId: string, options: RedeliverOptions = {}): Promise<WebhookDelivery[]> {
    // Each call queues one more delivery: not repeated after an ambiguous failure.
    return this.transport.request(
      {
        method: "POST",
        route: `${PATH}/{id}:redeliver`,
        path: `${PATH}/${pathSegment(eventId, "eventId")}:redeliver`,
        body: compact({ endpointId: options.endpointId }),
        parse: parseDeliveries,
        retrySafe: false,
      },
      options,
    );
  }
}
