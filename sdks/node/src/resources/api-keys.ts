/**
 * `client.apiKeys`: server-to-server credentials (`X-API-Key`). A key's secret is shown
 * only in the answers of `create` and `rotate`.
 */

import { PageIterator, parsePage, type ListOptions } from "../pagination";
import type { RequestOptions } from "../transport";
import type { ApiKey, CreateApiKeyParams, CreatedApiKey, RotatedApiKey } from "../types";
import { compact, pathSegment, timestampParam } from "../wire";
import { Resource, fieldOf, objectOf } from "./resource";

const PATH = "/api/v1/api-keys";

export interface RotateApiKeyOptions extends RequestOptions {
  /** How long the old key keeps working beside the new one. */
  overlapSeconds?: number;
}

export class ApiKeys extends Resource {
  async create(params: CreateApiKeyParams, options: RequestOptions = {}): Promise<CreatedApiKey> {
    return this.transport.request(
      {
        method: "POST",
        route: PATH,
        path: PATH,
        body: compact({ name: params.name, scopes: params.scopes, expireTime: timestampParam(params.expireTime) }),
        parse: objectOf<CreatedApiKey>("a new API key"),
        retrySafe: false,
      },
      options,
    );
  }

  async get(apiKeyId: string, options: RequestOptions = {}): Promise<ApiKey> {
    return this.transport.request(
      { method: "GET", route: `${PATH}/{id}`, path: `${PATH}/${pathSegment(apiKeyId, "apiKeyId")}`, parse: fieldOf<ApiKey>("apiKey", "an API key") },
      options,
    );
  }

  list(options: ListOptions = {}): PageIterator<ApiKey> {
    return new PageIterator(
      (pageToken, pageSize) =>
        this.transport.request({
          method: "GET",
          route: PATH,
          path: PATH,
          query: { pageSize, pageToken },
          parse: (document) => parsePage<ApiKey>(document, "apiKeys"),
        }),
      options,
    );
  }

  /** Revoking twice answers the revoked key again: safe to retry. */
  async revoke(apiKeyId: string, options: RequestOptions = {}): Promise<ApiKey> {
    return this.transport.request(
      {
        method: "POST",
        route: `${PATH}/{id}:revoke`,
        path: `${PATH}/${pathSegment(apiKeyId, "apiKeyId")}:revoke`,
        body: {},
        parse: fieldOf<ApiKey>("apiKey", "an API key"),
      },
      options,
    );
  }

  /** A new secret for the key; the old one keeps working for `overlapSeconds`. */
  async rotate(apiKeyId: string, options: RotateApiKeyOptions = {}): Promise<RotatedApiKey> {
    return this.transport.request(
      {
        method: "POST",
        route: `${PATH}/{id}:rotate`,
        path: `${PATH}/${pathSegment(apiKeyId, "apiKeyId")}:rotate`,
        body: compact({ overlapSeconds: options.overlapSeconds }),
        parse: objectOf<RotatedApiKey>("a rotated API key"),
        retrySafe: false,
      },
      options,
    );
  }
}
