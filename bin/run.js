#!/usr/bin/env node
// dist/cli/main.js is oclif and the commands in one file (see src/cli/main.ts).
import {execute} from '../dist/cli/main.js'

await execute({dir: import.meta.url})
