"""Figures: the paper's plots from experiment tables (``plots``), the lecture's diagrams
(``diagrams``) and the notebooks' other figures (``lesson_figures``), in one seaborn theme."""
