#!/usr/bin/env python3
"""OPC UA test client for mimic's own server (asyncua client).

Usage:
    opcua_client.py --url URL [--user NAME:PASSWORD] [--cert DIR] [--ns URI] COMMAND [ARGS...]

With ``--cert DIR`` the client connects over Basic256Sha256 sign-and-encrypt with the
certificate ``DIR/cert.der`` and key ``DIR/key.pem`` (made on first use, self-signed,
application URI ``urn:mimic-test:asyncua-client``); without it, over security None.

Prints one JSON object on stdout and exits 0; a failed connection or login prints
``{"error": "<status name or text>"}`` and exits 2.

Commands (NodeIds of tags are given by tag name, in the namespace ``--ns``):
    browse                         every node under Objects/<first folder of --ns>, as paths
    child NAME...                  the NodeId at that browse path from Objects (Translate-
                                   BrowsePathsToNodeIds): {"node"}
    pages FOLDER K                 the references of a folder (b=FOLDER), whole and then K
                                   a page through BrowseNext: {"whole", "paged", "pages"}
    read TAG...                    value, status, source timestamp and the attributes
    subscribe TAG SECONDS          data changes seen (values and statuses)
    raw TAG START_MS END_MS N BOUNDS   HistoryReadRaw, following continuation points
                                   (START_MS/END_MS ``-`` for none); the pages and values
    processed TAG START_MS END_MS INTERVAL_MS AGG   HistoryReadProcessed (AGG: Average,
                                   TimeAverage, Minimum, Maximum, Count, Start, End)
    attime TAG MS...               HistoryReadAtTime
    write TAG VALUE                the Write's status
    events SECONDS [ack SOURCE] [folder ID]   alarm events seen on the Server object
                                   (and on the folder ``ns;b=ID``: "folder_events") (printing
                                   ``{"subscribed": true}`` first); with ``ack``, the first
                                   unacknowledged active alarm of SOURCE (a SourceName) is
                                   acknowledged through the site folder's Acknowledge
                                   method (its status: "ack"), and the command ends
                                   when that alarm has returned to normal
    ack EVENT_ID_HEX               call Acknowledge with that EventId; its status
    hostile TAG N                  malformed and oversized requests, each answered by a
                                   status: a browse of 5,000 nodes, N monitored items
                                   in one subscription, history over ten years (raw and
                                   processed at 1 s), unknown and foreign NodeIds, a forged
                                   and a released continuation point; last a browse of
                                   100,000 nodes (past the message size: the connection ends)
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import sys

from pathlib import Path

from asyncua import Client, ua
from asyncua.common.events import get_filter_from_event_type
from asyncua.crypto import cert_gen
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

CLIENT_URI = "urn:mimic-test:asyncua-client"

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


NULL_TIME = datetime.datetime(1601, 1, 1, tzinfo=datetime.timezone.utc)


def to_dt(ms: str | int | None):
    """A time in ms since 1970; ``-`` is OPC UA's null time (not given)."""
    if ms in (None, "-"):
        return NULL_TIME
    return EPOCH + datetime.timedelta(milliseconds=int(ms))


def to_ms(dt) -> int | None:
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.timezone.utc)
    return round((dt - EPOCH).total_seconds() * 1000)


def status_name(code) -> str:
    try:
        return ua.StatusCode(code.value if hasattr(code, "value") else code).name
    except Exception:  # noqa: BLE001 - an unnamed code is reported by number
        return hex(code.value if hasattr(code, "value") else code)


def dv_json(dv: ua.DataValue) -> dict:
    v = dv.Value.Value if dv.Value is not None else None
    return {
        "value": v if isinstance(v, (int, float, bool, str)) or v is None else str(v),
        "status": status_name(dv.StatusCode),
        "status_code": dv.StatusCode.value,
        "ts": to_ms(dv.SourceTimestamp),
    }


async def browse(client: Client, ns: int) -> dict:
    objects = client.nodes.objects
    out = []

    async def walk(node, path, depth):
        if depth > 8:
            return
        for child in await node.get_children(refs=ua.ObjectIds.HierarchicalReferences):
            nid = child.nodeid
            if nid.NamespaceIndex != ns:
                continue
            name = (await child.read_browse_name()).Name
            p = f"{path}/{name}"
            cls = await child.read_node_class()
            out.append({"path": p, "class": cls.name, "id": nid.to_string()})
            if cls == ua.NodeClass.Object:
                await walk(child, p, depth + 1)
            elif cls == ua.NodeClass.Variable:
                for prop in await child.get_properties():
                    out.append({"path": f"{p}/{(await prop.read_browse_name()).Name}", "class": "Property"})

    await walk(objects, "Objects", 0)
    return {"nodes": out, "ns_index": ns}


