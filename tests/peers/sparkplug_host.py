"""A Sparkplug B host application for mimic's tests, independent of mimic's code.

The payload codec is a minimal protobuf wire reader/writer written here from the
Sparkplug 3.0 schema (field numbers of Payload, Metric, PropertySet, PropertyValue).

  listen  --port P --client-id ID [--primary-host-id H]
          subscribe to spBv1.0/# (QoS 1), print READY <port>, then one JSON line per
          message; with H, act as that primary host: STATE online after every subscribe
  publish --port P --kind rebirth|dcmd|state ...   publish one command and exit
"""

import argparse
import json
import struct
import sys
import time

import paho.mqtt.client as mqtt


# ---- protobuf wire format -------------------------------------------------------------

def read_varint(buf, i):
    result = 0
    shift = 0
    while True:
        if i >= len(buf):
            raise ValueError("truncated varint")
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return result, i
        if shift > 63:
            raise ValueError("varint too long")


def fields(buf):
    i = 0
    while i < len(buf):
        key, i = read_varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = read_varint(buf, i)
        elif wire == 1:
            value, i = buf[i:i + 8], i + 8
        elif wire == 2:
            n, i = read_varint(buf, i)
            value, i = buf[i:i + n], i + n
        elif wire == 5:
            value, i = buf[i:i + 4], i + 4
        else:
            raise ValueError("wire type %d" % wire)
        if i > len(buf):
            raise ValueError("truncated field")
        yield number, wire, value


def decode_property_set(buf):
    keys, values = [], []
    for number, _, value in fields(buf):
        if number == 1:
            keys.append(value.decode("utf-8"))
        elif number == 2:
            values.append(decode_property_value(value))
    return dict(zip(keys, values))


def decode_property_value(buf):
    out = None
    for number, _, value in fields(buf):
        if number in (3, 4):
            out = value
        elif number == 5:
            out = struct.unpack("<f", value)[0]
        elif number == 6:
            out = struct.unpack("<d", value)[0]
        elif number == 7:
            out = bool(value)
        elif number == 8:
            out = value.decode("utf-8")
        elif number == 9:
            out = decode_property_set(value)
    return out


def decode_metric(buf):
    m = {}
    names = {1: "name", 2: "alias", 3: "timestamp", 4: "datatype", 5: "is_historical", 6: "is_transient",
             7: "is_null"}
    for number, _, value in fields(buf):
        if number == 1:
            m["name"] = value.decode("utf-8")
        elif number in (2, 3, 4):
            m[names[number]] = value
        elif number in (5, 6, 7):
            m[names[number]] = bool(value)
        elif number == 9:
            m["properties"] = decode_property_set(value)
        elif number in (10, 11):
            m["value"] = value
        elif number == 12:
            m["value"] = struct.unpack("<f", value)[0]
        elif number == 13:
            m["value"] = struct.unpack("<d", value)[0]
        elif number == 14:
            m["value"] = bool(value)
        elif number == 15:
            m["value"] = value.decode("utf-8")
        elif number == 16:
            m["value"] = value.hex()
    return m


def decode_payload(buf):
    p = {"metrics": []}
    for number, _, value in fields(buf):
        if number == 1:
            p["timestamp"] = value
        elif number == 2:
            p["metrics"].append(decode_metric(value))
        elif number == 3:
            p["seq"] = value
        elif number == 4:
            p["uuid"] = value.decode("utf-8")
    return p


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def key(number, wire):
    return varint(number << 3 | wire)


def length_delimited(number, data):
    return key(number, 2) + varint(len(data)) + data


def encode_metric(name, datatype, value):
    out = length_delimited(1, name.encode("utf-8"))
    out += key(4, 0) + varint(datatype)
    if isinstance(value, bool):
        out += key(14, 0) + varint(1 if value else 0)
    else:
        out += key(13, 1) + struct.pack("<d", float(value))
    return out


def encode_payload(metrics):
    out = key(1, 0) + varint(int(time.time() * 1000))
    for m in metrics:
        out += length_delimited(2, m)
    return out


# ---- MQTT -------------------------------------------------------------------------------

def listen(args):
    ready = {"done": False}

    def on_connect(client, userdata, flags, reason_code, properties):
        client.subscribe("spBv1.0/#", qos=1)

    def on_subscribe(client, userdata, mid, reason_codes, properties):
        if args.primary_host_id:
            # a Sparkplug 3.0 primary host: online once subscribed, on every (re)connect
            body = json.dumps({"online": True, "timestamp": int(time.time() * 1000)})
            client.publish("spBv1.0/STATE/" + args.primary_host_id, body, qos=1, retain=True)
        if not ready["done"]:
            ready["done"] = True
            print("READY %d" % args.port, flush=True)
        else:
            print(json.dumps({"event": "resubscribed"}), flush=True)

    def on_message(client, userdata, msg):
        line = {"topic": msg.topic, "retain": bool(msg.retain), "recv_ms": int(time.time() * 1000)}
        if msg.topic.startswith("spBv1.0/STATE/"):
            line["state"] = msg.payload.decode("utf-8", "replace")
        else:
            try:
                line["payload"] = decode_payload(msg.payload)
            except (ValueError, UnicodeDecodeError) as e:
                line["error"] = str(e)
        print(json.dumps(line), flush=True)

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=args.client_id, clean_session=True)
    if args.primary_host_id:
        will = json.dumps({"online": False, "timestamp": int(time.time() * 1000)})
        client.will_set("spBv1.0/STATE/" + args.primary_host_id, will, qos=1, retain=True)
    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    client.reconnect_delay_set(min_delay=1, max_delay=1)
    client.connect("127.0.0.1", args.port, keepalive=5)
    client.loop_forever(retry_first_connection=True)


def publish(args):
    if args.kind == "rebirth":
        body = encode_payload([encode_metric("Node Control/Rebirth", 11, True)])
        qos, retain = 0, False
    elif args.kind == "dcmd":
        body = encode_payload([encode_metric(args.metric, 10, args.value)])
        qos, retain = 0, False
    else:
        body = json.dumps({"online": args.online == "true", "timestamp": int(time.time() * 1000)}).encode()
        qos, retain = 1, True
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="", clean_session=True)
    client.connect("127.0.0.1", args.port, keepalive=5)
    client.loop_start()
    info = client.publish(args.topic, body, qos=qos, retain=retain)
    info.wait_for_publish(timeout=10)
    client.disconnect()
    client.loop_stop()


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="mode", required=True)
    li = sub.add_parser("listen")
    li.add_argument("--port", type=int, required=True)
    li.add_argument("--client-id", default="sparkplug-test-host")
    li.add_argument("--primary-host-id", default="")
    pu = sub.add_parser("publish")
    pu.add_argument("--port", type=int, required=True)
    pu.add_argument("--kind", choices=["rebirth", "dcmd", "state"], required=True)
    pu.add_argument("--topic", required=True)
    pu.add_argument("--metric", default="")
    pu.add_argument("--value", type=float, default=0.0)
    pu.add_argument("--online", choices=["true", "false"], default="true")
    args = ap.parse_args()
    if args.mode == "listen":
        listen(args)
    else:
        publish(args)


if __name__ == "__main__":
    sys.exit(main())
