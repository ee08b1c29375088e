/**
 * Reading the small text files dv keeps its records in (pointer files, dv.lock, dv.yaml, params
 * and config files). They are parsed whole, so a file far larger than any real one (a dataset
 * saved under a pointer's name, a hostile file) is refused by its size before it is read,
 * instead of filling memory.
 */
import {closeSync, fstatSync, openSync, readFileSync} from 'node:fs'

import {InvalidFileError} from '../errors.js'

/** Larger than any real record file: a dv.lock for thousands of stages is a few megabytes. */
export const MAX_RECORD_FILE = 64 * 1024 * 1024

/** The text of `path`; `shown` names it in the error when it is larger than `limit`. */
export function readRecordFile(path: string, shown = path, limit = MAX_RECORD_FILE): string {
  const fd = openSync(path, 'r')
  try {
    const size = fstatSync(fd).size
    if (size > limit) throw new InvalidFileError(shown, `${size} bytes is too large for this kind of file (at most ${limit}); is it the right file?`)
    return readFileSync(fd, 'utf8')
  } finally {
    closeSync(fd)
  }
}
