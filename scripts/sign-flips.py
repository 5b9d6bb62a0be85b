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
    'actor ascends -advantage': ('src/algorithms/rl/actor-update.ts', [('batch.oldLogProbs, batch.advantages, batch.mask', 'batch.oldLogProbs, batch.advantages.neg(), batch.mask')]),
    'lambda steps the wrong way': ('src/rl/lagrange.ts', [('s.logLambda -= this.config.lr', 's.logLambda += this.config.lr')]),
    'ppo clip inverted (min for max)': ('src/losses/ppo.ts', [('unclipped.maximum(clipped)', 'unclipped.minimum(clipped)')]),
    'ppo clip inverted (range swapped)': ('src/losses/ppo.ts', [('ratio.clamp(1 - opts.clipLow, 1 + opts.clipHigh)', 'ratio.clamp(1 + opts.clipHigh, 1 - opts.clipLow)')]),
    'A_r + lambda*A_c': ('src/rl/advantage.ts', [('.sub(costAdvantages.mul(w))', '.add(costAdvantages.mul(w))')]),
    'cost label sign (safe = +1)': ('src/losses/cost.ts', [('return isSafe.float().mul(-2).add(1);', 'return isSafe.float().mul(2).sub(1);')], 'test/losses/cost-labels.test.ts'),
    'score labels inverted (safe read as unsafe)': ('src/algorithms/score/items.ts', [("return tensor(items.map((it) => (it.isSafe[slot] ? 1 : 0)), { dtype: 'bool' });", "return tensor(items.map((it) => (it.isSafe[slot] ? 0 : 1)), { dtype: 'bool' });")], 'test/cli/train-data.test.ts'),
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
    'dpo trainer: reference log-probs swapped': ('src/algorithms/dpo/train.ts', [('refChosen: tensor(ref.map((r) => r[0])),', 'refChosen: tensor(ref.map((r) => r[1])),'), ('refRejected: tensor(ref.map((r) => r[1])),', 'refRejected: tensor(ref.map((r) => r[0])),')], 'test/algorithms/dpo-train.test.ts'),
    'safe-dpo trainer: offset negated': ('src/algorithms/dpo/train.ts', [('const out = preferenceLoss(lp, config, tensor(batch.map((p) => p.offset)));', 'const out = preferenceLoss(lp, config, tensor(batch.map((p) => -p.offset)));')], 'test/algorithms/dpo-train.test.ts'),
    'sacpo: stage 2 with beta*lambda': ('src/algorithms/dpo/sacpo.ts', [('beta: config.helpful.beta / config.lambda', 'beta: config.helpful.beta * config.lambda')], 'test/algorithms/sacpo.test.ts'),
    'ipo target +1/2': ('src/losses/dpo.ts', [('z.sub(0.5).div(beta).pow(2)', 'z.add(0.5).div(beta).pow(2)')], 'test/losses/dpo.test.ts'),
    'lora delta subtracted': ('src/models/linear.ts', [('(t) => t.mul(ad.scale),', '(t) => t.mul(-ad.scale),')], 'test/models/lora.test.ts'),
    'lora merge subtracts': ('src/models/linear.ts', [('this.weight.copy_(this.weight.add(', 'this.weight.copy_(this.weight.sub(')], 'test/models/lora.test.ts'),
    # the critic-free methods (GRPO, safe GRPO, RLOO-Lagrangian), caught by their own bandit
    'group baseline inverted': ('src/rl/group.ts', [('const centred = g.sub(g.mean(1, true));', 'const centred = g.mean(1, true).sub(g);')], 'test/rl/critic-free-bandit.test.ts'),
    'leave-one-out baseline inverted': ('src/rl/group.ts', [('g.mul(groupSize).sub(g.sum(1, true))', 'g.sum(1, true).sub(g.mul(groupSize))')], 'test/rl/critic-free-bandit.test.ts'),
    'k3 term rewards distance': ('src/losses/ppo.ts', [('perToken = perToken.add(k3.mul(opts.kl.coef));', 'perToken = perToken.sub(k3.mul(opts.kl.coef));')], 'test/rl/critic-free-bandit.test.ts'),
    'grpo R + w*C': ('src/algorithms/grpo/method.ts', [('r.reward.sub((r.cost', 'r.reward.add((r.cost')], 'test/rl/critic-free-bandit.test.ts'),
    'critic-free A_r + lambda*A_c': ('src/rl/advantage.ts', [('.sub(costAdvantages.mul(w))', '.add(costAdvantages.mul(w))')], 'test/rl/critic-free-bandit.test.ts'),
    'critic-free lambda steps the wrong way': ('src/rl/lagrange.ts', [('s.logLambda -= this.config.lr', 's.logLambda += this.config.lr')], 'test/rl/critic-free-bandit.test.ts'),
    'critic-free cost score negated': ('src/algorithms/ppo-lag/method.ts', [('cost: klShapedScores(r.cost, r.kl', 'cost: klShapedScores(r.cost.neg(), r.kl')], 'test/rl/critic-free-bandit.test.ts'),
    'rloo KL bonus (reward stream)': ('src/algorithms/ppo-lag/method.ts', [('reward: klShapedScores(r.reward, r.kl, r.mask, -config.klCoef', 'reward: klShapedScores(r.reward, r.kl, r.mask, config.klCoef')], 'test/rl/critic-free-bandit.test.ts'),
    'annotate: a tie decision overrules a clear majority': ('src/annotate/aggregate.ts', [('if (!m.tie) return m.winner;', 'if (!m.tie && decision[name] === undefined) return m.winner;')], 'test/annotate/units.test.ts'),
    'annotate: a tie decision is ignored': ('src/annotate/aggregate.ts', [('const d = decision[name] as C | undefined;', 'const d = undefined as C | undefined;')], 'test/annotate/units.test.ts'),
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
