/**
 * `client.auth`: who the credentials are, and ending a session. Logging in and renewing
 * tokens happens by itself when the client is given `username` and `password`.
 */

import type { RequestOptions } from "../transport";
import type { LogoutResult, Me } from "../types";
import { compact } from "../wire";
import { Resource, objectOf } from "./resource";

export interface LogoutOptions extends RequestOptions {
  /** Also revokes that token's session (for a caller using an API key or another session's token). */
  refreshToken?: string;
}

export class Auth extends Resource {
  /** The principal, tenant and scopes of the client's credentials: a cheap credentials check. */
  async me(options: RequestOptions = {}): Promise<Me> {
    return this.transport.request({ method: "GET", route: "/api/v1/auth/me", path: "/api/v1/auth/me", parse: objectOf<Me>("the caller") }, options);
  }

  /** Ends the session: its access and refresh tokens stop working. A username/password
   * client logs in again on its next call. */
  async logout(options: LogoutOptions = {}): Promise<LogoutResult> {
    try {
      return await this.transport.request(
        {
          method: "POST",
          route: "/api/v1/auth/logout",
          path: "/api/v1/auth/logout",
          body: compact({ refresh_token: options.refreshToken }),
          parse: objectOf<LogoutResult>("a logout"),
          retrySafe: false,
        },
        options,
      );
    } finally {
      this.transport.forgetSession();
    }
  }
}
