/**
 * A JSON websocket to our server that reconnects by itself.
 *
 * - Messages are JSON objects with a `type`; `on(type, handler)` subscribes ("*" for all).
 * - `send()` before the socket is open queues the message; on every (re)connect `onOpen` runs first,
 *   so a caller can replay its state (what it opened, its subjects, its latest draft).
 * - A close with code 4401/4403/4404 (not logged in, not allowed, gone) is final: no retry.
 */

export type SocketState = "connecting" | "open" | "closed" | "refused";

export interface SocketMessage {
  type: string;
  [key: string]: unknown;
}

type Handler = (message: SocketMessage) => void;

const FINAL_CODES = new Set([4401, 4403, 4404]);

export function socketUrl(path: string, location: Pick<Location, "protocol" | "host"> = window.location): string {
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${path.startsWith("/") ? path : `/${path}`}`;
}

export class JsonSocket {
  state: SocketState = "connecting";
  private socket: WebSocket | null = null;
  private handlers = new Map<string, Set<Handler>>();
  private stateHandlers = new Set<(state: SocketState) => void>();
  private queue: string[] = [];
  private attempts = 0;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  constructor(
    private readonly url: string,
    private readonly onOpen?: (socket: JsonSocket) => void,
  ) {
    this.connect();
  }

  on(type: string, handler: Handler): () => void {
    const set = this.handlers.get(type) ?? new Set<Handler>();
    set.add(handler);
    this.handlers.set(type, set);
    return () => set.delete(handler);
  }

  onState(handler: (state: SocketState) => void): () => void {
    this.stateHandlers.add(handler);
    return () => this.stateHandlers.delete(handler);
  }

  send(message: SocketMessage): void {
    const text = JSON.stringify(message);
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(text);
    else this.queue.push(text);
  }

  close(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    if (this.socket) {
      this.socket.onclose = null;
      this.socket.close();
    }
    this.setState("closed");
  }

  private setState(state: SocketState) {
    this.state = state;
    for (const handler of this.stateHandlers) handler(state);
  }

  private connect() {
    this.setState("connecting");
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.onopen = () => {
      this.attempts = 0;
      this.setState("open");
      const pending = this.queue;
      this.queue = [];
      this.onOpen?.(this);
      for (const text of pending) socket.send(text);
    };
    socket.onmessage = (event) => {
      let message: SocketMessage;
      try {
        message = JSON.parse(String(event.data)) as SocketMessage;
      } catch {
        return;
      }
      if (!message || typeof message.type !== "string") return;
      for (const handler of this.handlers.get(message.type) ?? []) handler(message);
      for (const handler of this.handlers.get("*") ?? []) handler(message);
    };
    socket.onclose = (event) => {
      this.socket = null;
      if (this.stopped) return;
      if (FINAL_CODES.has(event.code)) {
        this.setState("refused");
        return;
      }
      this.setState("closed");
      this.attempts += 1;
      this.retry = setTimeout(() => this.connect(), Math.min(15_000, 500 * 2 ** Math.min(this.attempts, 5)));
    };
  }
}
