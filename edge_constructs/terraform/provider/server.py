"""The provider process: plugin protocol 6 over gRPC, on the PyPI `tf` framework's servicer.

We run our own server loop instead of `tf.runner.run_provider`, because its defaults bite
(docs/DESIGN_NOTES.md, "The edge provider"):
- a pool of 10 gRPC workers serialized Terraform's calls beyond 10: ours has `WORKERS`;
- it stopped the server on StopProvider and died on Ctrl-C (SIGINT reaches every process of
  Terraform's group), losing the resource being applied from state: we ignore SIGINT, as
  go-plugin's own servers do, answer StopProvider, and end only on the controller's Shutdown,
  after in-flight calls return;
- a Python exception became a raw "rpc error: code = Unknown": every call here turns one into
  a Terraform diagnostic (the traceback goes to stderr, which Terraform logs under TF_LOG);
- it cached a TLS key under ~/.cache: ours lives in memory only. Like the framework we do not
  ask Terraform for a client certificate (Terraform's client did not present the one it
  handed us in PLUGIN_CLIENT_CERT to grpc's TLS); the socket lies in a 0700 directory of ours,
  so only this user can reach it.
"""
from __future__ import annotations

import base64
import datetime as _dt
import functools
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback

#: go-plugin's handshake cookie for Terraform providers (hashicorp/terraform plugin
#: discovery): a process started without it was not started by Terraform.
MAGIC_COOKIE_KEY = "TF_PLUGIN_MAGIC_COOKIE"
MAGIC_COOKIE_VALUE = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2"
#: Concurrent calls served (Terraform's -parallelism defaults to 10; plans add validations).
WORKERS = 64
#: How long in-flight calls may finish after Terraform said Shutdown.
SHUTDOWN_GRACE_S = 30

RPCS = ("GetMetadata", "GetProviderSchema", "ValidateProviderConfig", "ValidateResourceConfig",
        "ValidateDataResourceConfig", "UpgradeResourceState", "ConfigureProvider", "ReadResource",
        "PlanResourceChange", "ApplyResourceChange", "ImportResourceState", "MoveResourceState",
        "ReadDataSource", "GetFunctions", "CallFunction")


def _diag_response(pb, rpc: str, exc: BaseException):
    """The response of `rpc` carrying `exc` as an error diagnostic (never a gRPC error)."""
    diag = pb.Diagnostic(
        severity=pb.Diagnostic.ERROR,
        summary=f"edge provider: {rpc} failed: {type(exc).__name__}: {exc}",
        detail="This is a bug in the edge provider (edge_constructs). Run the command again "
               "with TF_LOG=debug to see the provider's traceback, and report it.")
    resp = getattr(pb, rpc).Response
    if rpc == "CallFunction":
        return resp(error=pb.FunctionError(text=diag.summary))
    return resp(diagnostics=[diag])


def make_servicer(provider):
    """The framework's servicer with our fixes: no exception escapes as a gRPC error,
    destroy plans are answered, and capabilities are stated in the schema response."""
    from tf.gen import tfplugin_pb2 as pb
    from tf.provider import ProviderServicer
    from tf.utils import read_dynamic_value
    import msgpack

    class Servicer(ProviderServicer):
        def GetProviderSchema(self, request, context):
            resp = ProviderServicer.GetProviderSchema(self, request, context)
            resp.server_capabilities.CopyFrom(pb.ServerCapabilities(
                plan_destroy=True, get_provider_schema_optional=False))
            return resp

        def GetMetadata(self, request, context):
            resp = ProviderServicer.GetMetadata(self, request, context)
            resp.server_capabilities.CopyFrom(pb.ServerCapabilities(
                plan_destroy=True, get_provider_schema_optional=False))
            return resp

        def PlanResourceChange(self, request, context):
            if read_dynamic_value(request.proposed_new_state) is None:
                # Destroy: the planned state is null (the framework refused this call).
                return pb.PlanResourceChange.Response(
                    planned_state=pb.DynamicValue(msgpack=msgpack.packb(None)))
            # The framework plans a create without asking the resource: what a resource
            # must refuse at any plan (`plan_refusal`) is asked here.
            klass = self._get_res_cls(request.type_name)
            refusal = getattr(klass, "plan_refusal", None)
            why = refusal(provider) if refusal else None
            if why:
                return pb.PlanResourceChange.Response(diagnostics=[pb.Diagnostic(
                    severity=pb.Diagnostic.ERROR, summary=why[0], detail=why[1])])
            return ProviderServicer.PlanResourceChange(self, request, context)

        def StopProvider(self, request, context):
            # Ctrl-C: let in-flight calls finish (their results reach state); nothing of ours
            # runs long enough to need cancelling.
            return pb.StopProvider.Response()

    for rpc in RPCS:
        original = getattr(Servicer, rpc)

        def guarded(self, request, context, _rpc=rpc, _original=original):
            try:
                return _original(self, request, context)
            except Exception as exc:  # noqa: BLE001 - every failure becomes a diagnostic
                traceback.print_exc(file=sys.stderr)
                return _diag_response(pb, _rpc, exc)

        functools.update_wrapper(guarded, original)
        setattr(Servicer, rpc, guarded)
    return Servicer(provider)


