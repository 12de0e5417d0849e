"""What happens on hosts: the `Step`, the step functions, and the chains (one list each)."""
