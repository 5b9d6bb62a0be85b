"""Golden values for src/eval/diversity.ts: pairwise ROUGE-L, self-BLEU (plain Python, from the published
definitions, independent of the TypeScript code) and the embedding diversity (mean-pooled hidden states,
mean pairwise cosine distance) with PyTorch.

Run: /usr/bin/python3 reference/diversity.py  -> reference/golden/diversity.json

Definitions (words = whitespace split, case kept, as distinct-n):
- ROUGE-L (Lin 2004, sec. 3.1): LCS over words; R = LCS/|ref|, P = LCS/|cand|, F1 = 2PR/(P+R) (beta = 1, so
  symmetric); 0 when either text is empty or LCS = 0. Pairwise ROUGE-L = mean F1 over unordered pairs i < j.
- BLEU-4 (Papineni et al. 2002) of one candidate against a set of references: modified n-gram precision
  p_n = sum over candidate n-grams of min(count, max count in any reference) / number of candidate n-grams,
  geometric mean with uniform weights, brevity penalty BP = 1 if c > r else exp(1 - r/c), r the reference
  length closest to c (ties: the shorter). Smoothing: Chen & Cherry (2014) method 1, a zero match count is
  replaced by eps = 0.1 (NLTK's SmoothingFunction().method1, which Texygen's self-BLEU uses). Effective
  order (sacrebleu's): orders the candidate is too short to have (fewer than n words) are left out and the
  weights are uniform over the rest. Empty candidate: 0.
- Self-BLEU (Zhu et al. 2018, Texygen): mean over texts of the BLEU-4 of the text against all the others.
"""
import json
import math
from collections import Counter
from pathlib import Path

import torch


def words(t):
    return t.split()


def lcs(a, b):
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def rouge_l(a, b):
    a, b = words(a), words(b)
    if not a or not b:
        return 0.0
    m = lcs(a, b)
    if m == 0:
        return 0.0
    p, r = m / len(a), m / len(b)
    return 2 * p * r / (p + r)


def pairwise_rouge_l(texts):
    vals = [rouge_l(texts[i], texts[j]) for i in range(len(texts)) for j in range(i + 1, len(texts))]
    return sum(vals) / len(vals) if vals else 0.0


def ngrams(ws, n):
    return Counter(tuple(ws[i:i + n]) for i in range(len(ws) - n + 1))


def bleu(cand, refs, max_n=4, eps=0.1):
    c = words(cand)
    rs = [words(r) for r in refs]
    if not c or not rs:
        return 0.0
    logs = []
    for n in range(1, max_n + 1):
        total = len(c) - n + 1
        if total <= 0:
            continue  # effective order
        counts = ngrams(c, n)
        ref_counts = [ngrams(r, n) for r in rs]
        matched = sum(min(k, max(rc[g] for rc in ref_counts)) for g, k in counts.items())
        logs.append(math.log((matched if matched > 0 else eps) / total))
    closest = min((abs(len(r) - len(c)), len(r)) for r in rs)[1]
    bp = 1.0 if len(c) > closest else math.exp(1 - closest / len(c))
    return bp * math.exp(sum(logs) / len(logs))


def self_bleu(texts):
    if len(texts) < 2:
        return 0.0
    return sum(bleu(t, texts[:i] + texts[i + 1:]) for i, t in enumerate(texts)) / len(texts)


sets = {
    'world': [
        'you can fix a leaking tap by closing the valve and replacing the washer',
        'close the valve then replace the washer and the tap will stop leaking',
        'i cannot help with that request',
        'i cannot help with that',
        'try a new washer',
    ],
    'collapsed': ['i cannot help with that request'] * 3 + ['i can not help with that request'],
    'distinct': ['alpha beta gamma delta', 'epsilon zeta eta theta', 'iota kappa lambda mu'],
    'short': ['yes', 'yes no', 'no', 'yes yes yes', 'no no maybe yes no'],
    'empty': ['', 'a b c d e', 'a b c d e f', ''],
    'repeats': ['the the the the the the', 'the cat the cat the cat', 'cat the cat the', 'the cat sat on the mat the cat'],
}

pairs = [
    ('police killed the gunman', 'the gunman kill police'),
    ('police kill the gunman', 'the gunman kill police'),
    ('a b c d e f', 'a c e'),
    ('', 'a b'),
    ('x y z', 'p q r'),
]
bleus = [
    ('the cat is on the mat', ['the cat sat on the mat', 'there is a cat on the mat']),
    ('the the the the the the the', ['the cat is on the mat', 'there is a cat on the mat']),
    ('a b', ['a b c d e f g']),
    ('a b c d e', ['a b c d e']),
    ('a b c d e f g h', ['a b c x', 'a b c d e f g h i j k']),
    ('zzz', ['a b c']),
]

torch.manual_seed(0)
hidden = torch.randn(5, 7, 6, dtype=torch.float64)
mask = torch.tensor([[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 0, 0], [0, 0, 0, 0, 0, 0, 0]], dtype=torch.float64)
m = mask.unsqueeze(-1)
pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1)
# cosine distance over pairs of the rows that have at least one token (row 4 has none and is left out)
valid = pooled[:4]
unit = valid / valid.norm(dim=1, keepdim=True)
sim = unit @ unit.T
iu = torch.triu_indices(4, 4, 1)
distance = (1 - sim[iu[0], iu[1]]).mean().item()
# near-collapse: rows that are scaled copies of one vector (distance 0) plus one opposite (distance 2 to each)
base = torch.randn(6, dtype=torch.float64)
collapse = torch.stack([base, 2 * base, 0.5 * base, -base])
cu = collapse / collapse.norm(dim=1, keepdim=True)
cs = cu @ cu.T
ci = torch.triu_indices(4, 4, 1)

out = {
    'sets': {k: {'texts': v, 'rougeL': pairwise_rouge_l(v), 'selfBleu': self_bleu(v)} for k, v in sets.items()},
    'rougePairs': [{'a': a, 'b': b, 'f': rouge_l(a, b)} for a, b in pairs],
    'bleu': [{'candidate': c, 'references': r, 'bleu': bleu(c, r)} for c, r in bleus],
    'embedding': {
        'hidden': hidden.tolist(),
        'mask': mask.tolist(),
        'pooled': pooled.tolist(),
        'distance': distance,
        'collapse': collapse.tolist(),
        'collapseDistance': (1 - cs[ci[0], ci[1]]).mean().item(),
    },
}
path = Path(__file__).parent / 'golden' / 'diversity.json'
path.write_text(json.dumps(out, indent=1) + '\n')
print(f'wrote {path}')
