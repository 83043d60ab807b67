/**
 * The local store endpoint: the embedded libSQL engine served over Hrana v2 over HTTP (`POST /v2/pipeline`),
 * the protocol `@libsql/client/web` speaks, so the worker and drizzle-kit use their production code path
 * against a local file. Production talks to Turso/sqld instead.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { mkdirSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, resolve } from "node:path";
import { startCheckpointer } from "./checkpointer";
import { ConnectionPool } from "./connection-pool";
import { decodeStreamRequest } from "./hrana-proto";
import { HranaStream, protoErrorOf } from "./hrana-stream";
import { stringifyResponse } from "./hrana-values";
import { StoreError } from "./store-error";
import { WriteQueue } from "./write-queue";

/** Version of this server, reported by `GET /`. */
export const STORE_SERVER_VERSION = "1.0.0";

/** Options of {@link startStoreServer}. */
export interface StoreServerOptions {
  /** Database file path (created with its folder if missing), or `:memory:`. */
  file: string;
  /** Address to listen on. Default `127.0.0.1`. */
  host?: string;
  /** Port; 0 (the default) picks a free one. */
  port?: number;
  /** When set, every Hrana request must carry `authorization: Bearer <authToken>`. */
  authToken?: string;
  /** A stream left without a call for this long is closed and its transaction rolled back. Default 10 000. */
  idleTimeoutMs?: number;
  /** Largest accepted request body. Default 32 MiB. */
  maxBodyBytes?: number;
  /** Most engine connections open at once; more streams wait for one. Default 64. */
  maxConnections?: number;
  /**
   * WAL checkpoints: every this many ms, PASSIVE, in a thread of their own (checkpointer.ts), never on a
   * commit in the server's thread. 0: SQLite's default, the commit past 1000 WAL pages checkpoints.
   * Default 1000. Ignored for `:memory:`.
   */
  checkpointIntervalMs?: number;
  /** Receives one object per notable event (listening, expiry, internal errors). */
  log?: (entry: Record<string, unknown>) => void;
}

/** A running store server. */
export interface StoreServer {
  /** Base URL for `createClient({ url })`, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  /** The port actually bound. */
  readonly port: number;
  /** Pipeline requests served so far (each one is one client round trip); for cost measurements. */
  readonly pipelineRequests: () => number;
  /** The checkpoint thread's runs and copied WAL frames; undefined without one. */
  readonly checkpoints?: () => Promise<{ runs: number; frames: number } | undefined>;
  /** Ends all streams (rolling back open transactions), closes the connections and the HTTP server. */
  close(): Promise<void>;
}

const JSON_TYPE = "application/json";
/** How many ended stream ids are remembered to tell "expired" from "never existed". */
const ENDED_STREAMS_KEPT = 4096;

