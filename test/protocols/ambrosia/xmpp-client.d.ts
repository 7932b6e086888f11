// The part of @xmpp/client 0.14 (which ships no type declarations) that the real-socket tests use.
// Shapes follow node_modules/@xmpp/client/README.md and @xmpp/connection/index.js.
declare module '@xmpp/client' {
  /** An ltx element as @xmpp/xml builds and parses it. */
  export interface Element {
    readonly name: string;
    readonly attrs: Record<string, string>;
    getChild(name: string, ns?: string): Element | undefined;
    getChildText(name: string, ns?: string): string | null;
    is(name: string, ns?: string): boolean;
    toString(): string;
  }

  export interface Jid {
    toString(): string;
    bare(): Jid;
  }

  /** What the SASL layer hands a `credentials` function (@xmpp/sasl README, "function"). */
  export type Authenticate = (credentials: { username: string; password: string }, mechanism: string) => Promise<void>;

  export interface ClientOptions {
    readonly service: string;
    readonly domain: string;
    readonly resource?: string;
    readonly username?: string;
    readonly password?: string;
    readonly credentials?: (authenticate: Authenticate, mechanisms: readonly string[]) => Promise<void>;
    /** Milliseconds to wait for the stream and socket to close. @defaultValue 2000 */
    readonly timeout?: number;
  }

  export interface XmppClient {
    readonly status: string;
    readonly jid: Jid | null;
    readonly reconnect: { stop(): void };
    start(): Promise<Jid>;
    stop(): Promise<unknown>;
    send(element: Element): Promise<void>;
    isSecure(): boolean;
    on(event: 'stanza', listener: (stanza: Element) => void): this;
    on(event: 'error', listener: (error: Error) => void): this;
    /** Every element the client writes (@xmpp/connection `send`). */
    on(event: 'send', listener: (element: Element) => void): this;
    on(event: 'offline' | 'online' | 'status', listener: (...args: unknown[]) => void): this;
  }

  export function client(options: ClientOptions): XmppClient;
  export function xml(name: string, attrs?: Record<string, string>, ...children: (Element | string)[]): Element;
}
