/** YAML files users write (dv.yaml, dv.lock): parsed with the `yaml` package, errors named by file and line. */
import {type CST, LineCounter, parse, Parser} from 'yaml'

import {InvalidFileError} from '../errors.js'

/**
 * The deepest nesting of collections dv reads. The `yaml` package composes a document
 * recursively and overflows the stack at about 800 levels: a RangeError the first time, and
 * on a later overflow in the same process V8 may abort outright ("RegExpCompiler Allocation
 * failed - process out of memory") when the overflow hits while it compiles a regexp. Its lexer
 * and CST parser are not recursive, so `checkYamlDepth` measures the depth on the CST first.
 */
export const MAX_YAML_DEPTH = 256

/** Refuses YAML nested deeper than MAX_YAML_DEPTH, before anything recursive sees it. */
export function checkYamlDepth(text: string, file: string): void {
  const lines = new LineCounter()
  const todo: Array<{token: CST.Token | null | undefined; depth: number}> = []
  for (const token of new Parser(lines.addNewLine).parse(text)) todo.push({token, depth: 0})
  // An explicit stack: a recursive walk would overflow on exactly the input it is here to refuse.
  for (let next = todo.pop(); next; next = todo.pop()) {
    const {token, depth} = next
    if (!token) continue
    if ('items' in token) {
      if (depth + 1 > MAX_YAML_DEPTH) {
        throw new InvalidFileError(file, `invalid YAML: nested more than ${MAX_YAML_DEPTH} levels deep`, lines.linePos(token.offset).line)
      }
      for (const item of token.items) todo.push({token: item.key, depth: depth + 1}, {token: item.value, depth: depth + 1})
    } else if (token.type === 'document') {
      todo.push({token: token.value, depth})
    }
  }
}

export function parseYaml(text: string, file: string): unknown {
  checkYamlDepth(text, file)
  try {
    // Warnings (an unknown tag) would go to stderr through process.emitWarning: dv's errors are its own.
    return parse(text, {logLevel: 'error'})
  } catch (error) {
    const e = error as {message: string; linePos?: Array<{line: number}>}
    throw new InvalidFileError(file, `invalid YAML: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`, e.linePos?.[0]?.line)
  }
}