interface PipelineBody {
  readonly baton: string | undefined;
  readonly requests: readonly unknown[];
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

function parsePipelineBody(text: string): PipelineBody {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new StoreError("BODY_INVALID", `Invalid JSON body: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new StoreError("BODY_INVALID", "The body must be a JSON object");
  }
  const { baton, requests } = body as Record<string, unknown>;
  if (baton !== undefined && baton !== null && typeof baton !== "string") {
    throw new StoreError("BODY_INVALID", '"baton" must be a string or null');
  }
  if (!Array.isArray(requests)) throw new StoreError("BODY_INVALID", '"requests" must be an array');
  return { baton: baton ?? undefined, requests };
}

/** Starts the server; resolves once it listens. */
export async function startStoreServer(options: StoreServerOptions): Promise<StoreServer> {
  const host = options.host ?? "127.0.0.1";
  const port = options.port ?? 0;
  const idleTimeoutMs = options.idleTimeoutMs ?? 10_000;
  const maxBodyBytes = options.maxBodyBytes ?? 32 * 1024 * 1024;
  const log = (entry: Record<string, unknown>): void => {
    try {
      options.log?.(entry);
    } catch {
      // A failing logger must not take the server down.
    }
  };
  if (typeof options.file !== "string" || options.file === "") throw new StoreError("CONFIG_INVALID", "`file` is required");
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new StoreError("CONFIG_INVALID", `Invalid port ${port}`);
  if (!(idleTimeoutMs > 0)) throw new StoreError("CONFIG_INVALID", "`idleTimeoutMs` must be positive");

  const file = options.file === ":memory:" ? ":memory:" : resolve(options.file);
  if (file !== ":memory:") mkdirSync(dirname(file), { recursive: true });
  const checkpointIntervalMs = options.checkpointIntervalMs ?? 1000;
  if (!(Number.isInteger(checkpointIntervalMs) && checkpointIntervalMs >= 0)) {
    throw new StoreError("CONFIG_INVALID", "`checkpointIntervalMs` must be a non-negative integer");
  }
  const background = file !== ":memory:" && checkpointIntervalMs > 0;
  const pool = new ConnectionPool({ file, maxConnections: options.maxConnections, autoCheckpoint: !background });
  // After the pool: its first connection has put the file in WAL mode.
  const checkpointer = background ? startCheckpointer(file, checkpointIntervalMs, log) : undefined;
  const queue = new WriteQueue();
  const expectedToken = options.authToken === undefined || options.authToken === "" ? undefined : sha256(options.authToken);
  const streams = new Map<number, HranaStream>();
  const endedStreams = new Set<number>();
  let nextStreamId = 1;
  let closing = false;

  let sqliteVersion = "unknown";
  const probe = await pool.acquire();
  try {
    sqliteVersion = probe.sqliteVersion();
  } finally {
    pool.release(probe);
  }

  const rememberEnded = (id: number): void => {
    streams.delete(id);
    endedStreams.add(id);
    if (endedStreams.size > ENDED_STREAMS_KEPT) {
      const oldest = endedStreams.values().next();
      if (oldest.done !== true) endedStreams.delete(oldest.value);
    }
  };

  const expire = (stream: HranaStream): void => {
    if (stream.busy || stream.closed) return;
    const heldLock = stream.holdsWriteLock;
    stream.close();
    rememberEnded(stream.id);
    log({ event: "stream_expired", stream: stream.id, heldWriteLock: heldLock });
  };

  const isAuthorized = (req: IncomingMessage): boolean => {
    if (expectedToken === undefined) return true;
    const header = req.headers.authorization ?? "";
    const match = /^Bearer\s+(.+)$/i.exec(header.trim());
    if (match === null || match[1] === undefined) return false;
    return timingSafeEqual(sha256(match[1]), expectedToken);
  };

  const takeStream = (baton: string): HranaStream => {
    const id = Number(baton.slice(0, baton.indexOf(".")));
    const stream = Number.isSafeInteger(id) ? streams.get(id) : undefined;
    if (stream === undefined) {
      if (endedStreams.has(id)) {
        throw new StoreError("STREAM_EXPIRED", "The stream has ended or expired (idle for too long); open a new one");
      }
      throw new StoreError("BATON_INVALID", "Unknown baton");
    }
    if (stream.busy || stream.baton !== baton) {
      throw new StoreError("BATON_REUSED", "This baton was already used; each baton is valid for one request");
    }
    return stream;
  };

  const runPipeline = async (body: PipelineBody): Promise<unknown> => {
    if (closing) throw new StoreError("SERVER_SHUTTING_DOWN", "The store server is shutting down", 503);
    let stream: HranaStream;
    if (body.baton === undefined) {
      stream = await HranaStream.open(nextStreamId++, pool, queue);
      if (closing) {
        stream.close();
        throw new StoreError("SERVER_SHUTTING_DOWN", "The store server is shutting down", 503);
      }
      streams.set(stream.id, stream);
    } else {
      stream = takeStream(body.baton);
    }
    stream.busy = true;
    stream.baton = null;
    if (stream.idleTimer !== undefined) clearTimeout(stream.idleTimer);
    stream.idleTimer = undefined;

    const results: unknown[] = [];
    try {
      for (const raw of body.requests) {
        try {
          if (stream.closed) throw new StoreError("STREAM_CLOSED", "The stream was closed by an earlier request");
          const response = await stream.handle(decodeStreamRequest(raw));
          results.push({ type: "ok", response });
        } catch (error) {
          if (!(error instanceof StoreError) && !(error instanceof Error && "rawCode" in error)) {
            log({ event: "internal_error", stream: stream.id, message: String(error), stack: (error as Error).stack });
          }
          results.push({ type: "error", error: protoErrorOf(error) });
        }
      }
    } finally {
      stream.busy = false;
      if (closing) stream.close();
    }
    if (stream.closed) {
      rememberEnded(stream.id);
      return { baton: null, base_url: null, results };
    }
    stream.baton = `${stream.id}.${randomBytes(18).toString("base64url")}`;
    stream.idleTimer = setTimeout(() => expire(stream), idleTimeoutMs);
    stream.idleTimer.unref();
    return { baton: stream.baton, base_url: null, results };
  };

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    if (res.headersSent || res.destroyed) return;
    const text = stringifyResponse(body);
    res.writeHead(status, { "content-type": JSON_TYPE, "content-length": Buffer.byteLength(text), ...headers });
    res.end(text);
  };

  const sendError = (res: ServerResponse, error: unknown): void => {
    const storeError = error instanceof StoreError ? error : new StoreError("INTERNAL_ERROR", "Internal server error", 500);
    if (!(error instanceof StoreError)) {
      log({ event: "internal_error", message: String(error), stack: error instanceof Error ? error.stack : undefined });
    }
    send(res, storeError.status, { message: storeError.message, code: storeError.code });
  };

  const readBody = (req: IncomingMessage): Promise<string> =>
    new Promise((resolveBody, rejectBody) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let failed = false;
      req.on("data", (chunk: Buffer) => {
        if (failed) return;
        size += chunk.length;
        if (size > maxBodyBytes) {
          failed = true;
          chunks.length = 0;
          rejectBody(new StoreError("BODY_TOO_LARGE", `The body exceeds ${maxBodyBytes} bytes`, 413));
          return;
        }
        chunks.push(chunk);
      });
      req.on("end", () => {
        if (!failed) resolveBody(Buffer.concat(chunks).toString("utf8"));
      });
      req.on("error", (error) => {
        if (failed) return;
        failed = true;
        rejectBody(error);
      });
    });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const method = req.method ?? "GET";
    const allow = (methods: string): boolean => {
      if (methods.split(", ").includes(method)) return true;
      req.resume();
      send(res, 405, { message: `Method ${method} is not allowed on ${path}`, code: "METHOD_NOT_ALLOWED" }, { allow: methods });
      return false;
    };
    switch (path) {
      case "/":
        if (!allow("GET")) return;
        send(res, 200, {
          server: "edge-registrar store-server",
          version: STORE_SERVER_VERSION,
          protocols: ["hrana2-http"],
          engine: { package: "libsql", sqlite_version: sqliteVersion },
          database: file === ":memory:" ? ":memory:" : "file",
        });
        return;
      case "/health":
        if (!allow("GET")) return;
        send(res, closing ? 503 : 200, { status: closing ? "closing" : "ok", streams: streams.size, connections: pool.size, write_waiters: queue.waiting });
        return;
      case "/v2":
        // Protocol probe; like /health it reveals nothing, so it needs no token.
        if (!allow("GET")) return;
        send(res, 200, { version: 2 });
        return;
      case "/v2/pipeline": {
        if (!allow("POST")) return;
        if (!isAuthorized(req)) {
          req.resume();
          throw new StoreError("AUTH_INVALID", "Missing or wrong bearer token", 401);
        }
        const body = parsePipelineBody(await readBody(req));
        pipelineCount++;
        send(res, 200, await runPipeline(body));
        return;
      }
      default:
        req.resume();
        send(res, 404, { message: `No route for ${path}`, code: "NOT_FOUND" });
    }
  };

  let pipelineCount = 0;
  const httpServer = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      try {
        sendError(res, error);
        if (error instanceof StoreError && error.status === 413) res.once("finish", () => req.destroy());
      } catch (sendFailure) {
        log({ event: "internal_error", message: `Could not answer: ${String(sendFailure)}` });
        res.destroy();
      }
    });
  });
  httpServer.on("clientError", (_error, socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n");
    else socket.destroy();
  });

  await new Promise<void>((resolveListen, rejectListen) => {
    const onError = (error: Error): void => {
      pool.close();
      void checkpointer?.close();
      rejectListen(error);
    };
    httpServer.once("error", onError);
    httpServer.listen(port, host, () => {
      httpServer.off("error", onError);
      resolveListen();
    });
  });
  httpServer.on("error", (error) => log({ event: "http_error", message: error.message }));

  const boundPort = (httpServer.address() as AddressInfo).port;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  const url = `http://${urlHost}:${boundPort}`;
  log({ event: "listening", url, file });

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= new Promise<void>((resolveClose) => {
      closing = true;
      queue.close();
      for (const stream of streams.values()) stream.close();
      streams.clear();
      pool.close();
      void checkpointer?.close();
      httpServer.close(() => resolveClose());
      httpServer.closeAllConnections();
      log({ event: "closed", url });
    });
    return closed;
  };

  return {
    url,
    port: boundPort,
    pipelineRequests: () => pipelineCount,
    checkpoints: async () => (checkpointer ? checkpointer.stats() : undefined),
    close,
  };
}
