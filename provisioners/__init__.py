"""The step chain that turns existing hosts into a SuperEdge edge cluster."""
from provisioners.step import Step, Upload

__all__ = ["Step", "Upload"]
