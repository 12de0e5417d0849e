"""`python -m edge_constructs check INVENTORY`: the SSH checks a deploy runs first, without
Terraform (the same commands as `python -m provisioners.ssh`)."""
import sys

from provisioners.ssh.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
