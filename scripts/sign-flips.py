"""Mutation check of the RL loop, the losses and the evaluation: applies each known sign flip to src/ alone, runs the tests that must catch it, reverts.

Run from the repository root: python3 scripts/sign-flips.py [flip ...]   (about 30 s per flip on one core)
Prints, per flip, which tests failed (test/rl/constrained-bandit.test.ts, or the flip's own test file); every flip must fail at least one.
A flip whose source pattern is no longer found (the code moved) is reported, not silently skipped.
The source file is always restored, also on Ctrl-C.
"""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

# name -> (file, [(original text, flipped text), ...][, test file; default TEST])
FLIPS = {
    'ppo-lag cost stream negated': ('src/algorithms/ppo-lag/method.ts', [('cost: klShapedScores(r.cost, r.kl, r.mask, config.klCoef, config.scoreClip),', 'cost: klShapedScores(r.cost, r.kl, r.mask, config.klCoef, config.scoreClip).neg(),')]),
    'ppo-lag cost score negated': ('src/algorithms/ppo-lag/method.ts', [('cost: klShapedScores(r.cost, r.kl', 'cost: klShapedScores(r.cost.neg(), r.kl')]),
    'ppo-lag KL bonus (both streams)': ('src/algorithms/ppo-lag/method.ts', [('reward: klShapedScores(r.reward, r.kl, r.mask, -config.klCoef', 'reward: klShapedScores(r.reward, r.kl, r.mask, config.klCoef'), ('cost: klShapedScores(r.cost, r.kl, r.mask, config.klCoef', 'cost: klShapedScores(r.cost, r.kl, r.mask, -config.klCoef')]),
    'ppo-lag KL bonus (reward stream)': ('src/algorithms/ppo-lag/method.ts', [('reward: klShapedScores(r.reward, r.kl, r.mask, -config.klCoef', 'reward: klShapedScores(r.reward, r.kl, r.mask, config.klCoef')]),
    'ppo-lag KL bonus (cost stream)': ('src/algorithms/ppo-lag/method.ts', [('cost: klShapedScores(r.cost, r.kl, r.mask, config.klCoef', 'cost: klShapedScores(r.cost, r.kl, r.mask, -config.klCoef')]),
    'shaping R + nu*C': ('src/algorithms/reward-shaping/method.ts', [('r.reward.sub(r.cost.mul(config.nu))', 'r.reward.add(r.cost.mul(config.nu))')]),
    'loop kl = ref - old': ('src/algorithms/rl/scoring.ts', [('const kl = rollout.oldLogProbs.sub(scores.refLogProbs).mul(rollout.mask);', 'const kl = scores.refLogProbs.sub(rollout.oldLogProbs).mul(rollout.mask);')]),
    'actor ascends -advantage': ('src/algorithms/rl/actor-update.ts', [('advantages: batch.advantages,', 'advantages: batch.advantages.neg(),')]),
    'lambda steps the wrong way': ('src/rl/lagrange.ts', [('s.logLambda -= this.config.lr', 's.logLambda += this.config.lr')]),
    'ppo clip inverted (min for max)': ('src/losses/ppo.ts', [('unclipped.maximum(clipped)', 'unclipped.minimum(clipped)')]),
    'ppo clip inverted (range swapped)': ('src/losses/ppo.ts', [('ratio.clamp(1 - opts.clipLow, 1 + opts.clipHigh)', 'ratio.clamp(1 + opts.clipHigh, 1 - opts.clipLow)')]),
    'A_r + lambda*A_c': ('src/rl/advantage.ts', [('rewardAdvantages.mul(1 - w).sub(costAdvantages.mul(w))', 'rewardAdvantages.mul(1 - w).add(costAdvantages.mul(w))')]),
    'cost label sign (safe = +1)': ('src/losses/cost.ts', [('return isSafe.float().mul(-2).add(1);', 'return isSafe.float().mul(2).sub(1);')], 'test/losses/cost-labels.test.ts'),
    'score labels inverted (safe read as unsafe)': ('src/algorithms/score/items.ts', [("return tensor(items.map((it) => (it.isSafe[slot] ? 1 : 0)), { dtype: 'bool', device });", "return tensor(items.map((it) => (it.isSafe[slot] ? 0 : 1)), { dtype: 'bool', device });")], 'test/cli/train-data.test.ts'),
    'ordinal: P(level >= k) = sigma(theta_k - s)': ('src/losses/ordinal.ts', [('const diff = scores.unsqueeze(1).sub(cutpoints.unsqueeze(0));', 'const diff = cutpoints.unsqueeze(0).sub(scores.unsqueeze(1));')], 'test/losses/ordinal.test.ts'),
    'ordinal: gap term log(1 + e^-gap)': ('src/losses/ordinal.ts', [('const gapTerm = gaps.neg().exp().neg().add(1).log();', 'const gapTerm = gaps.neg().exp().add(1).log();')], 'test/losses/ordinal.test.ts'),
    'ordinal: nll ascended': ('src/losses/ordinal.ts', [('.squeeze(1).mean().neg();', '.squeeze(1).mean();')], 'test/losses/ordinal.test.ts'),
    'severity levels read reversed': ('src/algorithms/score/items.ts', [("return tensor(items.map((it) => it.levels?.[slot] ?? -1), { dtype: 'int64', device });", "return tensor(items.map((it) => (it.levels ? 3 - (it.levels[slot] as number) : -1)), { dtype: 'int64', device });")], 'test/algorithms/severity-train.test.ts'),
    'guard: severity at or above the allowed level passes': ('src/serve/guard.ts', [('!(a.severity.level >= 0 && a.severity.level <= this.maxLevel)', '!(a.severity.level >= 0 && a.severity.level >= this.maxLevel)')], 'test/serve/guard-severity.test.ts'),
    'guard: cost and severity must both flag': ('src/serve/guard.ts', [('if (a.cost !== undefined && !(a.cost <= this.config.threshold)) return true;\n    return a.severity', 'if (a.cost !== undefined && (a.cost <= this.config.threshold)) return false;\n    return a.severity')], 'test/serve/guard-severity.test.ts'),
    'cost label term ascended': ('src/losses/cost.ts', [('return sign.mul(costs).logsigmoid().mean().neg();', 'return sign.mul(costs).logsigmoid().mean();')], 'test/losses/cost-labels.test.ts'),
    'arena: higher cost wins': ('src/eval/arena.ts', [("(better === 'higher' ? a > b : a < b)", "(better === 'higher' ? a > b : a > b)")], 'test/eval/arena.test.ts'),
    'eval scorer keeps the response start': ('src/eval/model-responses.ts', [("scorer.maxLength, 'response-end')", "scorer.maxLength, 'response-start')")], 'test/eval/model-responses.test.ts'),
    'arena: lower reward wins': ('src/eval/arena.ts', [("(better === 'higher' ? a > b : a < b)", "(better === 'higher' ? a < b : a < b)")], 'test/eval/arena.test.ts'),
    'dpo logit h_l - h_w': ('src/losses/dpo.ts', [('const scaled = w.sub(l).mul(settings.beta);', 'const scaled = l.sub(w).mul(settings.beta);')], 'test/losses/dpo.test.ts'),
    'safe-dpo offset added': ('src/losses/dpo.ts', [('const z = offset ? scaled.sub(offset) : scaled;', 'const z = offset ? scaled.add(offset) : scaled;')], 'test/losses/dpo.test.ts'),
    'safe-dpo offset u_w - u_l': ('src/losses/safe-dpo.ts', [('(Number(p.rejectedUnsafe) - Number(p.chosenUnsafe))', '(Number(p.chosenUnsafe) - Number(p.rejectedUnsafe))')], 'test/losses/dpo.test.ts'),
    'safe-dpo unsafe winner kept': ('src/losses/safe-dpo.ts', [('const swap = !isSafe[better] && isSafe[worse];', 'const swap = isSafe[better] && !isSafe[worse];')], 'test/losses/dpo.test.ts'),
    'robust dpo eps sign': ('src/losses/dpo.ts', [('.add(z.neg().logsigmoid().mul(eps)).div(1 - 2 * eps)', '.sub(z.neg().logsigmoid().mul(eps)).div(1 - 2 * eps)')], 'test/losses/dpo.test.ts'),
    'dpo trainer: worse response chosen': ('src/algorithms/dpo/pairs.ts', [('chosen: r.responses[r.betterResponseId], rejected: r.responses[1 - r.betterResponseId] as string', 'chosen: r.responses[1 - r.betterResponseId] as string, rejected: r.responses[r.betterResponseId]')], 'test/algorithms/dpo-train.test.ts'),
    'dpo trainer: reference log-probs swapped': ('src/algorithms/dpo/train.ts', [('refChosen: tensor(ref.map((r) => r[0]), on),', 'refChosen: tensor(ref.map((r) => r[1]), on),'), ('refRejected: tensor(ref.map((r) => r[1]), on),', 'refRejected: tensor(ref.map((r) => r[0]), on),')], 'test/algorithms/dpo-train.test.ts'),
    'safe-dpo trainer: offset negated': ('src/algorithms/dpo/train.ts', [('return preferenceLoss(lp, config, tensor(batch.map((p) => p.offset), on), soft);', 'return preferenceLoss(lp, config, tensor(batch.map((p) => -p.offset), on), soft);')], 'test/algorithms/dpo-train.test.ts'),
    'sacpo: stage 2 with beta*lambda': ('src/algorithms/dpo/sacpo.ts', [('beta: config.helpful.beta / config.lambda', 'beta: config.helpful.beta * config.lambda')], 'test/algorithms/sacpo.test.ts'),
    'mocan dual: r + lambda*c': ('src/losses/mocan.ts', [('return rewards.sub(costs.mul(lambda)).div(beta);', 'return rewards.add(costs.mul(lambda)).div(beta);')], 'test/losses/mocan.test.ts'),
    'mocan dual: budget term -lambda*d': ('src/losses/mocan.ts', [('lse.add(lambda * settings.threshold)', 'lse.sub(lambda * settings.threshold)'), ('lse.add(lambda.mul(settings.threshold))', 'lse.sub(lambda.mul(settings.threshold))')], 'test/losses/mocan.test.ts'),
    'mocan gradient E[c] - d': ('src/losses/mocan.ts', [('return settings.threshold - tiltedCost(rewards, costs, lambda, settings.beta);', 'return tiltedCost(rewards, costs, lambda, settings.beta) - settings.threshold;')], 'test/losses/mocan.test.ts'),
    'mocan bisection steps the wrong way': ('src/losses/mocan.ts', [('    if (grad(mid) < 0) lo = mid;', '    if (grad(mid) > 0) lo = mid;')], 'test/losses/mocan.test.ts'),
    'mocan relabel r + lambda*c': ('src/algorithms/mocan/train.ts', [('(rs[2 * i] as number) - lambda * (cs[2 * i] as number), (rs[2 * i + 1] as number) - lambda * (cs[2 * i + 1] as number)', '(rs[2 * i] as number) + lambda * (cs[2 * i] as number), (rs[2 * i + 1] as number) + lambda * (cs[2 * i + 1] as number)')], 'test/algorithms/mocan-train.test.ts'),
    'mocan relabel: lower utility chosen': ('src/algorithms/dpo/pairs.ts', [('u0 > u1 ? 0 : 1', 'u0 < u1 ? 0 : 1')], 'test/algorithms/mocan-train.test.ts'),
    'alol ratio pi_ref/pi_theta': ('src/losses/alol.ts', [('const ratio = x.logProbs.detach().sub(x.refLogProbs).mul(x.mask).sum(1).exp()', 'const ratio = x.refLogProbs.sub(x.logProbs.detach()).mul(x.mask).sum(1).exp()')], 'test/losses/alol.test.ts'),
    'alol seq ratio pi_ref/pi_theta': ('src/losses/alol.ts', [('const ratio = x.logProbs.detach().sub(x.refLogProbs).exp()', 'const ratio = x.refLogProbs.sub(x.logProbs.detach()).exp()')], 'test/losses/alol.test.ts'),
    'alol kl penalty rewards distance': ('src/losses/alol.ts', [('.add(x.logProbs.sub(x.refLogProbs).mul(x.mask).sum(1).mul(s.beta))', '.sub(x.logProbs.sub(x.refLogProbs).mul(x.mask).sum(1).mul(s.beta))')], 'test/losses/alol.test.ts'),
    'alol ascends the NLL': ('src/losses/alol.ts', [('const nll = x.logProbs.neg().mul(x.mask);', 'const nll = x.logProbs.mul(x.mask);')], 'test/losses/alol.test.ts'),
    'alol trainer: advantage V - R': ('src/algorithms/alol/train.ts', [('const advantage = (scored.rewards[i] as number) - (scored.values[i] as number);', 'const advantage = (scored.values[i] as number) - (scored.rewards[i] as number);')], 'test/algorithms/alol-train.test.ts'),
    'alol value: cost added (r + nu*c)': ('src/algorithms/alol/value.ts', [('return r.map((x, i) => x - judges.costWeight * (c[i] as number));', 'return r.map((x, i) => x + judges.costWeight * (c[i] as number));')], 'test/algorithms/alol-train.test.ts'),
    'dpo soft labels swapped (eps for 1 - eps)': ('src/losses/dpo.ts', [('pairEps ? z.logsigmoid().mul(pairEps.neg().add(1)).neg().sub(z.neg().logsigmoid().mul(pairEps))', 'pairEps ? z.logsigmoid().mul(pairEps).neg().sub(z.neg().logsigmoid().mul(pairEps.neg().add(1)))')], 'test/losses/dpo.test.ts'),
    'mocan soft label sigma(+margin)': ('src/algorithms/dpo/pairs.ts', [('labelSmoothing: 1 / (1 + Math.exp(margin))', 'labelSmoothing: 1 / (1 + Math.exp(-margin))')], 'test/algorithms/mocan-train.test.ts'),
    'ipo target +1/2': ('src/losses/dpo.ts', [('z.sub(0.5).div(beta).pow(2)', 'z.add(0.5).div(beta).pow(2)')], 'test/losses/dpo.test.ts'),
    'lora delta subtracted': ('src/models/linear.ts', [('(t) => t.mul(ad.scale),', '(t) => t.mul(-ad.scale),')], 'test/models/lora.test.ts'),
    'lora merge subtracts': ('src/models/linear.ts', [('this.weight.copy_(this.weight.add(', 'this.weight.copy_(this.weight.sub(')], 'test/models/lora.test.ts'),
    'ddp: gradients not summed over the ranks': ('src/algorithms/common/training-run.ts', [('        job.sumGradients(params);\n', '')], 'test/distributed/data-parallel.test.ts'),
    'ddp: shares weighted by items, not tokens': ('src/algorithms/common/training-run.ts', [('(out.weight ?? share.items.length)', 'share.items.length')], 'test/distributed/data-parallel.test.ts'),
    'ddp: an empty share weighs 1': ('src/algorithms/common/training-run.ts', [('share.standIn ? 0 :', 'share.standIn ? 1 :')], 'test/distributed/data-parallel.test.ts'),
    'ddp: shares overlap': ('src/distributed/data-parallel.ts', [('const start = rank * base + Math.min(rank, extra);', 'const start = rank * base;')], 'test/distributed/data-parallel.test.ts'),
    'ddp rl: actor gradients not summed': ('src/algorithms/rl/actor-update.ts', [('    share.job.sumGradients(params);\n', '')], 'test/distributed/rl-data-parallel.test.ts'),
    'ddp rl: critic gradients not summed': ('src/algorithms/rl/critic-update.ts', [('    job.sumGradients(params);\n', '')], 'test/distributed/rl-data-parallel.test.ts'),
    'ddp rl: token-mean policy loss weighted by rows': ('src/algorithms/rl/policy-loss.ts', [('units: (mask, config) => MASKED_MEAN_UNITS[config.lossAggregation](mask),', 'units: (mask) => mask.shape[0] as number,')], 'test/distributed/rl-data-parallel.test.ts'),
    'ddp rl: PTX weighted by examples, not tokens': ('src/algorithms/rl/actor-update.ts', [('weight(() => ptx.tokens,', 'weight(() => ptxExamples.length,')], 'test/distributed/rl-data-parallel.test.ts'),
    'ddp: resume restores the weights but not the optimiser': ('src/algorithms/common/checkpoint.ts', [('  opt.loadStateDict(saved.optim);\n', '')], 'test/distributed/fault.test.ts'),
    'ddp: survivors do not check in after a failed collective': ('src/distributed/group.ts', [("      native.storeSet(this.store, `lost/${this.rank}`, '1');\n", '')], 'test/distributed/fault.test.ts'),
    'ddp: gathered rows in reverse rank order': ('src/distributed/data-parallel.ts', [('return cat(parts.map((p, r) => p.narrow(0, 0, counts[r] as number)), 0);', 'return cat(parts.reverse().map((p, r) => p.narrow(0, 0, counts[r] as number)), 0);')], 'test/distributed/rl-data-parallel.test.ts'),
    'generate: every row continues from the first prompt\'s cache': ('src/models/generate.ts', [('      unique.push(r);\n    }\n    return i;', '      unique.push(r);\n    }\n    return 0;')], 'test/models/generate-early-exit.test.ts'),
    # scoring by length buckets: each bucket's per-position results go back to its own columns and rows
    'length buckets forget their start column': ('src/algorithms/rl/length-buckets.ts', [('const left = b.start + b.width - shift - w;', 'const left = b.width - shift - w;')], 'test/algorithms/length-buckets.test.ts'),
    'length buckets: rows back in bucket order': ('src/algorithms/rl/length-buckets.ts', [('order.forEach((r, i) => (inverse[r] = i));', 'order.forEach((r, i) => (inverse[i] = i));')], 'test/algorithms/length-buckets.test.ts'),
    # the actor update's entropy bonus, by length bucket: each response token's own distribution
    'actor entropy read one position late': ('src/algorithms/rl/response-passes.ts', [('tokenEntropy(logits.narrow(1, 0, w))', 'tokenEntropy(logits.narrow(1, 1, w))')], 'test/rl/entropy-bandit.test.ts'),
    'last layer: kept queries from the first positions': ('src/models/attention.ts', [('query.narrow(1, l - keep, keep)', 'query.narrow(1, 0, keep)')], 'test/models/keep-positions.test.ts'),
    'critic values: last layer one column short': ('src/algorithms/rl/response-passes.ts', [('const columns = (b: LengthBucket) => b.start + b.width - (L - 1);', 'const columns = (b: LengthBucket) => b.start + b.width - L;')], 'test/algorithms/length-buckets.test.ts'),
    'preallocated KV cache: each step writes at position 0': ('src/models/attention.ts', [('const slot = buffer.narrow(2, past.length, l);', 'const slot = buffer.narrow(2, 0, l);')], 'test/models/generate-early-exit.test.ts'),
    'Conv1D layout: bias left out of the fused product': ('src/models/linear.ts', [('const out = linear(x, transposed, bias);', 'const out = linear(x, transposed, null);')], 'test/models/linear-in-out.test.ts'),
    'update buckets: a bucket\'s log-probs one column short': ('src/algorithms/rl/response-passes.ts', [('sequenceLogProbs(lm, ids, m, columns(b), embeds(ids, b))', 'sequenceLogProbs(lm, ids, m, columns(b) - 1, embeds(ids, b))')], 'test/algorithms/length-buckets.test.ts'),
    # generation's shrinking batch: the KV cache rows kept must be those of the rows still running
    'attention scores multiplied by sqrt(hd), not divided': ('src/models/attention.ts', [('return attention(q, k, v, bias, 1 / Math.sqrt(q.shape[3] as number));', 'return attention(q, k, v, bias, Math.sqrt(q.shape[3] as number));')], 'test/models/models.test.ts'),
    'generate: temperature multiplies the logits': ('src/models/generate.ts', [('if (temperature !== 1) x = x.div(temperature);', 'if (temperature !== 1) x = x.mul(temperature);')], 'test/models/models.test.ts'),
    'generate keeps the first rows of the cache, not the running ones': ('src/models/generate.ts', [('const keepAt = tensor(rows.flatMap((r, i) => (still[r] ? [i] : [])), ', 'const keepAt = tensor(rows.filter((r) => still[r]).map((_, i) => i), ')], 'test/models/generate-early-exit.test.ts'),
    # the critic-free methods (GRPO, safe GRPO, RLOO-Lagrangian), caught by their own bandit
    'group baseline inverted': ('src/rl/group.ts', [('const centred = g.sub(g.mean(1, true));', 'const centred = g.mean(1, true).sub(g);')], 'test/rl/critic-free-bandit.test.ts'),
    'leave-one-out baseline inverted': ('src/rl/group.ts', [('g.mul(groupSize).sub(g.sum(1, true))', 'g.sum(1, true).sub(g.mul(groupSize))')], 'test/rl/critic-free-bandit.test.ts'),
    'k3 term rewards distance': ('src/losses/ppo.ts', [('perToken = perToken.add(k3.mul(opts.kl.coef));', 'perToken = perToken.sub(k3.mul(opts.kl.coef));')], 'test/rl/critic-free-bandit.test.ts'),
    'grpo R + w*C': ('src/algorithms/grpo/method.ts', [('r.reward.sub(cost.mul(config.costWeight))', 'r.reward.add(cost.mul(config.costWeight))')], 'test/rl/critic-free-bandit.test.ts'),
    'critic-free A_r + lambda*A_c': ('src/rl/advantage.ts', [('rewardAdvantages.mul(1 - w).sub(costAdvantages.mul(w))', 'rewardAdvantages.mul(1 - w).add(costAdvantages.mul(w))')], 'test/rl/critic-free-bandit.test.ts'),
    'critic-free lambda steps the wrong way': ('src/rl/lagrange.ts', [('s.logLambda -= this.config.lr', 's.logLambda += this.config.lr')], 'test/rl/critic-free-bandit.test.ts'),
    'critic-free cost score negated': ('src/algorithms/ppo-lag/method.ts', [('cost: klShapedScores(r.cost, r.kl', 'cost: klShapedScores(r.cost.neg(), r.kl')], 'test/rl/critic-free-bandit.test.ts'),
    'rloo KL bonus (reward stream)': ('src/algorithms/ppo-lag/method.ts', [('reward: klShapedScores(r.reward, r.kl, r.mask, -config.klCoef', 'reward: klShapedScores(r.reward, r.kl, r.mask, config.klCoef')], 'test/rl/critic-free-bandit.test.ts'),
    # best-of-N and rejection-sampling fine-tuning: Llama 2's score rule
    'best-of-n safety score sigma(+c) (picks the max-cost response)': ('src/algorithms/best-of-n/rule.ts', [('export const safetyScore = (c: ScoredCandidate): number => sigmoid(-c.cost);', 'export const safetyScore = (c: ScoredCandidate): number => sigmoid(c.cost);')], 'test/algorithms/best-of-n-rule.test.ts'),
    'best-of-n picks the lowest R_c': ('src/algorithms/best-of-n/rule.ts', [('if (s > bestScore) [best, bestScore] = [i, s];', 'if (-s > bestScore) [best, bestScore] = [i, -s];')], 'test/algorithms/best-of-n-rule.test.ts'),
    'best-of-n risky prompts ranked by helpfulness': ('src/algorithms/best-of-n/rule.ts', [('const score = risky || safety < safetyThreshold ? safety : helpfulnessScore(c);', 'const score = !risky && safety < safetyThreshold ? safety : helpfulnessScore(c);')], 'test/algorithms/best-of-n-rule.test.ts'),
    'rsft trains on the mirror of the best sample': ('src/algorithms/rsft/train.ts', [('return i * K + pickBest(cands, p.risky, config.rule);', 'return i * K + (K - 1 - pickBest(cands, p.risky, config.rule));')], 'test/cli/train-rsft.test.ts'),
    'pipeline best-of-n ignores the prompt kind': ('src/pipeline/evaluate-policy.ts', [('return i * n + pickBest(cands, p.risky, rule);', 'return i * n + pickBest(cands, false, rule);')], 'test/pipeline/best-of-n-responder.test.ts'),
    # P3O (pairwise PPO), caught by its bandit
    'p3o pair difference inverted': ('src/algorithms/rl/estimators.ts', [('leaveOneOutAdvantages(sequenceScores(tokenScores, mask), 2)', 'leaveOneOutAdvantages(sequenceScores(tokenScores, mask), 2).neg()')], 'test/rl/p3o-bandit.test.ts'),
    'p3o KL folded in as a bonus': ('src/algorithms/p3o/method.ts', [('r.mask, -config.klCoef', 'r.mask, config.klCoef')], 'test/rl/p3o-bandit.test.ts'),
    'p3o clip min for max': ('src/losses/p3o.ts', [('advantages.neg().mul(ratio).maximum(', 'advantages.neg().mul(ratio).minimum(')], 'test/losses/p3o.test.ts'),
    'p3o joint ratio inverted': ('src/losses/p3o.ts', [('ratio = pairs.select(1, 0).sub(pairs.select(1, 1)).exp();', 'ratio = pairs.select(1, 1).sub(pairs.select(1, 0)).exp();')], 'test/rl/p3o-bandit.test.ts'),
    # PPO-max switches
    'normalised reward negated': ('src/algorithms/rl/score-normalization.ts', [('normalise(reward, view.reward)', 'normalise(reward, view.reward).neg()')], 'test/rl/ppo-max.test.ts'),
    'advantage clip one-sided': ('src/algorithms/rl/advantages.ts', [('whitened.clamp(-clip, clip)', 'whitened.clamp(-Infinity, clip)')], 'test/rl/ppo-max.test.ts'),
    'entropy bonus as a penalty': ('src/algorithms/rl/actor-update.ts', [('terms.push({ loss: bonus.loss,', 'terms.push({ loss: bonus.loss.neg(),')], 'test/rl/entropy-bandit.test.ts'),
    'entropy loss sign (+coef*H)': ('src/losses/entropy.ts', [('.mul(-coef)', '.mul(coef)')], 'test/losses/entropy.test.ts'),
    # per-category constraints
    'per-row A_r + lambda*A_c': ('src/rl/advantage.ts', [('return rewardAdvantages.mul(w.neg().add(1)).sub(costAdvantages.mul(w));', 'return rewardAdvantages.mul(w.neg().add(1)).add(costAdvantages.mul(w));')], 'test/rl/category-lagrange.test.ts'),
    'category threshold ignored': ('src/rl/category-lagrange.ts', [('threshold: this.thresholds[category] ?? this.config.threshold', 'threshold: this.config.threshold')], 'test/rl/category-lagrange.test.ts'),
    'per-category lambda steps the wrong way': ('src/rl/lagrange.ts', [('s.logLambda -= this.config.lr', 's.logLambda += this.config.lr')], 'test/rl/category-bandit.test.ts'),
    'per-category update on negated costs': ('src/rl/category-lagrange.ts', [('const out = this.multiplier(k).update(cs);', 'const out = this.multiplier(k).update(cs.map((c) => -c));')], 'test/rl/category-bandit.test.ts'),
    'rows combined with another category\'s lambda': ('src/algorithms/ppo-lag/constraints.ts', [('rowLambdas = out.rowLambdas;', 'rowLambdas = [...out.rowLambdas].reverse();')], 'test/rl/category-bandit.test.ts'),
    'rows labelled with another prompt\'s category': ('src/algorithms/rl/train.ts', [("categories: picked.map((i) => prompts[i]?.category ?? '')", "categories: picked.map((i) => prompts[(i + 1) % prompts.length]?.category ?? '')")], 'test/pipeline/category-split.test.ts'),
    'world prompt category dropped': ('src/pipeline/jsonl-lines.ts', [("...(p.category ? { category: p.category } : {})", "...{}")], 'test/pipeline/category-split.test.ts'),
    'category harm counts the safe responses': ('src/eval/category-harm.ts', [('if (!safe[i]) c.unsafe += 1;', 'if (safe[i]) c.unsafe += 1;')], 'test/eval/category-harm.test.ts'),
    'annotate: a tie decision overrules a clear majority': ('src/annotate/aggregate.ts', [('if (!m.tie) return m.winner;', 'if (!m.tie && decision[name] === undefined) return m.winner;')], 'test/annotate/units.test.ts'),
    'annotate: a tie decision is ignored': ('src/annotate/aggregate.ts', [('const d = decision[name] as C | undefined;', 'const d = undefined as C | undefined;')], 'test/annotate/units.test.ts'),
    # reward / cost ensembles (UP-RLHF, BRME) and their use in RL
    'ensemble uncertainty rewards disagreement (mean + k*std)': ('src/rl/ensemble.ts', [('mean().sub(x.std(0, { unbiased: false }).mul(spec.k))', 'mean().add(x.std(0, { unbiased: false }).mul(spec.k))')], 'test/rl/ensemble.test.ts'),
    'ensemble pessimism direction swapped': ('src/rl/ensemble.ts', [("const sign = worse === 'lower' ? 1 : -1;", "const sign = worse === 'lower' ? -1 : 1;")], 'test/rl/ensemble.test.ts'),
    'ensemble robust weights swapped': ('src/rl/ensemble.ts', [('mean().mul(spec.lambda).add(worst().mul(1 - spec.lambda))', 'mean().mul(1 - spec.lambda).add(worst().mul(spec.lambda))')], 'test/rl/ensemble.test.ts'),
    'RL cost ensemble: worst = the lowest cost': ('src/algorithms/score/ensemble.ts', [("reward: 'lower', cost: 'higher' }", "reward: 'lower', cost: 'lower' }")], 'test/algorithms/ensemble-rl.test.ts'),
    # MiCRo's mixture likelihood and Hedge routing; the weak-to-strong confidence loss
    'micro: mixture of sigma(r_l - r_w)': ('src/losses/micro.ts', [('.add(betterScores.sub(worseScores).logsigmoid()).logsumexp(1)', '.add(worseScores.sub(betterScores).logsigmoid()).logsumexp(1)')], 'test/losses/micro.test.ts'),
    'micro: likelihood ascended': ('src/losses/micro.ts', [('const loss = logProb.mean().neg().add(', 'const loss = logProb.mean().add(')], 'test/losses/micro.test.ts'),
    'micro: hedge rewards the losing head': ('src/losses/micro.ts', [('return logPrior.sub(cumulativeLoss.mul(eta)).logSoftmax(-1);', 'return logPrior.add(cumulativeLoss.mul(eta)).logSoftmax(-1);')], 'test/losses/micro.test.ts'),
    'w2s: hardened labels inverted': ('src/losses/weak-to-strong.ts', [('p.map((x) => (x >= t ? 1 : 0))', 'p.map((x) => (x >= t ? 0 : 1))')], 'test/losses/weak-to-strong.test.ts'),
    'w2s: cross-entropy against 1 - target': ('src/losses/weak-to-strong.ts', [('const loss = target.mul(margins.logsigmoid()).add(target.neg().add(1).mul(margins.neg().logsigmoid()))', 'const loss = target.mul(margins.neg().logsigmoid()).add(target.neg().add(1).mul(margins.logsigmoid()))')], 'test/losses/weak-to-strong.test.ts'),
    'w2s: weak weight alpha (not 1 - alpha)': ('src/losses/weak-to-strong.ts', [('const target = weakLabels.mul(1 - alpha).add(hard.mul(alpha));', 'const target = weakLabels.mul(alpha).add(hard.mul(1 - alpha));')], 'test/losses/weak-to-strong.test.ts'),
    'micro trainer: heads trained on the other response': ('src/algorithms/micro/train.ts', [('return { better: out.endScores.narrow(0, 0, n), worse: out.endScores.narrow(0, n, n), router: out.routerLogits.narrow(0, 0, n) };', 'return { better: out.endScores.narrow(0, n, n), worse: out.endScores.narrow(0, 0, n), router: out.routerLogits.narrow(0, 0, n) };')], 'test/algorithms/micro-train.test.ts'),
    'micro prediction: sigma(r_l - r_w)': ('src/algorithms/micro/train.ts', [('const probs = logW.exp().mul(s.better.sub(s.worse).sigmoid()).sum(1).toNumbers();', 'const probs = logW.exp().mul(s.worse.sub(s.better).sigmoid()).sum(1).toNumbers();')], 'test/algorithms/micro-train.test.ts'),
    'w2s trainer: student margin r_1 - r_0': ('src/algorithms/weak-to-strong/train.ts', [('const margins = (r0 as NonNullable<typeof r0>).sub(r1 as NonNullable<typeof r1>);', 'const margins = (r1 as NonNullable<typeof r1>).sub(r0 as NonNullable<typeof r0>);')], 'test/algorithms/weak-to-strong.test.ts'),
    'w2s weak labels sigma(r_1 - r_0)': ('src/algorithms/weak-to-strong/train.ts', [('const p = (r0 as NonNullable<typeof r0>).sub(r1 as NonNullable<typeof r1>).sigmoid().toNumbers();', 'const p = (r1 as NonNullable<typeof r1>).sub(r0 as NonNullable<typeof r0>).sigmoid().toNumbers();')], 'test/algorithms/weak-to-strong.test.ts'),
    'world: brief annotators prefer longer answers': ('src/world/annotators.ts', [('brief: (t) => ({ lengthBias: -t.lengthWeight }),', 'brief: (t) => ({ lengthBias: t.lengthWeight }),')], 'test/world/annotators.test.ts'),
    'world: cautious annotators favour harmful words': ('src/world/annotators.ts', [('- (a.harmAversion ?? 0) * harmDiff;', '+ (a.harmAversion ?? 0) * harmDiff;')], 'test/world/annotators.test.ts'),
    # the server: per-row sampling, continuous batching, the guardrail
    'serve: top-p keeps the tail': ('src/models/generate.ts', [('const drop = probs.cumsum(1).sub(probs).ge(p);', 'const drop = probs.cumsum(1).sub(probs).lt(p);')], 'test/serve/batcher.test.ts'),
    'serve: inverse CDF counts from the top': ('src/serve/sampling.ts', [('const sampled = cum.lt(u).sum(1)', 'const sampled = cum.gt(u).sum(1)')], 'test/serve/batcher.test.ts'),
    'serve: joining rows padded on the right': ('src/serve/batcher.ts', [('return cat([zeros(shape, { dtype: t.dtype, device: t.device }), t], dim);', 'return cat([t, zeros(shape, { dtype: t.dtype, device: t.device })], dim);')], 'test/serve/batcher.test.ts'),
    'serve: leaving rows trim the newest columns': ('src/serve/batcher.ts', [('const from = (s.mask.shape[1] as number) - length;', 'const from = 0;')], 'test/serve/batcher.test.ts'),
    'serve: a possible stop-string start is sent': ('src/serve/text-stream.ts', [('return this.emitUpTo(text.length - this.heldBack(text), text);', 'return this.emitUpTo(text.length, text);')], 'test/serve/text-stream.test.ts'),
    'guard flags the low-cost answers': ('src/serve/guard.ts', [('if (a.cost !== undefined && !(a.cost <= this.config.threshold)) return true;', 'if (a.cost !== undefined && !(a.cost >= this.config.threshold)) return true;')], 'test/serve/guard.test.ts'),
    # HC-RLHF: the bound, the safety test, the candidate's inflated J_c
    'hc safety bound c - t*s/sqrt(n)': ('src/rl/hc-rlhf.ts', [('const upperBound = mean + (studentTQuantile(', 'const upperBound = mean - (studentTQuantile(')], 'test/rl/hc-rlhf.test.ts'),
    'hc safety test passes above tau': ('src/rl/hc-rlhf.ts', [('passed: upperBound <= settings.tau', 'passed: upperBound >= settings.tau')], 'test/rl/hc-rlhf.test.ts'),
    'hc t quantile at delta (not 1 - delta)': ('src/rl/hc-rlhf.ts', [('studentTQuantile(1 - settings.delta, n - 1)', 'studentTQuantile(settings.delta, n - 1)')], 'test/rl/hc-rlhf.test.ts'),
    'hc inflation minus the safety term': ('src/rl/hc-rlhf.ts', [('return c1 * term(nBatch) + c2 * term(nSafety);', 'return c1 * term(nBatch) - c2 * term(nSafety);')], 'test/rl/hc-rlhf.test.ts'),
    'candidate J_c = mean - k*std': ('src/rl/lagrange.ts', [('return mean + k * Math.sqrt(variance);', 'return mean - k * Math.sqrt(variance);')], 'test/rl/hc-rlhf.test.ts'),
    'hc-rlhf returns the model when the test fails': ('src/algorithms/hc-rlhf/folders.ts', [('if (main && out.passed) savePretrained(config.out', 'if (main && !out.passed) savePretrained(config.out')], 'test/cli/train-hc-rlhf.test.ts'),
    # HC-RLHF's empirical guarantee: a failure is a returned model above the budget; the truth stops sampling only when decided
    'guarantee: failure = true cost below the budget': ('src/eval/hc-guarantee.ts', [('returned.filter((r) => cost(r) > budget)', 'returned.filter((r) => cost(r) < budget)')], 'test/eval/hc-guarantee.test.ts'),
    'guarantee: the rejected models counted as returned': ('src/eval/hc-guarantee.ts', [('options.tested === false || r.passed', 'options.tested === false || !r.passed')], 'test/eval/hc-guarantee.test.ts'),
    'world truth: stops while undecided': ('src/pipeline/hc-guarantee-world.ts', [('if (Math.abs(m - budgets.tau) > DECISIVE_SE', 'if (Math.abs(m - budgets.tau) < DECISIVE_SE')], 'test/pipeline/hc-guarantee-world.test.ts'),
    'world table: uninflated not retested at delta': ('src/pipeline/hc-guarantee-world.ts', [('retest(uninflated.get(r.seed) as WorldRun, settings.tau, delta)', 'retest(uninflated.get(r.seed) as WorldRun, settings.tau + 2, delta)')], 'test/pipeline/hc-guarantee-world.test.ts'),
    'hc_guarantee part: tested against -tau': ('src/pipeline/run.ts', [('      tau: threshold,', '      tau: -threshold,')], 'test/pipeline/hc-guarantee-part.test.ts'),
    'hc_guarantee report: no solution shown as the returned count': ('src/pipeline/robust-report.ts', [('String(x.hcRlhf.seeds - x.hcRlhf.returned),', 'String(x.hcRlhf.returned),')], 'test/pipeline/hc-guarantee-part.test.ts'),
    'micro over seeds: BT - MiCRo': ('src/algorithms/micro/compare.ts', [('pairedDifference(of((a) => a.micro), of((a) => a.single))', 'pairedDifference(of((a) => a.single), of((a) => a.micro))')], 'test/algorithms/micro-seeds.test.ts'),
    'type preference: sigma(-logit)': ('src/eval/type-preference.ts', [('1 / (1 + Math.exp(-helpfulnessLogit(taste, it)))', '1 / (1 + Math.exp(helpfulnessLogit(taste, it)))')], 'test/world/annotators.test.ts'),
    'micro RL reward: heads averaged, weights ignored': ('src/algorithms/micro/scorer.ts', [('return { endScores: endScores.matmul(this.w) };', 'return { endScores: endScores.mean(1) };')], 'test/algorithms/micro-seeds.test.ts'),
    'micro group weights: Hedge rewards the losing head': ('src/algorithms/micro/compare.ts', [('const logits = losses.map((l) => -eta * l);', 'const logits = losses.map((l) => eta * l);')], 'test/algorithms/micro-seeds.test.ts'),
    'pooled guarantee: Wilson interval over the returned models': ('src/eval/hc-guarantee.ts', [('const ci = wilsonInterval(failures, seeds);', 'const ci = wilsonInterval(failures, returned);')], 'test/pipeline/hc-guarantee-world.test.ts'),
    # RLAIF labelling: the swapped order mapped back, safety deciding a harmlessness tie, the judged labels written
    'label: swapped order not mapped back': ('src/label/verdicts.ts', [('const second = pickedResponse(swapped, 1);', 'const second = pickedResponse(swapped, 0);')], 'test/label/label.test.ts'),
    'label: a harmlessness tie goes to the unsafe response': ('src/label/verdicts.ts', [('    safer = safeOne;', '    safer = safeOne === 0 ? 1 : 0;')], 'test/label/verdicts.test.ts'),
    'label: verdict B read as response 0': ('src/label/verdicts.ts', [("return verdict === 'A' ? shownFirst : shownFirst === 0 ? 1 : 0;", "return verdict === 'B' ? shownFirst : shownFirst === 0 ? 1 : 0;")], 'test/label/label.test.ts'),
    # process groups (c10d): the average, the broadcast root, the ranks named as lost
    'dist: avg left as a sum': ('src/distributed/group.ts', [('list.map((t) => t.handle), op))', "list.map((t) => t.handle), op === 'avg' ? 'sum' : op))")], 'test/distributed/group.test.ts'),
    'dist: broadcast from rank 0 whatever the root': ('src/distributed/group.ts', [('native.broadcast(this.group, [tensor.handle], root)', 'native.broadcast(this.group, [tensor.handle], 0)')], 'test/distributed/group.test.ts'),
    'dist: the ranks that answered named as lost': ('src/distributed/group.ts', [('return keys.filter((k) => !native.storeCheck(store, [k]));', 'return keys.filter((k) => native.storeCheck(store, [k]));')], 'test/distributed/group.test.ts'),
    # diversity metrics: a similarity read as its opposite, a penalty that rewards
    'rouge-l recall over the candidate length': ('src/eval/diversity.ts', [('const r = m / b.length;', 'const r = m / a.length;')], 'test/eval/diversity.test.ts'),
    'bleu brevity penalty on long candidates': ('src/eval/diversity.ts', [('const bp = cand.length > closest ? 1 : Math.exp(1 - closest / cand.length);', 'const bp = cand.length < closest ? 1 : Math.exp(1 - cand.length / closest);')], 'test/eval/diversity.test.ts'),
    'bleu unclipped n-gram counts': ('src/eval/diversity.ts', [('matched[n] = (matched[n] as number) + Math.min(k, refMax(key));', 'matched[n] = (matched[n] as number) + (refMax(key) > 0 ? k : 0);')], 'test/eval/diversity.test.ts'),
    'self-bleu keeps the candidate among its references': ('src/eval/diversity.ts', [('return t.holder === i ? t.second : t.first;', 'return t.first;')], 'test/eval/diversity.test.ts'),
    'cosine similarity reported as distance': ('src/eval/diversity.ts', [('return 1 - (sumSq - rows) / 2 / ((rows * (rows - 1)) / 2);', 'return (sumSq - rows) / 2 / ((rows * (rows - 1)) / 2);')], 'test/eval/diversity.test.ts'),
    'mean pool over padding too': ('src/eval/diversity.ts', [('return hidden.mul(m).sum(1).div(m.sum(1).clamp(1));', 'return hidden.mean(1);')], 'test/eval/diversity.test.ts'),
    'overoptimisation: best-of-N picks the lowest proxy': ('src/eval/overoptimisation.ts', [('(x.proxy > best.proxy ? x : best)', '(x.proxy < best.proxy ? x : best)')], 'test/eval/overoptimisation.test.ts'),
    'overoptimisation: gold peak at the lowest gold': ('src/eval/overoptimisation.ts', [('(p.gold > best.gold ? p : best)', '(p.gold < best.gold ? p : best)')], 'test/eval/overoptimisation.test.ts'),
    'overoptimisation: drop measured final - peak': ('src/eval/overoptimisation.ts', [('const drop = peak.gold - final.gold;', 'const drop = final.gold - peak.gold;')], 'test/eval/overoptimisation.test.ts'),
    'overoptimisation: KL axis from the proxy': ('src/eval/overoptimisation.ts', [('const kl = mean(bin.map((r) => r.kl));', 'const kl = mean(bin.map((r) => r.reward));')], 'test/eval/overoptimisation.test.ts'),
    'overoptimisation seeds: ppo - remedy': ('src/pipeline/overoptimisation-seeds.ts', [('pairedDifference(both.map(([a]) => f(a)), both.map(([, b]) => f(b)))', 'pairedDifference(both.map(([, b]) => f(b)), both.map(([a]) => f(a)))')], 'test/eval/overoptimisation.test.ts'),
    # verbalized sampling: the parser must read percentages as such, renormalise, and never take a word's last letter for a label
    'verbalized: percent read as a fraction': ('src/models/verbalized.ts', [('probability: percent ? value / 100 : value', 'probability: value')], 'test/models/verbalized.test.ts'),
    'verbalized: weights not renormalised': ('src/models/verbalized.ts', [('weight: it.probability / statedSum', 'weight: it.probability')], 'test/models/verbalized.test.ts'),
    'verbalized: label may end a word': ('src/models/verbalized.ts', [('(?<![A-Za-z])(?:probability|prob|p)', '(?:probability|prob|p)')], 'test/models/verbalized.test.ts'),
    'verbalized: draw ignores the weights': ('src/models/verbalized.ts', [('if (u < acc) return i;', 'if (u < (i + 1) / answers.length) return i;')], 'test/models/verbalized.test.ts'),
    'vision: patches read column-major': ('src/models/vision.ts', [('.permute([0, 2, 4, 1, 3, 5])', '.permute([0, 4, 2, 1, 3, 5])')], 'test/models/vision.test.ts'),
    'vision: quick_gelu gate negated': ('src/models/activations.ts', [('const gate = x.mul(1.702).sigmoid();', 'const gate = x.mul(-1.702).sigmoid();')], 'test/models/vision.test.ts'),
    'vision: siglip post-norm skipped': ('src/models/vision.ts', [('siglip_vision_model: { classToken: false, preNorm: false, patchBias: true, normEveryToken: true }', 'siglip_vision_model: { classToken: false, preNorm: false, patchBias: true, normEveryToken: false }')], 'test/models/vision.test.ts'),
    'llava: class token kept, last patch dropped': ('src/models/llava.ts', [('(t) => t.narrow(1, this.visionTower.numTokens - p, p));', '(t) => t.narrow(1, 0, p));')], 'test/models/llava.test.ts'),
    'llava: feature layer one too early': ('src/models/llava.ts', [('this.visionTower.hiddenState(pixels, this.config.vision_feature_layer)', 'this.visionTower.hiddenState(pixels, this.config.vision_feature_layer - 1)')], 'test/models/llava.test.ts'),
    'image crop from the left edge': ('src/models/image-processor.ts', [('const left = Math.floor((raw.info.width - crop.width) / 2);', 'const left = 0;')], 'test/models/image-processor.test.ts'),
    'image normalised as (v - mean) * std': ('src/models/image-processor.ts', [('= (v * scale - mean) / std;', '= (v * scale - mean) * std;')], 'test/models/image-processor.test.ts'),
    'beavertails-v: response ids 1/2 read swapped': ('src/data/beavertails-v.ts', [('const toId = (n: 1 | 2): ResponseId => (n === 1 ? 0 : 1);', 'const toId = (n: 1 | 2): ResponseId => (n === 1 ? 1 : 0);')], 'test/data/beavertails-v.test.ts'),
    'llava score model: images not spliced': ('src/models/llava.ts', [('const out = this.languageModel.forward(inputIds, attentionMask, 0, embeds);', 'const out = this.languageModel.forward(inputIds, attentionMask, 0, undefined);')], 'test/models/llava.test.ts'),
    'multimodal world: oracle ignores the picture': ('src/world/oracle.ts', [('if (imageTopic === undefined) return topicOfPrompt(prompt);', 'if (imageTopic === undefined || imageTopic !== \'\') return topicOfPrompt(prompt);')], 'test/world/image-world.test.ts'),
    'multimodal trainers: batch images in reverse row order': ('src/algorithms/common/model-input.ts', [('return images.length > 0 ? cat(images, 0) : null;', 'return images.length > 0 ? cat(images.reverse(), 0) : null;')], 'test/algorithms/multimodal-train.test.ts'),
    'rl images: a selection of rows shows them reversed': ('src/algorithms/rl/images.ts', [('return new RowImages(this.pixels, rows.map((r) => this.imageOf[r] as number), this.shared, this.sharing);', 'return new RowImages(this.pixels, [...rows].reverse().map((r) => this.imageOf[r] as number), this.shared, this.sharing);')], 'test/rl/image-bandit.test.ts'),
    'rl images: every row shown the first image': ('src/algorithms/rl/train.ts', [('    return slot.get(i) as number;', '    return 0;')], 'test/rl/image-bandit.test.ts'),
    'rl images: tower states of the wrong rows': ('src/algorithms/rl/images.ts', [("const index = tensor(images, { dtype: 'int64' });", "const index = tensor([...images].reverse(), { dtype: 'int64' });")], 'test/rl/image-bandit.test.ts'),
    'rl images: updates see other rows\' images': ('src/algorithms/rl/ppo-update.ts', [('const images = rollout.images?.select(share.items);', 'const images = rollout.images?.select([...share.items].reverse());')], 'test/rl/image-bandit.test.ts'),
    # devices: a tensor made inside from host data that does not follow its inputs' device (test/torch/device.test.ts runs CPU data under a meta default device)
    'device: causal mask positions on the default device': ('src/models/attention.ts', [('const q = arange(past, keyLength, 1, { device })', 'const q = arange(past, keyLength, 1)')], 'test/torch/device.test.ts'),
    'device: GAE advantages on the default device': ('src/rl/gae.ts', [('{ shape: [b, t], device }), returns', '{ shape: [b, t] }), returns')], 'test/torch/device.test.ts'),
    'device: generation running mask on the default device': ('src/models/generate.ts', [("let running = ones([b], { dtype: 'bool', device });", "let running = ones([b], { dtype: 'bool' });")], 'test/torch/device.test.ts'),
    'device: SFT response mask on the default device': ('src/algorithms/sft/train.ts', [('const mask = tensor(response, { device })', 'const mask = tensor(response)')], 'test/torch/device.test.ts'),
    'device: normalised scores on the default device': ('src/algorithms/rl/score-normalization.ts', [('return tensor(xs.map((x) => n.normalize(x)), { device: scores.device });', 'return tensor(xs.map((x) => n.normalize(x)));')], 'test/torch/device.test.ts'),
    'beavertails-v writer: more helpful response id swapped': ('src/data/beavertails-v.ts', [('more_helpful_response_id: n(record.betterResponseId),', 'more_helpful_response_id: n((1 - record.betterResponseId) as ResponseId),')], 'test/world/image-world.test.ts'),
    'vision pretraining ascends its cross-entropy': ('src/algorithms/vision-pretrain/train.ts', [('const loss = crossEntropy(out.shape, b.shape).add(crossEntropy(out.colour, b.colour));', 'const loss = crossEntropy(out.shape, b.shape).add(crossEntropy(out.colour, b.colour)).neg();')], 'test/algorithms/vision-pretrain.test.ts'),
    'rl images: a process scores its share with the whole batch\'s images': ('src/algorithms/rl/scoring.ts', [('images: rollout.images?.select(share.items) },', 'images: rollout.images },')], 'test/distributed/rl-data-parallel.test.ts'),
}
TEST = 'test/rl/constrained-bandit.test.ts'


def run(name):
    path, subs, *test = FLIPS[name]
    file = Path(path)
    original = file.read_text()
    flipped = original
    for old, new in subs:
        if flipped.count(old) != 1:
            return f'pattern not found once in {path}: {old!r} (the code moved; update this script)'
        flipped = flipped.replace(old, new)
    try:
        file.write_text(flipped)
        with tempfile.NamedTemporaryFile(suffix='.json') as report:
            subprocess.run(['npx', 'vitest', 'run', *(test or [TEST]), '--reporter=json', f'--outputFile={report.name}'], capture_output=True, text=True)
            results = json.loads(Path(report.name).read_text())
    finally:
        file.write_text(original)
    failed = [t['title'] for f in results['testResults'] for t in f['assertionResults'] if t['status'] != 'passed']
    return failed


names = sys.argv[1:] or list(FLIPS)
uncaught = []
for name in names:
    out = run(name)
    if isinstance(out, str):
        print(f'{name}: {out}', flush=True)
        uncaught.append(name)
        continue
    print(f'{name}: {"CAUGHT by" if out else "NOT CAUGHT"}', flush=True)
    for title in out:
        print(f'    {title}', flush=True)
    if not out:
        uncaught.append(name)
sys.exit(1 if uncaught else 0)
