import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { countTraffic, emptyTraffic, type TrafficBytes } from './traffic-ledger.ts';
import { clientMessages, DEFAULT_LIMITS, packTensors, parseMessage, ProtocolError, type ClientMessageType, type ProtocolLimits } from '@openshard/protocol';
import { Server, type Socket } from 'socket.io';
import type { Coordinator, Effect } from './coordinator.ts';
import { buildApp, type AppEvents, type RouteModule } from './http/app.ts';
import { healthRoutes } from './http/health-routes.ts';
import type { ServingHub } from './inference/serving-hub.ts';

/** What the socket edge has done, for benchmarks and the dashboard. */
export interface ServerStats {
  /** Events handled (received messages, disconnects, ticks) and the time spent in their handlers (ms). */
  handled: number;
  handlerMs: number;
  bytesIn: number;
  bytesOut: number;
  /** handlerMs by what was handled: a message type, 'disconnect' or 'tick'. */
  handlerMsByKind: Record<string, number>;
  /** bytesIn + bytesOut of training messages, by what they carry. */
  traffic: TrafficBytes;
}

export interface CoordinatorServer {
  url: string;
  http: HttpServer;
  io: Server;
  stats: ServerStats;
  close(): Promise<void>;
}

function messageBytes(json: unknown, attachments: readonly unknown[]): number {
  let n = JSON.stringify(json)?.length ?? 0;
  for (const a of attachments) if (ArrayBuffer.isView(a) || a instanceof ArrayBuffer) n += a.byteLength;
  return n;
}

/** How often overdue leases are looked for (ms). */
const TICK_MS = 250;

/** What one remote address and one connection may send before they are cut off. */
export interface FloodLimits {
  /** Connections open at once from one remote address. */
  connectionsPerAddress: number;
  /** Messages a connection may send per second on average… */
  messagesPerSecond: number;
  /** …and at once. */
  messageBurst: number;
}

/**
 * Far above what an honest volunteer sends besides its answers (which are not counted: a ready per
 * weights, a pause now and then), far below what floods a coordinator.
 */
export const DEFAULT_FLOOD_LIMITS: FloodLimits = { connectionsPerAddress: 64, messagesPerSecond: 50, messageBurst: 200 };

export interface CoordinatorServerOptions {
  host?: string;
  port?: number;
  limits?: ProtocolLimits;
  flood?: FloodLimits;
  /** HTTP route modules served beside /health (ownership, …). */
  routes?: readonly RouteModule[];
  /** Told of every refused HTTP request (for /metrics). */
  httpRefused?: AppEvents['refused'];
  /** Volunteers serving the model: their serving messages go here. */
  serving?: ServingHub;
}

/**
 * One event from a volunteer, parsed completely (type, schema, tensors, finiteness) before the
 * Coordinator sees it; a message that does not parse is refused.
 */
async function dispatch(
  coordinator: Coordinator,
  hub: ServingHub | undefined,
  id: string,
  type: string,
  json: unknown,
  attachments: unknown[],
  limits: ProtocolLimits,
  now: number,
): Promise<Effect[]> {
  let parsed: ReturnType<typeof parseMessage<typeof clientMessages, ClientMessageType>>;
  try {
    parsed = parseMessage(clientMessages, type as ClientMessageType, json, attachments, { finite: true, limits });
  } catch (e) {
    if (e instanceof ProtocolError) return coordinator.refuse(id, e);
    throw e;
  }
  const m = parsed.message as never;
  switch (parsed.type as ClientMessageType) {
    case 'hello':
      return coordinator.hello(id, m, now);
    case 'ready':
      return [...coordinator.ready(id, m, now), ...(hub?.offerTo(id) ?? [])];
    case 'result':
      return coordinator.result(id, m, parsed.tensors, now);
    case 'gradients':
      return coordinator.gradients(id, m, parsed.tensors, now);
    case 'giveBack':
      return coordinator.giveBack(id, m, now);
    case 'availability':
      return coordinator.availability(id, m, now);
    case 'serving':
      return hub ? hub.serving(id, m) : coordinator.refuse(id, new ProtocolError('bad-message', 'serving: this coordinator does not serve a model'));
    case 'stepped':
      return hub ? hub.stepped(id, m, parsed.tensors) : [];
    case 'stepFailed':
      return hub ? hub.stepFailed(id, m) : [];
  }
}

/**
 * Sends effects out. Each socket is in the room named by its id (a volunteer's id is its
 * socket's): effects go through the adapter, which with a cross-process adapter reaches a socket
 * held by another process. bytesOut counts what reaches this process's own sockets.
 */
function deliverer(io: Server, stats: ServerStats): (effects: Effect[]) => void {
  return (effects) => {
    for (const e of effects) {
      if (e.type === 'disconnect') {
        io.in(e.to).disconnectSockets(true);
        continue;
      }
      const { headers, attachments } = packTensors(e.tensors ?? []);
      const json = { ...e.message, ...('tensors' in e.message ? { tensors: headers } : {}) };
      if (io.sockets.sockets.has(e.to)) {
        const bytes = messageBytes(json, attachments);
        stats.bytesOut += bytes;
        countTraffic(stats.traffic, e.type, json, bytes);
      }
      io.to(e.to).emit(e.type, json, ...attachments);
    }
  };
}

