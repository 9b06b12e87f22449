/**
 * `client.webhookEndpoints`: where the engine sends events, and how delivery went.
 *
 *     const endpoint = await client.webhookEndpoints.create({ url: "https://example.com/webhooks/payment-engine" });
 *     storeSecret(endpoint.secret); // whsec_…: shown only now (and by rotateSecret)
 */

import { PageIterator, parsePage, type ListOptions } from "../pagination";
import type { RequestOptions } from "../transport";
import type {
  CreateWebhookEndpointParams,
  DeletedWebhookEndpoint,
  DisableWebhookEndpointOptions,
  UpdateWebhookEndpointParams,
  WebhookDelivery,
  WebhookEndpoint,
  WebhookTestResult,
} from "../types";
import { compact, pathSegment } from "../wire";
import { Resource, objectOf } from "./resource";

const PATH = "/api/v1/webhook-endpoints";
const DELIVERY_STATUS_PREFIX = "WEBHOOK_DELIVERY_STATUS_";

export interface ListDeliveriesOptions extends ListOptions {
  eventId?: string;
  /** PENDING, SUCCEEDED or FAILED (or the full WEBHOOK_DELIVERY_STATUS_… name). */
  status?: string;
}

export interface RotateSecretOptions extends RequestOptions {
  /** How long the previous secret keeps signing beside the new one (default 24 h, at most 7 days). */
  overlapSeconds?: number;
}

const parseEndpoint = objectOf<WebhookEndpoint>("a webhook endpoint");

function deliveryStatusName(status: string | undefined): string | undefined {
  if (!status) return undefined;
  const upper = status.toUpperCase();
  return upper.startsWith(DELIVERY_STATUS_PREFIX) ? upper : DELIVERY_STATUS_PREFIX + upper;
}

export class WebhookEndpoints extends Resource {
  /** Registers an endpoint; `eventTypes` empty or omitted means every type. */
  async create(params: CreateWebhookEndpointParams, options: RequestOptions = {}): Promise<WebhookEndpoint> {
    return this.transport.request(
      {
        method: "POST",
        route: PATH,
        path: PATH,
        body: compact({ url: params.url, eventTypes: params.eventTypes, description: params.description }),
        parse: parseEndpoint,
        retrySafe: false,
      },
      options,
    );
  }

  async get(endpointId: string, options: RequestOptions = {}): Promise<WebhookEndpoint> {
    return this.transport.request(
      { method: "GET", route: `${PATH}/{id}`, path: `${PATH}/${pathSegment(endpointId, "endpointId")}`, parse: parseEndpoint },
      options,
    );
  }

  list(options: ListOptions = {}): PageIterator<WebhookEndpoint> {
    return new PageIterator(
      (pageToken, pageSize) =>
        this.transport.request({
          method: "GET",
          route: PATH,
          path: PATH,
          query: { pageSize, pageToken },
          parse: (document) => parsePage<WebhookEndpoint>(document, "endpoints"),
        }),
      options,
    );
  }

  /** Changes only the fields given (named in the update mask); `eventTypes: []` means every type. */
  async update(endpointId: string, changes: UpdateWebhookEndpointParams, options: RequestOptions = {}): Promise<WebhookEndpoint> {
    const body = compact({ url: changes.url, description: changes.description, eventTypes: changes.eventTypes });
    const names = Object.keys(body);
    if (names.length === 0) throw new TypeError("give at least one of url, description, eventTypes");
    return this.transport.request(
      {
        method: "PATCH",
        route: `${PATH}/{endpoint_id}`,
        path: `${PATH}/${pathSegment(endpointId, "endpointId")}`,
        query: { updateMask: names.join(",") },
        body,
        parse: parseEndpoint,
      },
      options,
    );
  }

  async delete(endpointId: string, options: RequestOptions = {}): Promise<DeletedWebhookEndpoint> {
    // A repeat answers NOT_FOUND: not retried after an ambiguous failure.
    return this.transport.request(
      {
        method: "DELETE",
        route: `${PATH}/{id}`,
        path: `${PATH}/${pathSegment(endpointId, "endpointId")}`,
        parse: objectOf<DeletedWebhookEndpoint>("a deletion"),
        retrySafe: false,
      },
      options,
    );
  }

  /** A new signing secret (in the answer's `secret`); the previous one keeps signing beside it. */
  async rotateSecret(endpointId: string, options: RotateSecretOptions = {}): Promise<WebhookEndpoint> {
    return this.transport.request(
      {
        method: "POST",
        route: `${PATH}/{id}:rotateSecret`,
        path: `${PATH}/${pathSegment(endpointId, "endpointId")}:rotateSecret`,
        body: compact({ overlapSeconds: options.overlapSeconds }),
        parse: parseEndpoint,
        retrySafe: false,
      },
      options,
    );
  }

  /** Stops deliveries to an endpoint until it is enabled again; they wait meanwhile. */
  async disable(
    endpointId: string,
    options: DisableWebhookEndpointOptions & RequestOptions = {},
  ): Promise<WebhookEndpoint> {
    return this.transport.request(
      {
        method: "POST",
        route: `${PATH}/{id}:disable`,
        path: `${PATH}/${pathSegment(endpointId, "endpointId")}:disable`,
        body: compact({ reason: options.reason }),
        parse: parseEndpoint,
      },
      options,
    );
  }

  /** Re-enables a disabled endpoint; its paused deliveries are sent again at once. */
  async enable(endpointId: string, options: RequestOptions = {}): Promise<WebhookEndpoint> {
    return this.transport.request(
      {
        method: "POST",
        route: `${PATH}/{id}:enable`,
        path: `${PATH}/${pathSegment(endpointId, "endpointId")}:enable`,
        body: {},
        parse: parseEndpoint,
      },
      options,
    );
  }

  /** Sends a `webhook.test` event now, once, and answers with the attempt's outcome. */
  async test(endpointId: string, options: RequestOptions = {}): Promise<WebhookTestResult> {
    return this.transport.request(
      {
        method: "POST",
        route: `${PATH}/{id}:test`,
        path: `${PATH}/${pathSegment(endpointId, "endpointId")}:test`,
        body: {},
        parse: objectOf<WebhookTestResult>("a webhook test"),
        retrySafe: false,
      },
      options,
    );
  }

  /** The endpoint's deliveries, newest first. */
  listDeliveries(endpointId: string, options: ListDeliveriesOptions = {}): PageIterator<WebhookDelivery> {
    const path = `${PATH}/${pathSegment(endpointId, "endpointId")}/deliveries`;
    const filters = { eventId: options.eventId, status: deliveryStatusName(options.status) };
    return new PageIterator(
      (pageToken, pageSize) =>
        this.transport.request({
          method: "GET",
          route: `${PATH}/{endpoint_id}/deliveries`,
          path,
          query: { ...filters, pageSize, pageToken },
          parse: (document) => parsePage<WebhookDelivery>(document, "deliveries"),
        }),
      options,
    );
  }
}
