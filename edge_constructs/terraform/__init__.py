"""The Terraform layer: which Terraform to run (`binary`), steps as resources (`resources`),
and the constructs (`cluster`, `nodes`). Importing this package loads no cdktf."""
from edge_constructs.terraform.binary import (QUIET_ENV, TerraformNotFound, cli_config_file,
                                              embedded_terraform, find_terraform, terraform_env)

__all__ = ["QUIET_ENV", "TerraformNotFound", "cli_config_file", "embedded_terraform",
           "find_terraform", "terraform_env"]