def _tls_credentials():
    """An in-memory server certificate (ECDSA P-256, a day long) for go-plugin's TLS."""
    import grpc
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    now = _dt.datetime.now(_dt.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - _dt.timedelta(minutes=5))
            .not_valid_after(now + _dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=True,
                data_encipherment=False, key_agreement=True, key_cert_sign=True, crl_sign=False,
                encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                  ExtendedKeyUsageOID.CLIENT_AUTH]), critical=True)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    creds = grpc.ssl_server_credentials([(key_pem, cert_pem)], require_client_auth=False)
    return cert.public_bytes(serialization.Encoding.DER), creds


#: Seconds between two looks at whether Terraform (our parent) is still there.
PARENT_POLL_S = 0.5


def watch_parent(on_gone, poll: float = PARENT_POLL_S) -> threading.Thread:
    """Call `on_gone()` once our parent process is gone (we were re-parented): a Terraform
    killed with SIGKILL never says Shutdown, and a provider left behind would keep running
    with the cluster's credentials. Polling getppid() rather than PR_SET_PDEATHSIG: that
    signal follows the parent *thread*, and Go's runtime may retire the thread that started
    us while Terraform lives on."""
    parent = os.getppid()

    def loop() -> None:
        while os.getppid() == parent:
            time.sleep(poll)
        on_gone()

    t = threading.Thread(target=loop, name="edge-provider-parent-watch", daemon=True)
    t.start()
    return t


def main(argv: list[str] | None = None) -> None:
    if os.environ.get(MAGIC_COOKIE_KEY) != MAGIC_COOKIE_VALUE:
        sys.stderr.write(
            "This is the edge Terraform provider of edge_constructs. Terraform starts it; it is "
            "not meant to be run by hand. Run terraform init/plan/apply in a stack directory "
            "that cdktf synthesized.\n")
        sys.exit(1)
    # Terraform forwards Ctrl-C as StopProvider; dying on SIGINT would lose in-flight results.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    import grpc
    from concurrent import futures
    from tf.gen import grpc_controller_pb2 as controller_pb
    from tf.gen import grpc_controller_pb2_grpc as controller_rpc
    from tf.gen import grpc_stdio_pb2_grpc as stdio_rpc
    from tf.gen import tfplugin_pb2_grpc as rpc

    from edge_constructs.terraform.provider.provider import EdgeProvider

    done = threading.Event()

    class Controller(controller_rpc.GRPCControllerServicer):
        def Shutdown(self, request, context):
            done.set()
            return controller_pb.Empty()

    class Stdio(stdio_rpc.GRPCStdioServicer):
        def StreamStdio(self, request, context):
            return iter(())

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=WORKERS),
                         maximum_concurrent_rpcs=None)
    rpc.add_ProviderServicer_to_server(make_servicer(EdgeProvider()), server)
    controller_rpc.add_GRPCControllerServicer_to_server(Controller(), server)
    stdio_rpc.add_GRPCStdioServicer_to_server(Stdio(), server)

    with tempfile.TemporaryDirectory(prefix="edge-provider-") as tmp:
        sock = os.path.join(tmp, "plugin.sock")

        def parent_gone() -> None:
            sys.stderr.write("edge provider: Terraform (our parent process) is gone; exiting\n")
            shutil.rmtree(tmp, ignore_errors=True)
            os._exit(1)

        watch_parent(parent_gone)
        der, creds = _tls_credentials()
        server.add_secure_port(f"unix://{sock}", creds)
        server.start()
        # go-plugin's handshake line: core protocol 1, app protocol 6, where, how, our cert.
        sys.stdout.write("|".join(["1", "6", "unix", sock, "grpc",
                                   base64.b64encode(der).decode().rstrip("=")]) + "\n")
        sys.stdout.flush()
        # Terraform ends us with Shutdown, or by closing our stdin/killing us.
        done.wait()
        server.stop(SHUTDOWN_GRACE_S).wait()