async def read(client: Client, ns: int, tags: list[str]) -> dict:
    out = {}
    for t in tags:
        node = client.get_node(ua.NodeId(t, ns))
        dv = await node.read_data_value(raise_on_bad_status=False)
        r = dv_json(dv)
        r["data_type"] = (await node.read_data_type()).to_string()
        r["access"] = (await node.read_attribute(ua.AttributeIds.AccessLevel)).Value.Value
        r["user_access"] = (await node.read_attribute(ua.AttributeIds.UserAccessLevel)).Value.Value
        r["historizing"] = (await node.read_attribute(ua.AttributeIds.Historizing)).Value.Value
        r["description"] = (await node.read_description()).Text
        for prop in await node.get_properties():
            name = (await prop.read_browse_name()).Name
            val = await prop.read_value()
            if name == "EURange":
                r["eu_range"] = [val.Low, val.High]
            elif name == "EngineeringUnits":
                r["units"] = val.DisplayName.Text
        out[t] = r
    return out


class Collect:
    def __init__(self) -> None:
        self.changes = []
        self.events = []

    def datachange_notification(self, node, val, data):
        self.changes.append(dv_json(data.monitored_item.Value))

    def event_notification(self, event):
        f = event.get_event_props_as_fields_dict()
        self.events.append(
            {
                "source": str(f.get("SourceName").Value) if f.get("SourceName") else None,
                "severity": f["Severity"].Value if "Severity" in f else None,
                "message": f["Message"].Value.Text if "Message" in f else None,
                "active": str(f.get("ActiveState/Id").Value) if "ActiveState/Id" in f else None,
                "acked": str(f.get("AckedState/Id").Value) if "AckedState/Id" in f else None,
                "condition": str(f.get("ConditionName").Value) if "ConditionName" in f else None,
                "event_id": f["EventId"].Value.hex() if f.get("EventId") and f["EventId"].Value else None,
            }
        )


async def subscribe(client: Client, ns: int, tag: str, seconds: float) -> dict:
    c = Collect()
    sub = await client.create_subscription(200, c)
    await sub.subscribe_data_change(client.get_node(ua.NodeId(tag, ns)))
    await asyncio.sleep(seconds)
    await sub.delete()
    return {"changes": c.changes}


async def site_folder(client: Client, ns: int):
    for child in await client.nodes.objects.get_children():
        if child.nodeid.NamespaceIndex == ns:
            return child
    raise RuntimeError("no site folder in the namespace")


async def acknowledge(client: Client, ns: int, event_id: bytes) -> str:
    """Call the site folder's Acknowledge(EventId, Comment); the status name."""
    site = await site_folder(client, ns)
    method = ua.NodeId(b"method:Acknowledge", ns, ua.NodeIdType.ByteString)
    try:
        await site.call_method(
            method, ua.Variant(event_id, ua.VariantType.ByteString), ua.LocalizedText("seen from asyncua")
        )
        return "Good"
    except ua.UaStatusCodeError as e:
        return status_name(e.code)


EVENT_QUEUE = 100


