/**
 * The CLI's entry point, bundled by esbuild into dist/cli/main.js (`npm run bundle`) with oclif and everything the
 * commands import at start-up: one file to load instead of a few hundred, which is most of
 * dv's start-up time. Heavy or native modules stay outside and load only when used.
 */
export {execute} from '@oclif/core'
export {COMMANDS} from '../commands/index.js'
