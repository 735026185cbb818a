#!/usr/bin/env python3
"""OPC UA test client for mimic's own server (asyncua client).

Usage:
    opcua_client.py --url URL [--user NAME:PASSWORD] [--ns URI] COMMAND [ARGS...]

Prints one JSON object on stdout and exits 0; a failed connection or login prints
``{"error": "<status name or text>"}`` and exits 2.

Commands (NodeIds of tags are given by tag name, in the namespace ``--ns``):
    browse                         every node under Objects/<first folder of --ns>, as paths
    read TAG...                    value, status, source timestamp and the attributes
    subscribe TAG SECONDS          data changes seen (values and statuses)
    raw TAG START_MS END_MS N BOUNDS   HistoryReadRaw, following continuation points
                                   (START_MS/END_MS ``-`` for none); the pages and values
    processed TAG START_MS END_MS INTERVAL_MS AGG   HistoryReadProcessed (AGG: Average,
                                   TimeAverage, Minimum, Maximum, Count, Start, End)
    attime TAG MS...               HistoryReadAtTime
    write TAG VALUE                the Write's status
    events SECONDS                 alarm events seen on the Server object
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import sys

from asyncua import Client, ua

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
    return {"nodes": out}


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
            }
        )


async def subscribe(client: Client, ns: int, tag: str, seconds: float) -> dict:
    c = Collect()
    sub = await client.create_subscription(200, c)
    await sub.subscribe_data_change(client.get_node(ua.NodeId(tag, ns)))
    await asyncio.sleep(seconds)
    await sub.delete()
    return {"changes": c.changes}


async def events(client: Client, seconds: float) -> dict:
    c = Collect()
    sub = await client.create_subscription(200, c)
    alarm_type = client.get_node(ua.ObjectIds.AlarmConditionType)
    await sub.subscribe_events(client.nodes.server, alarm_type)
    print(json.dumps({"subscribed": True}), flush=True)
    await asyncio.sleep(seconds)
    await sub.delete()
    return {"events": c.events}


async def history(client: Client, ns: int, tag: str, details) -> dict:
    pages, values, cp = 0, [], None
    while True:
        v = ua.HistoryReadValueId()
        v.NodeId = ua.NodeId(tag, ns)
        v.ContinuationPoint = cp
        params = ua.HistoryReadParameters()
        params.HistoryReadDetails = details
        params.TimestampsToReturn = ua.TimestampsToReturn.Source
        params.ReleaseContinuationPoints = False
        params.NodesToRead = [v]
        result = (await client.uaclient.history_read(params))[0]
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


AGGREGATES = {
    "Average": ua.ObjectIds.AggregateFunction_Average,
    "TimeAverage": ua.ObjectIds.AggregateFunction_TimeAverage,
    "Minimum": ua.ObjectIds.AggregateFunction_Minimum,
    "Maximum": ua.ObjectIds.AggregateFunction_Maximum,
    "Count": ua.ObjectIds.AggregateFunction_Count,
    "Start": ua.ObjectIds.AggregateFunction_Start,
    "End": ua.ObjectIds.AggregateFunction_End,
}


async def run(args) -> dict:
    client = Client(args.url, timeout=30)
    if args.user:
        name, _, password = args.user.partition(":")
        client.set_user(name)
        client.set_password(password)
    try:
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
            return await events(client, float(rest[0]))
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
        await client.disconnect()


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--user")
    p.add_argument("--ns", required=True)
    p.add_argument("command")
    p.add_argument("args", nargs="*")
    args = p.parse_args()
    out = asyncio.run(run(args))
    print(json.dumps(out), flush=True)
    return 2 if "error" in out else 0


if __name__ == "__main__":
    sys.exit(main())
