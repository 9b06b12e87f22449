/**
 * `client.accounts`: accounts, balances and statements.
 *
 *     const balance = await client.accounts.getBalance("acc_123");
 *     if (balance.availableBalance >= 250) { … }
 */

import { amountToJson, type AmountInput } from "../money";
import { PageIterator, parsePage, type ListOptions } from "../pagination";
import type { RequestOptions } from "../transport";
import type { Account, Balance, CreateAccountParams, Funding, LedgerEntry } from "../types";
import { compact, pathSegment } from "../wire";
import { Resource, objectOf } from "./resource";

const PATH = "/api/v1/accounts";
const SANDBOX_PATH = "/api/v1/sandbox/accounts";

export interface ListAccountsOptions extends ListOptions {
  status?: string;
  currencyCode?: string;
}

export interface FundOptions extends RequestOptions {
  description?: string;
}

const parseAccount = objectOf<Account>("an account");

export class Accounts extends Resource {
  async create(params: CreateAccountParams, options: RequestOptions = {}): Promise<Account> {
    // The engine does not deduplicate account creation: not repeated after an ambiguous failure.
    return this.transport.request(
      {
        method: "POST",
        route: PATH,
        path: PATH,
        body: compact({ name: params.name, currencyCode: params.currencyCode, metadata: params.metadata }),
        parse: parseAccount,
        retrySafe: false,
      },
      options,
    );
  }

  async get(accountId: string, options: RequestOptions = {}): Promise<Account> {
    return this.transport.request(
      { method: "GET", route: `${PATH}/{id}`, path: `${PATH}/${pathSegment(accountId, "accountId")}`, parse: parseAccount },
      options,
    );
  }

  /** `availableBalance` (current minus held) and `currencyCode`, as the guide compares them. */
  async getBalance(accountId: string, options: RequestOptions = {}): Promise<Balance> {
    return this.transport.request(
      {
        method: "GET",
        route: `${PATH}/{account_id}/balance`,
        path: `${PATH}/${pathSegment(accountId, "accountId")}/balance`,
        parse: objectOf<Balance>("a balance"),
      },
      options,
    );
  }

  list(options: ListAccountsOptions = {}): PageIterator<Account> {
    return new PageIterator(
      (pageToken, pageSize) =>
        this.transport.request({
          method: "GET",
          route: PATH,
          path: PATH,
          query: { status: options.status, currencyCode: options.currencyCode, pageSize, pageToken },
          parse: (document) => parsePage<Account>(document, "accounts"),
        }),
      options,
    );
  }

  /** The account's statement: its postings, newest first, each with the running balance. */
  listEntries(accountId: string, options: ListOptions = {}): PageIterator<LedgerEntry> {
    const path = `${PATH}/${pathSegment(accountId, "accountId")}/entries`;
    return new PageIterator(
      (pageToken, pageSize) =>
        this.transport.request({
          method: "GET",
          route: `${PATH}/{account_id}/entries`,
          path,
          query: { pageSize, pageToken },
          parse: (document) => parsePage<LedgerEntry>(document, "entries"),
        }),
      options,
    );
  }

  async freeze(accountId: string, options: RequestOptions = {}): Promise<Account> {
    return this.statusChange(accountId, "freeze", options);
  }

  async unfreeze(accountId: string, options: RequestOptions = {}): Promise<Account> {
    return this.statusChange(accountId, "unfreeze", options);
  }

  async close(accountId: string, options: RequestOptions = {}): Promise<Account> {
    return this.statusChange(accountId, "close", options);
  }

  /** Sandbox only: adds money to one of your accounts. */
  async fund(accountId: string, amount: AmountInput, options: FundOptions = {}): Promise<Funding> {
    return this.transport.request(
      {
        method: "POST",
        route: `${SANDBOX_PATH}/{account_id}:fund`,
        path: `${SANDBOX_PATH}/${pathSegment(accountId, "accountId")}:fund`,
        body: compact({ amount: amountToJson(amount, "amount"), description: options.description }),
        parse: objectOf<Funding>("a funding"),
        retrySafe: false,
      },
      options,
    );
  }

  private statusChange(accountId: string, verb: "freeze" | "unfreeze" | "close", options: RequestOptions): Promise<Account> {
    // A repeat is refused (the account already has the new status): an ambiguous failure
    // is raised rather than retried into a misleading INVALID_ACCOUNT_STATUS.
    return this.transport.request(
      {
        method: "POST",
        route: `${PATH}/{id}:${verb}`,
        path: `${PATH}/${pathSegment(accountId, "accountId")}:${verb}`,
        body: {},
        parse: parseAccount,
        retrySafe: false,
      },
      options,
    );
  }
}
