#!/usr/bin/python3
"""Writes N generated documents (default 100,000), one per line, over a
vocabulary of V made-up words (default 50,000) drawn with Zipf frequencies
(rank r with weight 1 / r^1.1), lengths uniform in 20..100 words: the corpus
of scripts/bench/tfidf.sh. Deterministic (seeded).
  gen_zipf_docs.py OUT [N] [V]"""
import sys
import numpy as np

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
v = int(sys.argv[3]) if len(sys.argv) > 3 else 50_000
rng = np.random.default_rng(0)
letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
words, seen = [], set()
while len(words) < v:  # distinct words of 3..10 letters
    w = "".join(rng.choice(letters, rng.integers(3, 11)))
    if w not in seen:
        seen.add(w)
        words.append(w)
words = np.array(words)
p = 1.0 / np.arange(1, v + 1) ** 1.1
p /= p.sum()
lengths = rng.integers(20, 101, n)
ids = rng.choice(v, size=int(lengths.sum()), p=p)
with open(out, "w") as f:
    pos = 0
    for L in lengths:
        f.write(" ".join(words[ids[pos:pos + L]]))
        f.write("\n")
        pos += L
