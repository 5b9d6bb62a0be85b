// What fitting to a length budget must report, computed by hand from token counts: the truncated examples and the lines skipped.
import { encodePair } from '../../src/algorithms/common/batching.js';
import type { Tokenizer } from '../../src/models/index.js';

/** For (prompt, responses) records at `maxLength`: examples with a response cut, and the 1-based lines whose prompt leaves no room. */
export function expectedCounts(tokenizer: Tokenizer, records: { prompt: string; responses: string[] }[], maxLength: number): { truncated: number; skipped: number; skippedLines: number[] } {
  let truncated = 0;
  const skippedLines: number[] = [];
  records.forEach((r, i) => {
    const lengths = r.responses.map((resp) => encodePair(tokenizer, r, resp));
    if (lengths.some((p) => p.promptIds.length >= maxLength)) skippedLines.push(i + 1);
    else if (lengths.some((p) => p.promptIds.length + p.responseIds.length > maxLength)) truncated++;
  });
  return { truncated, skipped: skippedLines.length, skippedLines };
}
