"""What runs on hosts or talks to them: the step chains and their shell files, the node bundle,
the SSH runner, teardown and checks, and the props they read (`provisioners.core`).

Imports nothing of `edge_constructs` and neither cdktf nor the provider framework: the
constructs and the provider import this package, never the other way (tests/test_layers.py).
"""
