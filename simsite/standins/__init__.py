"""Stand-in programs for SuperEdge/Kubernetes tools (test fixtures only; see ../../STANDINS.md)."""
