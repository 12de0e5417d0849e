"""`python -m edge_constructs.terraform.provider`: the provider process Terraform starts."""
from edge_constructs.terraform.provider.server import main

main()
