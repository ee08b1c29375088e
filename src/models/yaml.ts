/** YAML files users write (dv.yaml, dv.lock): parsed with the `yaml` package, errors named by file and line. */
import {parse} from 'yaml'

import {InvalidFileError} from '../errors.js'

export function parseYaml(text: string, file: string): unknown {
  try {
    return parse(text)
  } catch (error) {
    const e = error as {message: string; linePos?: Array<{line: number}>}
    throw new InvalidFileError(file, `invalid YAML: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`, e.linePos?.[0]?.line)
  }
}
