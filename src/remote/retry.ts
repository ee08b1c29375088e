/**
 * Retrying transient failures with exponential backoff: a network drop, a throttled request, a
 * busy network mount. Anything else (a missing key, wrong credentials) fails at once.
 */
const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'EIO', 'ESTALE', 'EBUSY', 'EAGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'UND_ERR_SOCKET'])
const TRANSIENT_NAMES = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'RequestTimeout', 'RequestTimeoutException', 'ServiceUnavailable', 'InternalError', 'TimeoutError'])

export function isTransient(error: unknown): boolean {
  const e = error as {code?: string; name?: string; $metadata?: {httpStatusCode?: number}; cause?: unknown}
  if (!e || typeof e !== 'object') return false
  if (TRANSIENT_CODES.has(e.code ?? '') || TRANSIENT_NAMES.has(e.name ?? '')) return true
  const status = e.$metadata?.httpStatusCode
  if (status === 429 || (status !== undefined && status >= 500)) return true
  return e.cause !== undefined && isTransient(e.cause)
}

export interface RetryOptions {
  /** Tries in all (default 4). */
  attempts?: number
  /** First wait in ms, doubled after each failure, with jitter (default 200). */
  baseMs?: number
}

export async function withRetry<T>(work: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 4
  const base = options.baseMs ?? 200
  for (let attempt = 1; ; attempt++) {
    try {
      return await work()
    } catch (error) {
      if (attempt >= attempts || !isTransient(error)) throw error
      const wait = base * 2 ** (attempt - 1) * (0.5 + Math.random())
      await new Promise((resolve) => setTimeout(resolve, wait))
    }
  }
}
