"""Course material built on the engine: the notebooks' small experiments (``experiments``),
decision trees for notebook 01 (``trees``), widgets, self-checking exercises and slide decks."""
