// HTTP + WebSocket transport of the API contract (web mode, `sightline serve`).
import {
  ApiError,
  httpRoutes,
  isSerializedApiError,
  methods,
  type EventName,
  type Events,
  type MethodName,
  type SightlineApi,
} from '../../src/api/contract.js';
import { decodeWire, WIRE_CONTENT_TYPE } from '../../src/api/wire.js';

type Listener = (payload: unknown) => void;

export function createHttpApi(baseUrl = window.location.origin): SightlineApi & { upload(file: File): Promise<string> } {
  const listeners = new Map<EventName, Set<Listener>>();
  let socket: WebSocket | undefined;
  let retryMs = 250;

  const connectEvents = (): void => {
    const url = new URL(httpRoutes.events, baseUrl);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    socket = new WebSocket(url);
    socket.onopen = () => {
      retryMs = 250;
    };
    socket.onmessage = (message) => {
      const { event, payload } = JSON.parse(String(message.data)) as { event: EventName; payload: unknown };
      listeners.get(event)?.forEach((fn) => fn(payload));
    };
    socket.onclose = () => {
      // Reconnect with backoff: the server may restart while the UI stays open.
      setTimeout(connectEvents, retryMs);
      retryMs = Math.min(retryMs * 2, 5000);
    };
  };
  connectEvents();

  const call = async (method: MethodName, input: unknown): Promise<unknown> => {
    const response = await fetch(new URL(httpRoutes.call + method, baseUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(input ?? {}),
    });
    if (response.headers.get('content-type')?.startsWith(WIRE_CONTENT_TYPE)) {
      return decodeWire(await response.arrayBuffer());
    }
    const body: unknown = await response.json().catch(() => undefined);
    const error = (body as { error?: unknown } | undefined)?.error;
    if (isSerializedApiError(error)) throw ApiError.from(error);
    throw new ApiError('INTERNAL', `HTTP ${response.status} from ${method}`);
  };

  const api = {
    on<E extends EventName>(event: E, listener: (payload: Events[E]) => void) {
      const set = listeners.get(event) ?? new Set<Listener>();
      listeners.set(event, set);
      set.add(listener as Listener);
      return () => set.delete(listener as Listener);
    },
    async upload(file: File): Promise<string> {
      const url = new URL(httpRoutes.upload, baseUrl);
      url.searchParams.set('name', file.name);
      const response = await fetch(url, { method: 'POST', body: file });
      const body = (await response.json()) as { path?: string; error?: unknown };
      if (!response.ok || !body.path) throw ApiError.from(body.error ?? `Upload failed (${response.status})`);
      return body.path;
    },
  } as Record<string, unknown>;
  for (const method of Object.keys(methods) as MethodName[]) {
    api[method] = (input: unknown) => call(method, input);
  }
  return api as unknown as SightlineApi & { upload(file: File): Promise<string> };
}
