"""Checks of the public props, run before anything touches a host: the rules (`rules`), the
files they read (`files`) and which host joins through which construct (`claims`).

Every check raises `ValidationError(field, value, allowed)` on the first problem.
"""
from edge_constructs.validation.claims import validate_host_claims
from edge_constructs.validation.files import file_sha256
from edge_constructs.validation.rules import (ARCHES, CONTAINER_RUNTIMES, SUPPORTED_VERSIONS,
                                              TAINT_EFFECTS, UNSKIPPABLE_STEPS, cluster_spec,
                                              refuse_nul, validate_cluster, validate_dns1123_label,
                                              validate_dns1123_subdomain, validate_duration,
                                              validate_edge_nodes, validate_host, validate_labels,
                                              validate_identity_resource, validate_node_host,
                                              validate_master_certificates_resource,
                                              validate_renewal_window,
                                              validate_node_resource, validate_taints)

__all__ = ["SUPPORTED_VERSIONS", "CONTAINER_RUNTIMES", "ARCHES", "TAINT_EFFECTS",
           "UNSKIPPABLE_STEPS", "cluster_spec", "file_sha256", "refuse_nul", "validate_cluster",
           "validate_edge_nodes", "validate_host", "validate_node_host",
           "validate_dns1123_label", "validate_dns1123_subdomain", "validate_labels",
           "validate_taints", "validate_duration", "validate_host_claims",
           "validate_identity_resource", "validate_node_resource",
           "validate_master_certificates_resource", "validate_renewal_window"]
