/**
 * The proxy core's own state machines (the response context of 16.7 and its branches) take the form the
 * transaction layer has: states and allowed transitions in a table, and an illegal transition throws.
 */

export class ProxyStateError extends Error {
  override readonly name = "ProxyStateError";
  constructor(
    readonly machine: string,
    readonly state: string,
    readonly event: string,
  ) {
    super(`${machine}: event "${event}" is illegal in state "${state}"`);
  }
}

/** A state with its transition table. */
export class StateMachine<S extends string> {
  private current: S;

  constructor(
    private readonly name: string,
    initial: S,
    private readonly table: Readonly<Record<S, readonly S[]>>,
  ) {
    this.current = initial;
  }

  get state(): S {
    return this.current;
  }

  /** True when the current state is one of `states`. */
  in(...states: readonly S[]): boolean {
    return states.includes(this.current);
  }

  /** Moves to `to`, or throws ProxyStateError when the table does not allow it. */
  to(to: S, event: string): void {
    if (!this.table[this.current].includes(to)) throw new ProxyStateError(this.name, this.current, event);
    this.current = to;
  }
}
