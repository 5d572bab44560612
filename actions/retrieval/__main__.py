"""`python -m actions.retrieval`: build (or refresh) the cached index and the guides' part models, with a progress
bar; then a quick query."""

from __future__ import annotations

import argparse
import logging
import time

from actions.retrieval.dense import make_encoder
from actions.retrieval.index import HybridIndex
from actions.retrieval.sections import ready_part_models
from actions.settings import get_settings


def main() -> None:
    """Build the index and print what was indexed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("query", nargs="*", help="optional question to try against the index")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    s = get_settings()
    started = time.perf_counter()
    encoder = make_encoder(s.embedding_backend, s.embedding_model, s.torch_threads, s.embedding_precision)
    index = HybridIndex.build(s.knowledge_dir, s.index_dir, encoder, progress=True, nlu_dir=s.nlu_dir)
    parts = ready_part_models(index)  # the action server then reads them instead of learning them
    print(f"Index ready: {len(index.guides)} guides, {len(index.passages)} passages, "
          f"dense={'off' if encoder is None else encoder.name}, part models {parts}, "
          f"{time.perf_counter() - started:.1f}s")
    if args.query:
        # ranked as the action server ranks guides (without the intent classifier, which runs inside Rasa)
        from actions.knowledge import fused_scores, signals
        from actions.retrieval.sections import choose_section

        text = " ".join(args.query)
        scores = fused_scores(signals(text, [], index), s.fusion)
        for gid in sorted(scores, key=scores.__getitem__, reverse=True)[:5]:
            part = choose_section(index, gid, text, s.sections).heading or "Tóm tắt"
            print(f"  {scores[gid]:.3f}  {gid:24} {part}")


if __name__ == "__main__":
    main()
