// "cloudflare:test" for the worker suite on Node: execution contexts and scheduled controllers as plain
// objects (waitUntil promises are awaited by waitOnExecutionContext, as in the Workers runtime).

interface NodeExecutionContext {
  waitUntil(p: Promise<unknown>): void;
  passThroughOnException(): void;
  readonly props: Record<string, unknown>;
}

const pending = new WeakMap<NodeExecutionContext, Promise<unknown>[]>();

export function createExecutionContext(): NodeExecutionContext {
  const list: Promise<unknown>[] = [];
  const ctx: NodeExecutionContext = {
    waitUntil: (p) => void list.push(p),
    passThroughOnException: () => undefined,
    props: {},
  };
  pending.set(ctx, list);
  return ctx;
}

export async function waitOnExecutionContext(ctx: NodeExecutionContext): Promise<void> {
  await Promise.allSettled(pending.get(ctx) ?? []);
}

export function createScheduledController(options: { cron?: string; scheduledTime?: number | Date } = {}) {
  const t = options.scheduledTime ?? Date.now();
  return { cron: options.cron ?? "", scheduledTime: typeof t === "number" ? t : t.getTime(), noRetry: () => undefined };
}
