/**
 * Group commit for the store thread's writer: saves that are waiting together run in one transaction, each as
 * a savepoint of it (the embedded client's batch nests, embedded-client.ts), and one COMMIT makes them all
 * durable. A REGISTER's save is a few small statements; on its own, its BEGIN, COMMIT and the WAL frames of
 * the pages it touched cost about as much as its statements. In a group the pages that every save touches
 * (the location table's and its indexes') are written to the WAL once per group.
 *
 * Each save's outcome is its own: one that fails rolls back to its savepoint and the others go on. Outcomes
 * are known only after the COMMIT: a save is reported done only once it is durable and visible to the reader
 * thread, so that a phone's 200 OK is never sent for a binding that a COMMIT failure then undid.
 */

/** What the group needs of the connection. */
export interface GroupConnection {
  execute(sql: string): Promise<unknown>;
  inTransaction(): boolean;
}

export type Settled<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

/** The error of a save that had succeeded inside a group whose transaction was then lost. */
export class GroupRolledBackError extends Error {
  override readonly name = "GroupRolledBackError";
}

async function settle<T>(op: () => Promise<T>): Promise<Settled<T>> {
  try {
    return { ok: true, value: await op() };
  } catch (error) {
    return { ok: false, error };
  }
}

/** Runs `ops` one after another, each on its own; their outcomes in order. */
export async function runEach<T>(ops: readonly (() => Promise<T>)[]): Promise<Settled<T>[]> {
  const out: Settled<T>[] = [];
  for (const op of ops) out.push(await settle(op));
  return out;
}

/**
 * Runs `ops` (each one save) in one transaction and returns their outcomes in order. A single op runs on its
 * own, as before. When the transaction cannot be opened, or SQLite ends it (a statement failing with
 * SQLITE_FULL or an I/O error rolls the whole transaction back), the saves it held are reported failed and
 * the ones not yet run run one by one, each in its own transaction.
 */
export async function runCommitGroup<T>(
  conn: GroupConnection,
  ops: readonly (() => Promise<T>)[],
  /** Called with the group's size once a COMMIT has closed a transaction that ran two saves or more. */
  onCommit?: (saves: number) => void,
): Promise<Settled<T>[]> {
  const alone = async (from: number, out: Settled<T>[]): Promise<Settled<T>[]> => {
    out.push(...(await runEach(ops.slice(from))));
    return out;
  };
  if (ops.length < 2 || conn.inTransaction()) return alone(0, []);
  try {
    await conn.execute("BEGIN IMMEDIATE");
  } catch {
    return alone(0, []);
  }
  const out: Settled<T>[] = [];
  for (let i = 0; i < ops.length; i++) {
    out.push(await settle(ops[i]!));
    if (!conn.inTransaction()) {
      const cause = out[i]!.ok ? "the transaction ended" : messageOf((out[i] as { error: unknown }).error);
      lose(out, cause);
      return alone(i + 1, out);
    }
  }
  try {
    await conn.execute("COMMIT");
  } catch (err) {
    if (conn.inTransaction()) await conn.execute("ROLLBACK").catch(() => undefined);
    lose(out, `the commit failed: ${messageOf(err)}`);
    return out;
  }
  onCommit?.(ops.length);
  return out;
}

/** Every save reported done so far in `out` was rolled back with the group's transaction. */
function lose<T>(out: Settled<T>[], cause: string): void {
  for (let j = 0; j < out.length; j++) {
    if (out[j]!.ok) out[j] = { ok: false, error: new GroupRolledBackError(`rolled back with its commit group (${cause})`) };
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
