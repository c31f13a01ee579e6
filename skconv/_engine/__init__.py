"""skconv's compute engine: numpy and scipy only, no scikit-learn, no estimators.

The estimators validate their parameters and input, resolve them in ``fit``, then call in here
with arrays and plain settings that are already checked; nothing here checks them again.

- :mod:`~skconv._engine.geometry`: padding, output shapes, transform sizes, map counts;
- :mod:`~skconv._engine.cost`: the cost model that picks the convolution algorithm (its weights
  in ``cost_weights.json``, written by ``benchmarks/cost_rule.py``);
- :mod:`~skconv._engine.convolution`: a stack of images cross-correlated with a full bank;
- :mod:`~skconv._engine.pooling`: max and average pooling over windows or a grid of regions;
- :mod:`~skconv._engine.threads`: the thread runner, with BLAS held to one thread meanwhile.
"""
