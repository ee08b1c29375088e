import {fileURLToPath} from 'node:url'
import {defineConfig} from 'vitest/config'

export default defineConfig({
  // The project root, one level up from this file.
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // CLI tests spawn real processes; two cores are shared by the workers.
    pool: 'forks',
    poolOptions: {forks: {maxForks: 2, minForks: 1}},
  },
})
