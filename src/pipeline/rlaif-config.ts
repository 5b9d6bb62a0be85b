// The pipeline's `rounds.rlaif` settings: which judge labels a round's pairs instead of the simulated annotators.
import { LabelConfigSchema } from '../label/config.js';

/** The judge settings a round takes (the rest are `safealign label`'s defaults). */
export const RlaifConfigSchema = LabelConfigSchema.pick({ judge: true, judgeModel: true, concurrency: true, maxTokens: true, temperature: true, retries: true, timeoutSec: true })
  .strict()
  .describe("a judge model labels each round's pairs instead of the simulated annotators (RLAIF); judge '' = the annotators");

