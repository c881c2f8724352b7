"""Text -> new motion: a rectified-flow transformer over HumanML3D features, conditioned on
MiniLM text embeddings, with a length predictor and editing masks (docs/text2motion.md).

Importing this package imports nothing heavy; ``sample.load_generator`` is the entry point for
inference, ``train.train`` for training, ``job`` registers the backend job kind ``generate``.
"""
