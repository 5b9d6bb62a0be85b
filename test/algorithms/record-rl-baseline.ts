// Records the tiny-run logs and parameter hashes of PPO, shaping and PPO-Lagrangian into fixtures/rl-baseline.json.
// Run: npx tsx test/algorithms/record-rl-baseline.ts (only when a change is meant to alter RL results).
import { writeFileSync } from 'node:fs';
import { runTiny, TINY_METHODS } from './rl-tiny.js';

const out: Record<string, unknown> = {};
for (const name of TINY_METHODS) {
  const { log, actorHash, criticHashes, actorSample } = runTiny(name);
  // the diversity fields are checked apart in rl-regression.test.ts (finite, positive), not against the file
  const recorded = log.map(({ distinct1: _d1, distinct2: _d2, selfBleu: _bleu, rougeL: _rouge, embeddingDiversity: _embedding, ...rest }) => rest);
  out[name] = { log: recorded, actorHash, criticHashes, actorSample };
}
writeFileSync(new URL('./fixtures/rl-baseline.json', import.meta.url), `${JSON.stringify(out, null, 1)}\n`);
console.log('wrote test/algorithms/fixtures/rl-baseline.json');
