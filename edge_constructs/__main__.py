"""`python -m edge_constructs check INVENTORY`: the SSH checks a deploy runs first, without
Terraform (the same commands as `python -m edge_constructs.ssh`)."""
import sys

from edge_constructs.ssh.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
