/**
 * One interface for remote storage; the transfer engine (src/repo/transfer.ts) knows nothing
 * else about where objects go. Layout on every backend: `<remote>/objects/<2 hex>/<62 hex>`.
 * Nothing on a remote is overwritten in place, and an object becomes visible only once complete.
 */
export interface RemoteBackend {
  /** Where the remote is, for messages (never includes credentials). */
  readonly where: string
  /** Every object id on the remote, from listings (not one request per object). */
  list(): Promise<Set<string>>
  /** Uploads the local file `file` as object `oid`. */
  put(oid: string, file: string): Promise<void>
  /** Downloads object `oid` into `dest`; MissingObjectError when the remote does not have it. */
  get(oid: string, dest: string): Promise<void>
}
