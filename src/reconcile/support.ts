// Small helpers shared by the read and execute steps: bounded concurrency and turning whatever a
// port threw into a stable error code and message. No I/O of its own.
import { Ec2Error } from '../aws/port.js';

/** Run `fn` over `items` with at most `limit` in flight; results keep the input order. */
export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T, index);
    }
  };
  const workers = Math.max(1, Math.min(Math.floor(limit) || 1, items.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return results;
}

export interface ErrorInfo {
  readonly errorCode: string;
  readonly error: string;
  /** SDK attempts behind the error, when known (not an event field). */
  readonly attempts?: number;
}

/** EC2's error code and message, or a stable code for errors that did not come from EC2. */
export function errorInfo(error: unknown): ErrorInfo {
  if (error instanceof Ec2Error) {
    return {
      errorCode: error.code,
      error: error.message,
      ...(error.attempts !== undefined ? { attempts: error.attempts } : {}),
    };
  }
  if (error instanceof Error) {
    if (error.name === 'AbortError' || error.name === 'TimeoutError') {
      return { errorCode: error.name, error: error.message };
    }
    return { errorCode: 'UnknownError', error: error.message };
  }
  return { errorCode: 'UnknownError', error: String(error) };
}

/** True when the error is the pass being aborted (the signal fired), not EC2 refusing something. */
export function isAbort(error: unknown, signal: AbortSignal | undefined): boolean {
  if (signal?.aborted === true) return true;
  return errorInfo(error).errorCode === 'AbortError';
}
