/**
 * The vocabulary of the web view: how `serve` is started and what it hands
 * back, and the preview of an output the evaluation page shows.
 */

/** Options of `serve`. */
export interface ServeOptions {
  /** Interface to listen on (default `127.0.0.1`). Anything but loopback requires the access token on every request. */
  host?: string
  /** Port (default 0: a free one). */
  port?: number
  /**
   * The access token requests must carry (`?token=` or `Authorization: Bearer`):
   * default a random one when `host` is not loopback, none on loopback.
   */
  token?: string
  /**
   * The project whose working tree the evaluation page reads the current
   * source of declarations from (read-only; nothing outside it is read).
   * Without it the page shows no current source.
   */
  root?: string
}

/** A running web view. */
export interface Serving {
  /** The address to open, with the token when one is required. */
  url: string
  host: string
  port: number
  token: string | null
  /** Stop listening and close open connections (the store stays open: it belongs to the caller). */
  close: () => Promise<void>
}

/** How the evaluation page shows an output. */
export type OutputPreview =
  | { kind: 'value', value: unknown, truncated: false }
  | { kind: 'text', text: string, truncated: boolean }
  | { kind: 'image', mime: 'image/png' | 'image/jpeg' | 'image/svg+xml' }
  | { kind: 'hex', hex: string, truncated: boolean }
  | { kind: 'large', truncated: true }
  /** An Arrow table: its rows come page by page from `/api/table`. */
  | { kind: 'table' }
