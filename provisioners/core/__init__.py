"""The bottom layer: props, errors, host paths and secret masking. Imports nothing of ours."""