async def events(client: Client, ns: int, seconds: float, ack: str | None, folder: str | None) -> dict:
    c = Collect()
    sub = await client.create_subscription(200, c)
    alarm_type = client.get_node(ua.ObjectIds.AlarmConditionType)
    # OfType, not asyncua's default `EventType InList [...]`: async-opcua 0.19 compares no
    # NodeIds in a content filter, so an InList of types matches nothing. And without the
    # ConditionId clause (empty browse path): async-opcua drops a clause it cannot
    # resolve instead of answering it null, which would shift the fields.
    evfilter = await get_filter_from_event_type([alarm_type], where_clause_generation=False)
    evfilter.SelectClauses = [c for c in evfilter.SelectClauses if c.BrowsePath]
    of_type = ua.ContentFilterElement()
    of_type.FilterOperator = ua.FilterOperator.OfType
    of_type.FilterOperands = [ua.LiteralOperand(Value=ua.Variant(alarm_type.nodeid))]
    evfilter.WhereClause = ua.ContentFilter(Elements=[of_type])
    # A queue per event item: async-opcua 0.19 gives a requested queue size of 0 (asyncua's
    # default) one slot, so of two events between publishes the first is lost.
    await sub.subscribe_events(client.nodes.server, alarm_type, evfilter=evfilter, queuesize=EVENT_QUEUE)
    at_folder = Collect()
    if folder:
        sub2 = await client.create_subscription(200, at_folder)
        node = ua.NodeId(folder.encode(), ns, ua.NodeIdType.ByteString)
        await sub2.subscribe_events(node, alarm_type, evfilter=evfilter, queuesize=EVENT_QUEUE)
    print(json.dumps({"subscribed": True}), flush=True)
    out = {}
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds

    def returned(events: list) -> bool:
        return any(e["source"] == ack and e["active"] == "False" for e in events)

    while loop.time() < end:
        await asyncio.sleep(0.2)
        # acknowledged, then returned to normal: on the Server object and, when watched, on
        # the folder (its subscription publishes apart, possibly later)
        if "ack" in out and returned(c.events) and (not folder or returned(at_folder.events)):
            break
        if ack and "ack" not in out:
            todo = [
                e
                for e in c.events
                if e["source"] == ack and e["active"] == "True" and e["acked"] == "False" and e["event_id"]
            ]
            if todo:
                out["ack"] = await acknowledge(client, ns, bytes.fromhex(todo[0]["event_id"]))
                out["acked_event"] = todo[0]["event_id"]
                print(f"acknowledged {todo[0]['event_id']}: {out['ack']}", file=sys.stderr, flush=True)
    await sub.delete()
    out["events"] = c.events
    out["folder_events"] = at_folder.events
    return out


async def history_page(client: Client, node: ua.NodeId, details, cp=None, release=False):
    v = ua.HistoryReadValueId()
    v.NodeId = node
    v.ContinuationPoint = cp
    params = ua.HistoryReadParameters()
    params.HistoryReadDetails = details
    params.TimestampsToReturn = ua.TimestampsToReturn.Source
    params.ReleaseContinuationPoints = release
    params.NodesToRead = [v]
    return (await client.uaclient.history_read(params))[0]


async def history(client: Client, ns: int, tag: str, details) -> dict:
    pages, values, cp = 0, [], None
    while True:
        result = await history_page(client, ua.NodeId(tag, ns), details, cp)
        pages += 1
        if not result.StatusCode.is_good():
            return {"status": status_name(result.StatusCode), "pages": pages, "values": values}
        data = result.HistoryData
        if isinstance(data, ua.ExtensionObject):
            return {"error": f"undecoded history data {data.TypeId.to_string()}"}
        values.extend(dv_json(d) for d in (data.DataValues or []))
        cp = result.ContinuationPoint
        if not cp:
            return {"status": "Good", "pages": pages, "values": values}


async def status_of(call) -> str:
    """Run a request; the name of its service result."""
    try:
        await call
        return "Good"
    except ua.UaStatusCodeError as e:
        return status_name(e.code)


async def pages(client: Client, ns: int, folder: str, per_node: int) -> dict:
    """Every reference of a folder (both directions), browsed whole, then `per_node` at a
    time through BrowseNext: the targets' names in order, and the pages it took."""

    async def browse(max_refs: int) -> tuple[list[str], int]:
        p = ua.BrowseParameters()
        p.View.Timestamp = ua.get_win_epoch()
        p.RequestedMaxReferencesPerNode = max_refs
        d = ua.BrowseDescription()
        d.NodeId = ua.NodeId(folder.encode(), ns, ua.NodeIdType.ByteString)
        d.BrowseDirection = ua.BrowseDirection.Both
        d.ReferenceTypeId = ua.NodeId(ua.ObjectIds.References)
        d.IncludeSubtypes = True
        d.ResultMask = ua.BrowseResultMask.All
        p.NodesToBrowse = [d]
        result = (await client.uaclient.browse(p))[0]
        names, n = [r.BrowseName.Name for r in result.References], 1
        while result.ContinuationPoint:
            nxt = ua.BrowseNextParameters()
            nxt.ContinuationPoints = [result.ContinuationPoint]
            nxt.ReleaseContinuationPoints = False
            result = (await client.uaclient.browse_next(nxt))[0]
            if not result.StatusCode.is_good():
                names.append(status_name(result.StatusCode))
            names += [r.BrowseName.Name for r in result.References]
            n += 1
        return names, n

    whole, _ = await browse(0)
    paged, n = await browse(per_node)
    return {"whole": whole, "paged": paged, "pages": n}


