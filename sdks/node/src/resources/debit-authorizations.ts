/**
 * `client.debitAuthorizations`: let another tenant pull money from one of your accounts by
 * ACH debit (up to `maxAmount` per debit).
 */

import { amountToJson } from "../money";
import { PageIterator, parsePage, type ListOptions } from "../pagination";
import type { RequestOptions } from "../transport";
import type { CreateDebitAuthorizationParams, DebitAuthorization } from "../types";
import { compact, pathSegment } from "../wire";
import { Resource, objectOf } from "./resource";

const PATH = "/api/v1/debit-authorizations";
const parseAuthorization = objectOf<DebitAuthorization>("a debit authorization");

export class DebitAuthorizations extends Resource {
  async create(params: CreateDebitAuthorizationParams, options: RequestOptions = {}): Promise<DebitAuthorization> {
    return this.transport.request(
      {
        method: "POST",
        route: PATH,
        path: PATH,
        body: compact({
          payerAccountId: params.payerAccountId,
          granteeTenantId: params.granteeTenantId,
          maxAmount: params.maxAmount === undefined ? undefined : amountToJson(params.maxAmount, "maxAmount"),
        }),
        parse: parseAuthorization,
        retrySafe: false,
      },
      options,
    );
  }

  /** Authorizations you granted or received. */
  list(options: ListOptions = {}): PageIterator<DebitAuthorization> {
    return new PageIterator(
      (pageToken, pageSize) =>
        this.transport.request({
          method: "GET",
          route: PATH,
          path: PATH,
          query: { pageSize, pageToken },
          parse: (document) => parsePage<DebitAuthorization>(document, "debitAuthorizations"),
        }),
      options,
    );
  }

  /** Revoking twice answers the revoked authorization again: safe to retry. */
  async revoke(authorizationId: string, options: RequestOptions = {}): Promise<DebitAuthorization> {
    return this.transport.request(
      {
        method: "POST",
        route: `${PATH}/{id}:revoke`,
        path: `${PATH}/${pathSegment(authorizationId, "authorizationId")}:revoke`,
        body: {},
        parse: parseAuthorization,
      },
      options,
    );
  }
}