/**
 * The socket edge: every event is dispatched to the Coordinator and its effects are sent back
 * out. Handlers run one at a time, in arrival order, so the coordinator's state changes in one
 * well-defined sequence. HTTP routes share the port: Socket.IO takes `/socket.io/` requests, the
 * Hono app the rest.
 */
export async function startCoordinatorServer(coordinator: Coordinator, o: CoordinatorServerOptions = {}): Promise<CoordinatorServer> {
  const limits = o.limits ?? DEFAULT_LIMITS;
  const app = buildApp([healthRoutes(coordinator), ...(o.routes ?? [])], { refused: o.httpRefused });
  const http = createServer(getRequestListener(app.fetch));
  // engine.io puts its request listener before the app's and hands on what is not under /socket.io/;
  // a frame above the limit closes its connection before any of it is parsed
  const io = new Server(http, { maxHttpBufferSize: limits.maxMessageBytes, serveClient: false });
  const stats: ServerStats = { handled: 0, handlerMs: 0, handlerMsByKind: {}, bytesIn: 0, bytesOut: 0, traffic: emptyTraffic() };
  const deliver = deliverer(io, stats);
  let queue = Promise.resolve();
  const serial = (work: () => Promise<Effect[]> | Effect[], kind = 'tick') => {
    queue = queue
      .then(async () => {
        const started = performance.now();
        deliver(await work());
        stats.handled += 1;
        const ms = performance.now() - started;
        stats.handlerMs += ms;
        stats.handlerMsByKind[kind] = (stats.handlerMsByKind[kind] ?? 0) + ms;
      })
      .catch((e) => console.error('coordinator:', e));
  };
  const flood = o.flood ?? DEFAULT_FLOOD_LIMITS;
  const perAddress = new Map<string, number>();
  // the refusal goes out before the connection is dropped; the coordinator hears of it in turn (before the disconnect)
  const cutOff = (socket: Socket, message: string) => {
    const e = new ProtocolError('flood', message);
    socket.emit('refused', { code: e.code, message });
    serial(() => coordinator.cutOff(socket.id, e), 'flood');
    socket.disconnect(true);
  };
  io.on('connection', (socket) => {
    const from = socket.handshake.address;
    const open = (perAddress.get(from) ?? 0) + 1;
    perAddress.set(from, open);
    socket.on('disconnect', () => {
      const left = (perAddress.get(from) ?? 1) - 1;
      if (left > 0) perAddress.set(from, left);
      else perAddress.delete(from);
    });
    if (open > flood.connectionsPerAddress) return cutOff(socket, `${from} has ${open} connections open; at most ${flood.connectionsPerAddress} are allowed`);
    const bucket = new TokenBucket(flood.messageBurst, flood.messagesPerSecond);
    socket.onAny((type: string, json: unknown, ...attachments: unknown[]) => {
      // an answer the coordinator asked for is not flooding: a server sends one per token it serves, a
      // volunteer one per task; only the first answer is spared (a replay counts)
      const solicited = (o.serving?.awaits(socket.id, type, json) ?? false) || coordinator.awaits(socket.id, type, json);
      if (!solicited && !bucket.take(Date.now())) return cutOff(socket, `more than ${flood.messagesPerSecond} messages per second (burst ${flood.messageBurst})`);
      const bytes = messageBytes(json, attachments);
      stats.bytesIn += bytes;
      countTraffic(stats.traffic, type, json, bytes);
      serial(() => dispatch(coordinator, o.serving, socket.id, type, json, attachments, limits, Date.now()), Object.hasOwn(clientMessages, type) ? type : 'unknown');
    });
    socket.on('disconnect', () =>
      serial(() => {
        o.serving?.left(socket.id);
        return coordinator.disconnect(socket.id, Date.now());
      }, 'disconnect'),
    );
  });
  // one tick waits in the queue at most: a long one (the coordinator computing a shard) must not pile more up in front of results
  let tickQueued = false;
  const timer = setInterval(() => {
    if (tickQueued) return;
    tickQueued = true;
    serial(() => {
      tickQueued = false;
      return coordinator.tick(Date.now());
    });
  }, TICK_MS);
  o.serving?.attach(serial);

  await new Promise<void>((resolve) => http.listen(o.port ?? 0, o.host ?? '127.0.0.1', resolve));
  const { address, port } = http.address() as AddressInfo;
  return {
    url: `http://${address}:${port}`,
    http,
    io,
    stats,
    async close() {
      clearInterval(timer);
      o.serving?.close();
      io.close();
      await queue;
    },
  };
}

/** `capacity` tokens at most, `perSecond` added back each second; a message takes one. */
class TokenBucket {
  private tokens: number;
  private at = Date.now();

  constructor(
    private readonly capacity: number,
    private readonly perSecond: number,
  ) {
    this.tokens = capacity;
  }

  take(now: number): boolean {
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.at) / 1000) * this.perSecond);
    this.at = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