async def hostile(client: Client, ns: int, tag: str, n_items: int) -> dict:
    out = {}
    node = ua.NodeId(tag, ns)
    # a browse of 5,000 nodes in one request
    browse = ua.BrowseParameters()
    d = ua.BrowseDescription()
    d.NodeId = client.nodes.objects.nodeid
    d.ResultMask = ua.BrowseResultMask.All
    browse.NodesToBrowse = [d] * 5_000
    out["huge_browse"] = await status_of(client.uaclient.browse(browse))
    # more monitored items than a subscription may hold, in calls of 1,000
    sub = await client.create_subscription(1000, Collect())
    nodes = [client.get_node(node)] * n_items
    results = []
    for i in range(0, n_items, 1000):
        try:
            got = await sub.subscribe_data_change(nodes[i : i + 1000], queuesize=1)
        except ua.UaStatusCodeError as e:
            got = [ua.StatusCode(e.code)] * len(nodes[i : i + 1000])
        results.extend(status_name(g) if isinstance(g, ua.StatusCode) else "Good" for g in got)
    out["monitored"] = {r: results.count(r) for r in set(results)}
    await sub.delete()
    # ten years of history, raw and one average a second
    now = datetime.datetime.now(datetime.timezone.utc)
    raw = ua.ReadRawModifiedDetails()
    raw.IsReadModified = False
    raw.StartTime, raw.EndTime = now - datetime.timedelta(days=3653), now
    raw.NumValuesPerNode = 0
    r = await history_page(client, node, raw)
    out["raw_10y"] = {"status": status_name(r.StatusCode), "values": len(r.HistoryData.DataValues or [])}
    proc = ua.ReadProcessedDetails()
    proc.StartTime, proc.EndTime = raw.StartTime, now
    proc.ProcessingInterval = 1000.0
    proc.AggregateType = [ua.NodeId(ua.ObjectIds.AggregateFunction_Average)]
    r = await history_page(client, node, proc)
    cp = r.ContinuationPoint
    out["processed_10y"] = {
        "status": status_name(r.StatusCode),
        "values": len(r.HistoryData.DataValues or []),
        "continuation": bool(cp),
    }
    # released, then used again; and one never given
    if cp:
        await history_page(client, node, proc, cp, release=True)
        out["released_cp"] = status_name((await history_page(client, node, proc, cp)).StatusCode)
    out["forged_cp"] = status_name((await history_page(client, node, proc, b"\x01" * 16)).StatusCode)
    # NodeIds that name nothing of ours
    for name, bad in [("unknown_tag", ua.NodeId("no.such.tag", ns)), ("foreign_ns", ua.NodeId(1, 99))]:
        dv = await client.get_node(bad).read_data_value(raise_on_bad_status=False)
        h = await history_page(client, bad, raw)
        out[name] = {"read": status_name(dv.StatusCode), "history": status_name(h.StatusCode)}
    # last, as it costs the connection: a browse of 100,000 nodes, past the message size
    browse.NodesToBrowse = [d] * 100_000
    try:
        await asyncio.wait_for(client.uaclient.browse(browse), 20)
        out["oversized_browse"] = "Good"
    except ua.UaStatusCodeError as e:
        out["oversized_browse"] = status_name(e.code)
    except Exception as e:  # noqa: BLE001 - the connection closed is the answer
        out["oversized_browse"] = type(e).__name__
    return out


AGGREGATES = {
    "Average": ua.ObjectIds.AggregateFunction_Average,
    "TimeAverage": ua.ObjectIds.AggregateFunction_TimeAverage,
    "Minimum": ua.ObjectIds.AggregateFunction_Minimum,
    "Maximum": ua.ObjectIds.AggregateFunction_Maximum,
    "Count": ua.ObjectIds.AggregateFunction_Count,
    "Start": ua.ObjectIds.AggregateFunction_Start,
    "End": ua.ObjectIds.AggregateFunction_End,
}


