/** Output flags of `dv data stats` and `dv data diff`: no CSV, since each prints several tables. */
import {Flags} from '@oclif/core'

export const dataOutputFlags = {
  json: Flags.boolean({description: 'Print JSON.', exclusive: ['md']}),
  md: Flags.boolean({description: 'Print Markdown (for a pull request comment).', exclusive: ['json']}),
  precision: Flags.integer({description: 'Decimals shown for numbers (default 5).', min: 0, max: 20}),
}
