"""Print how many samples per second the offline judge scores (all four metrics)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from pytest_ragops.judge import OfflineJudge, Sample, claims, offline, relevancy, text
from pytest_ragops.judge.labels import SHIPPED, load_label_files
from pytest_ragops.judge.text import split_sentences

# Every per-text analysis cache: cleared before each sample for the cold figure (the
# per-word stem cache stays warm, as it does after the first few samples of any run).
_CACHES = (
    offline._context,
    offline._claims,
    offline._claim_terms,
    offline._flat,
    claims.analyse,
    claims._windows,
    claims.full,
    claims._directed_pairs,
    relevancy._corpus,
    text.tokens_of,
    text.sentences_of,
    claims.light_terms,
    text.is_abstention,
)


def main() -> None:
    corpus = Path(sys.argv[1] if len(sys.argv) > 1 else "examples/corpus")
    paragraphs = [
        p.strip()
        for f in sorted(corpus.glob("*.md"))
        for p in f.read_text(encoding="utf-8").split("\n\n")
        if len(p.split()) > 30
    ]
    samples = []
    for i, para in enumerate(paragraphs):
        sentences = split_sentences(para)
        contexts = tuple(paragraphs[(i + k) % len(paragraphs)] for k in range(5))
        samples.append(
            Sample(
                question=sentences[0],
                answer=" ".join(sentences[:3]) + " Oracle RMAN writes 37 tapes nightly.",
                contexts=contexts,
                reference=" ".join(sentences[1:3]) or sentences[0],
                reference_contexts=(para,),
            )
        )
    words = sum(len(" ".join(s.contexts).split()) for s in samples) / len(samples)
    print(f"{len(samples)} samples, ~{words:.0f} context words each, 4 metrics")
    for label, cold in (("cold (analysis cache cleared per sample)", True), ("warm", False)):
        print(f"{label}: {_rate(samples, cold=cold)}")
    # The corpus samples' answers are mostly copied sentences, which the quoted-claim
    # shortcut passes cheaply; the labelled answers are reworded, wrong and abstaining.
    labelled = [item.sample for item in load_label_files(SHIPPED)]
    print(f"shipped labelled set, {len(labelled)} samples, cold: {_rate(labelled, cold=True)}")


def _rate(samples: list[Sample], *, cold: bool) -> str:
    """Samples per second in CPU time over at least 3 s, caches cleared per sample if cold."""
    judge = OfflineJudge()
    rounds = 0
    start = time.process_time()
    while time.process_time() - start < 3.0:
        for s in samples:
            if cold:
                for cache in _CACHES:
                    cache.cache_clear()
            judge.score(s)
        rounds += 1
    elapsed = time.process_time() - start
    n = rounds * len(samples)
    return f"{n / elapsed:,.0f} samples/s ({elapsed / n * 1e6:,.0f} us/sample)"


if __name__ == "__main__":
    main()
