"""One SSH layer: connect, upload, run a step, turn failures into advice (`runner`), reset a
host that leaves (`teardown`), and `python -m provisioners.ssh` for debugging."""
