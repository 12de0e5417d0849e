"""CDK for Terraform constructs that create SuperEdge edge Kubernetes clusters on existing hosts."""
