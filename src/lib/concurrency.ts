/**
 * A limit on how many of one kind of task run at once; the rest wait their turn, first come first served. For work
 * that occupies a thread of libuv's pool (4 threads, shared with every file read and write, DNS lookup and password
 * hash of the process): left unbounded, a burst of such tasks makes everything else wait behind it.
 */
export interface Limiter {
  run<T>(task: () => Promise<T>): Promise<T>;
  /** Tasks running now and waiting (for tests and metrics). */
  readonly running: number;
  readonly waiting: number;
}

export function createLimiter(max: number): Limiter {
  if (!Number.isInteger(max) || max < 1) throw new Error(`a limiter needs a whole number of at least 1, not ${max}`);
  let running = 0;
  const queue: (() => void)[] = [];
  const release = () => {
    const next = queue.shift();
    if (next) next();
    else running--;
  };
  return {
    async run<T>(task: () => Promise<T>): Promise<T> {
      // A finishing task hands its slot straight to the next in line, so `running` never passes `max`.
      if (running < max) running++;
      else await new Promise<void>((resolve) => queue.push(resolve));
      try {
        return await task();
      } finally {
        release();
      }
    },
    get running() {
      return running;
    },
    get waiting() {
      return queue.length;
    },
  };
}