def client_certificate(folder: str) -> tuple[Path, Path]:
    """The client's certificate and key in ``folder``, made when missing."""
    d = Path(folder)
    cert, key = d / "cert.der", d / "key.pem"
    if not cert.exists():
        d.mkdir(parents=True, exist_ok=True)
        private = cert_gen.generate_private_key()
        made = cert_gen.generate_self_signed_app_certificate(
            private,
            "mimic test client",
            {"organizationName": "mimic tests"},
            [x509.UniformResourceIdentifier(CLIENT_URI), x509.DNSName("localhost")],
            [ExtendedKeyUsageOID.CLIENT_AUTH],
        )
        key.write_bytes(cert_gen.dump_private_key_as_pem(private))
        cert.write_bytes(made.public_bytes(Encoding.DER))
    return cert, key


async def run(args) -> dict:
    client = Client(args.url, timeout=30)
    if args.user:
        name, _, password = args.user.partition(":")
        client.set_user(name)
        client.set_password(password)
    try:
        if args.cert:
            cert, key = client_certificate(args.cert)
            client.application_uri = CLIENT_URI
            await client.set_security(
                SecurityPolicyBasic256Sha256, str(cert), str(key), mode=ua.MessageSecurityMode.SignAndEncrypt
            )
        await client.connect()
    except Exception as e:  # noqa: BLE001 - any refusal is the answer
        code = getattr(e, "code", None)
        return {"error": status_name(code) if code is not None else f"{type(e).__name__}: {e}"}
    try:
        ns = await client.get_namespace_index(args.ns)
        cmd, rest = args.command, args.args
        if cmd == "browse":
            return await browse(client, ns)
        if cmd == "read":
            return await read(client, ns, rest)
        if cmd == "subscribe":
            return await subscribe(client, ns, rest[0], float(rest[1]))
        if cmd == "events":
            ack = rest[2] if rest[1:2] == ["ack"] else None
            folder = rest[rest.index("folder") + 1] if "folder" in rest else None
            return await events(client, ns, float(rest[0]), ack, folder)
        if cmd == "child":
            # TranslateBrowsePathsToNodeIds from Objects, every name in namespace 0
            node = await client.nodes.objects.get_child([f"0:{name}" for name in rest])
            return {"node": node.nodeid.to_string()}
        if cmd == "pages":
            return await pages(client, ns, rest[0], int(rest[1]))
        if cmd == "hostile":
            return await hostile(client, ns, rest[0], int(rest[1]))
        if cmd == "ack":
            return {"status": await acknowledge(client, ns, bytes.fromhex(rest[0]))}
        if cmd == "raw":
            d = ua.ReadRawModifiedDetails()
            d.IsReadModified = False
            d.StartTime, d.EndTime = to_dt(rest[1]), to_dt(rest[2])
            d.NumValuesPerNode = int(rest[3])
            d.ReturnBounds = rest[4] == "true"
            return await history(client, ns, rest[0], d)
        if cmd == "processed":
            d = ua.ReadProcessedDetails()
            d.StartTime, d.EndTime = to_dt(rest[1]), to_dt(rest[2])
            d.ProcessingInterval = float(rest[3])
            d.AggregateType = [ua.NodeId(AGGREGATES[rest[4]])]
            return await history(client, ns, rest[0], d)
        if cmd == "attime":
            d = ua.ReadAtTimeDetails()
            d.ReqTimes = [to_dt(m) for m in rest[1:]]
            return await history(client, ns, rest[0], d)
        if cmd == "write":
            node = client.get_node(ua.NodeId(rest[0], ns))
            dv = ua.DataValue(ua.Variant(float(rest[1]), ua.VariantType.Double))
            params = ua.WriteParameters()
            wv = ua.WriteValue()
            wv.NodeId, wv.AttributeId, wv.Value = node.nodeid, ua.AttributeIds.Value, dv
            params.NodesToWrite = [wv]
            results = await client.uaclient.write(params)
            return {"status": status_name(results[0])}
        return {"error": f"unknown command {cmd}"}
    finally:
        try:
            await client.disconnect()
        except Exception:  # noqa: BLE001 - a connection the server closed stays closed
            pass


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--user")
    p.add_argument("--ns", required=True)
    p.add_argument("--cert")
    p.add_argument("command")
    p.add_argument("args", nargs="*")
    args = p.parse_args()
    out = asyncio.run(run(args))
    print(json.dumps(out), flush=True)
    return 2 if "error" in out else 0


if __name__ == "__main__":
    sys.exit(main())
