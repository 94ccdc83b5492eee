"""Pieces more than one panel uses (background jobs, the download dialog).

The panels (editor, training, inside, evaluation, datasets) may not import each other
(an import-linter independence contract); what two of them share lives here.
"""
