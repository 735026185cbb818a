#!/usr/bin/env python3
"""OPC UA test peer for mimic's integration tests (asyncua server).

Usage:
    opcua_server.py --port 0|N [--pki DIR] [--security none|all|secure]
                    [--user NAME:PASSWORD ...] [--no-anonymous] [--no-subscriptions]

Prints exactly one line ``READY <port>`` on stdout once listening, then serves
until SIGTERM/SIGINT (clean exit, status 0) or SIGKILL (a crash, for restart
tests: start it again with ``--port N`` on the same port). It also exits when
its parent process is gone, so a test binary that never drops it leaves no
server behind. A successful user-name login prints ``LOGIN <name>``.

``--tick-ms N`` changes the ticking values every N ms instead of 200 (benches).

``--no-subscriptions`` refuses every CreateSubscription (BadTooManySubscriptions),
so a client must fall back to reading.

Endpoint: ``opc.tcp://127.0.0.1:<port>/mimic/``. With ``--port 0`` the peer picks
a free port itself.

Security (``--security``):
    none     only the None/None endpoint (the default).
    all      None, Basic256Sha256 Sign and Basic256Sha256 SignAndEncrypt.
    secure   only the two Basic256Sha256 endpoints.
The server's certificate and key live in ``--pki`` (``server_cert.der``,
``server_key.pem``); they are created there on first start (RSA 2048, valid for
a year, application URI ``urn:mimic:test-peer`` and localhost / 127.0.0.1 as
subject alternative names) and reused on later starts, so a client that trusts
the certificate once keeps trusting it after a restart. Client certificates
are all accepted.

Identities: anonymous (unless ``--no-anonymous``) and every ``--user NAME:PASSWORD``;
a wrong name or password is refused (BadUserAccessDenied).

Address space, namespace ``urn:mimic:test`` (index 2), under Objects:
    Plant/                              folder
      Pump/                             folder
        ns=2;s=Pump.Speed        Double   1000 + tick (changes every 200 ms)
        ns=2;s=Pump.Temperature  Float    20 + (tick % 8) * 0.25
        ns=2;s=Pump.Count        Int32    tick
        ns=2;s=Pump.Mode         UInt16   3
        ns=2;s=Pump.Running      Boolean  true
        ns=2;s=Pump.Name         String   "P-101"
        ns=2;s=Pump.Setpoint     Double   writable, 1200, EURange 0..3000
        ns=2;s=Pump.Limit        Float    writable, 2.5
        ns=2;s=Pump.Stages       Int32    writable, 2
        ns=2;s=Pump.Enable       Boolean  writable, false
        ns=2;s=Pump.ReadOnly     Double   not writable (a write answers BadNotWritable)
        ns=2;s=Pump.Sticky       Double   writable, but silently keeps 5.0 (read-back mismatch)
        ns=2;s=Pump.Fatal        Double   writable, but a write kills the server before it
                                          answers (the write's outcome is unknown)
        ns=2;s=Pump.Broken       Double   status BadSensorFailure
        ns=2;s=Pump.Doubtful     Double   42.0 with status UncertainLastUsableValue
      Lab/                              folder
        ns=2;i=1001              Double   "Stamped": value = tick, SourceTimestamp =
                                          2024-01-01T00:00:00Z + tick seconds
The server rejects a write whose variant type differs from the node's data type
(BadTypeMismatch): a Double node takes only a Double.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import logging
import os
import signal
import socket
import sys
from pathlib import Path

from asyncua import Server, ua
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.server.user_managers import UserManager

APP_URI = "urn:mimic:test-peer"
NAMESPACE = "urn:mimic:test"
STAMP_EPOCH = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
TICK_S = 0.2


class Users(UserManager):
    def __init__(self, users: dict[str, str], anonymous: bool) -> None:
        self.users = users
        self.anonymous = anonymous

    def get_user(self, iserver, username=None, password=None, certificate=None):
        # `certificate` is the client's channel certificate (any is accepted);
        # no X509 identity tokens are offered, so no user name means anonymous.
        if username is None:
            return User(role=UserRole.User) if self.anonymous else None
        if self.users.get(username) == password:
            print(f"LOGIN {username}", flush=True)
            return User(role=UserRole.User)
        return None


def ensure_certificate(pki: Path) -> tuple[Path, Path]:
    """Create (once) the server's self-signed certificate and key in `pki`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    import ipaddress

    pki.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = pki / "server_cert.der", pki / "server_key.pem"
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mimic test peer")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.UniformResourceIdentifier(APP_URI),
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=True,
                data_encipherment=True,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.DER))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--pki", type=Path)
    ap.add_argument("--security", choices=["none", "all", "secure"], default="none")
    ap.add_argument("--user", action="append", default=[])
    ap.add_argument("--no-anonymous", action="store_true")
    ap.add_argument("--no-subscriptions", action="store_true")
    ap.add_argument("--tick-ms", type=int, default=int(TICK_S * 1000), help="tick period (default 200)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    users = {}
    for u in args.user:
        name, _, password = u.partition(":")
        users[name] = password
    port = args.port or free_port()

    if args.no_subscriptions:
        from asyncua.common.utils import ServiceError
        from asyncua.server.internal_session import InternalSession

        async def refuse(self, params, callback, request_callback=None):
            raise ServiceError(ua.StatusCodes.BadTooManySubscriptions)

        InternalSession.create_subscription = refuse

    server = Server(user_manager=Users(users, not args.no_anonymous))
    await server.init()
    server.set_endpoint(f"opc.tcp://127.0.0.1:{port}/mimic/")
    server.set_server_name("mimic OPC UA test peer")
    await server.set_application_uri(APP_URI)
    policies = {
        "none": [ua.SecurityPolicyType.NoSecurity],
        "all": [
            ua.SecurityPolicyType.NoSecurity,
            ua.SecurityPolicyType.Basic256Sha256_Sign,
            ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt,
        ],
        "secure": [
            ua.SecurityPolicyType.Basic256Sha256_Sign,
            ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt,
        ],
    }[args.security]
    server.set_security_policy(policies)
    tokens = [ua.UserNameIdentityToken]
    if not args.no_anonymous:
        tokens.insert(0, ua.AnonymousIdentityToken)
    server.set_identity_tokens(tokens)
    if args.pki is not None:
        cert, key = ensure_certificate(args.pki)
        await server.load_certificate(str(cert))
        await server.load_private_key(str(key))
    elif args.security != "none":
        print("--security all|secure needs --pki DIR", file=sys.stderr)
        return 2

    idx = await server.register_namespace(NAMESPACE)
    objects = server.nodes.objects
    plant = await objects.add_folder(ua.NodeId("Plant", idx), ua.QualifiedName("Plant", idx))
    pump = await plant.add_folder(ua.NodeId("Pump", idx), ua.QualifiedName("Pump", idx))
    lab = await plant.add_folder(ua.NodeId("Lab", idx), ua.QualifiedName("Lab", idx))

    async def var(parent, name, value, vtype, writable=False):
        node = await parent.add_variable(
            ua.NodeId(f"Pump.{name}", idx), ua.QualifiedName(name, idx), ua.Variant(value, vtype)
        )
        if writable:
            await node.set_writable()
        return node

    speed = await var(pump, "Speed", 1000.0, ua.VariantType.Double)
    temperature = await var(pump, "Temperature", 20.0, ua.VariantType.Float)
    count = await var(pump, "Count", 0, ua.VariantType.Int32)
    await var(pump, "Mode", 3, ua.VariantType.UInt16)
    await var(pump, "Running", True, ua.VariantType.Boolean)
    await var(pump, "Name", "P-101", ua.VariantType.String)
    setpoint = await var(pump, "Setpoint", 1200.0, ua.VariantType.Double, writable=True)
    await setpoint.add_property(
        ua.NodeId("Pump.Setpoint.EURange", idx),
        ua.QualifiedName("EURange", 0),
        ua.Variant(ua.Range(Low=0.0, High=3000.0), ua.VariantType.ExtensionObject),
    )
    await var(pump, "Limit", 2.5, ua.VariantType.Float, writable=True)
    await var(pump, "Stages", 2, ua.VariantType.Int32, writable=True)
    await var(pump, "Enable", False, ua.VariantType.Boolean, writable=True)
    await var(pump, "ReadOnly", 7.0, ua.VariantType.Double)
    sticky = await var(pump, "Sticky", 5.0, ua.VariantType.Double, writable=True)
    # A device that acknowledges writes but keeps its value.
    server.iserver.set_attribute_value_setter(sticky.nodeid, lambda node, attr, value: None)
    fatal = await var(pump, "Fatal", 0.0, ua.VariantType.Double, writable=True)
    server.iserver.set_attribute_value_setter(fatal.nodeid, lambda node, attr, value: os._exit(3))
    broken = await var(pump, "Broken", 0.0, ua.VariantType.Double)
    await broken.write_value(
        ua.DataValue(ua.Variant(0.0, ua.VariantType.Double), StatusCode=ua.StatusCode(ua.StatusCodes.BadSensorFailure))
    )
    doubtful = await var(pump, "Doubtful", 42.0, ua.VariantType.Double)
    await doubtful.write_value(
        ua.DataValue(
            ua.Variant(42.0, ua.VariantType.Double),
            StatusCode=ua.StatusCode(ua.StatusCodes.UncertainLastUsableValue),
        )
    )
    stamped = await lab.add_variable(ua.NodeId(1001, idx), ua.QualifiedName("Stamped", idx), 0.0)
    await stamped.write_value(
        ua.DataValue(ua.Variant(0.0, ua.VariantType.Double), SourceTimestamp=STAMP_EPOCH, ServerTimestamp=STAMP_EPOCH)
    )

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    parent = os.getppid()
    async with server:
        print(f"READY {port}", flush=True)
        tick = 0
        while not stop.is_set() and os.getppid() == parent:
            try:
                await asyncio.wait_for(stop.wait(), args.tick_ms / 1000.0)
            except asyncio.TimeoutError:
                pass
            tick += 1
            await speed.write_value(ua.Variant(1000.0 + tick, ua.VariantType.Double))
            await temperature.write_value(ua.Variant(20.0 + (tick % 8) * 0.25, ua.VariantType.Float))
            await count.write_value(ua.Variant(tick, ua.VariantType.Int32))
            ts = STAMP_EPOCH + datetime.timedelta(seconds=tick)
            await stamped.write_value(
                ua.DataValue(ua.Variant(float(tick), ua.VariantType.Double), SourceTimestamp=ts, ServerTimestamp=ts)
            )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main()))
    except KeyboardInterrupt:
        sys.exit(0)
