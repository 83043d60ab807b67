import { describe, expect, it } from "vitest";
import { WriteQueue } from "../../store-server/src/write-queue";

describe("WriteQueue", () => {
  it("grants the lease at once when free", async () => {
    const queue = new WriteQueue();
    const lease = await queue.acquire();
    expect(queue.isHeld).toBe(true);
    lease.release();
    expect(queue.isHeld).toBe(false);
  });

  it("hands the lease over in arrival order", async () => {
    const queue = new WriteQueue();
    const first = await queue.acquire();
    const order: number[] = [];
    const waiters = [1, 2, 3].map((n) =>
      queue.acquire().then((lease) => {
        order.push(n);
        lease.release();
      }),
    );
    expect(queue.waiting).toBe(3);
    first.release();
    await Promise.all(waiters);
    expect(order).toEqual([1, 2, 3]);
    expect(queue.isHeld).toBe(false);
    expect(queue.waiting).toBe(0);
  });

  it("does not let a newcomer barge in between a release and the next waiter", async () => {
    const queue = new WriteQueue();
    const first = await queue.acquire();
    const order: string[] = [];
    const waiter = queue.acquire().then((lease) => {
      order.push("waiter");
      lease.release();
    });
    first.release();
    const newcomer = queue.acquire().then((lease) => {
      order.push("newcomer");
      lease.release();
    });
    await Promise.all([waiter, newcomer]);
    expect(order).toEqual(["waiter", "newcomer"]);
  });

  it("ignores a second release of the same lease", async () => {
    const queue = new WriteQueue();
    const first = await queue.acquire();
    first.release();
    const second = await queue.acquire();
    first.release();
    expect(queue.isHeld).toBe(true);
    second.release();
  });

  it("rejects waiters and later acquirers once closed", async () => {
    const queue = new WriteQueue();
    const held = await queue.acquire();
    const waiting = queue.acquire();
    queue.close();
    await expect(waiting).rejects.toMatchObject({ code: "SERVER_SHUTTING_DOWN" });
    await expect(queue.acquire()).rejects.toMatchObject({ code: "SERVER_SHUTTING_DOWN" });
    held.release();
  });
});
