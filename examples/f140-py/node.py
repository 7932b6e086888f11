#!/usr/bin/env python3
"""An F140 node in Python 3 (standard library only), written from the F140 spec
(src/protocols/f140/spec.md) and run by fedsim as an external process: it reads process-protocol
lines on stdin and answers on stdout (docs/process-nodes.md). Every step ends with {"kind":"end"}.

The durable store lives in the simulator; this node mirrors it in memory (read once at start,
written through on every change), so its logic never waits for a store read.

Canaries, each one rule broken, for proving that `fedsim fuzz f140 --node-process` catches it:
`--canary=volatile` (or F140_CANARY=volatile) forgets its queue on restart (spec section 5: queues
are durable), so a message queued before a crash is lost; `--canary=dedup` turns off the msg_id
check (section 3.3), so a retried MSG is delivered twice.
"""
import base64
import functools
import json
import os
import re
import sys
from urllib.parse import quote_plus, unquote

CANARY = next((a[len("--canary="):] for a in sys.argv if a.startswith("--canary=")), os.environ.get("F140_CANARY", ""))
CRLF = b"\r\n"

# ---------------------------------------------------------------------------------------------------
# The process protocol.

sys.stdin.reconfigure(encoding="utf-8")
sys.stdout.reconfigure(encoding="utf-8")
stdin = sys.stdin
stdout = sys.stdout
out = []
# One encoder for every line: json.dumps with separators of its own would build a new one each call.
encode = json.JSONEncoder(separators=(",", ":")).encode


def emit(line):
    out.append(encode(line))


def flush():
    global out
    if out:
        stdout.write("\n".join(out) + "\n")
        stdout.flush()
    out = []


def ask(line):
    emit(line)
    flush()
    answer = stdin.readline()
    if not answer:
        sys.exit(0)
    return json.loads(answer)


store = {}
# Indexes kept beside the mirror, so that no step scans the whole store: each remote user's outbox
# keys, oldest first (their sequence numbers only grow), and each (to, from) pair's window of
# message ids seen, oldest first.
OUTBOX_PREFIX = "f140/outbox/"
outboxes = {}
SEEN_PREFIX = "f140/seen/"
seen_windows = {}
SEEN_WINDOW = 1024


def outbox_of(key):
    """The remote user whose outbox holds `key` (`f140/outbox/<remote>/<12-digit seq>`), or None."""
    return key[len(OUTBOX_PREFIX):-13] if key.startswith(OUTBOX_PREFIX) else None


def indexed(key, added):
    remote = outbox_of(key)
    if remote is None:
        return
    keys = outboxes.setdefault(remote, [])
    if added:
        keys.append(key)
    else:
        keys.remove(key)


def put(key, value):
    if key not in store:
        indexed(key, True)
    store[key] = value
    emit({"kind": "store.put", "key": key, "value": value})


def delete(key):
    if key in store:
        del store[key]
        indexed(key, False)
        emit({"kind": "store.delete", "key": key})


def keys_with(prefix):
    return sorted(k for k in store if k.startswith(prefix))


now = 0
me = {"node": "", "host": ""}
config = {}

# ---------------------------------------------------------------------------------------------------
# Forms and messages.


# Text that is ASCII with only escapes of ASCII bytes: its bytes are their own UTF-8.
ASCII_ESCAPES = re.compile(r"(?:[^%]|%[0-7][0-9A-Fa-f])*")


# Form fields repeat (user names, challenges, commands): the two pure functions below remember their
# last answers (functools.lru_cache, bounded), which urllib's escaping makes worth it.
@functools.lru_cache(maxsize=1024)
def percent_decode(text):
    if text.isascii():
        if "%" not in text:
            return text.replace("+", " ")
        if ASCII_ESCAPES.fullmatch(text):
            return unquote(text.replace("+", " "))
    # The general case, byte by byte.
    data = bytearray()
    i = 0
    while i < len(text):
        c = text[i]
        if c == "+":
            data.append(0x20)
        elif c == "%":
            hexa = text[i + 1 : i + 3]
            if not re.fullmatch(r"[0-9A-Fa-f]{2}", hexa):
                return None
            data.append(int(hexa, 16))
            i += 2
        else:
            data.extend(c.encode("utf-8", "surrogatepass"))
        i += 1
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def decode_form(text, into):
    """Adds the fields of `text` to `into` (names lower-cased); an error string on a bad form."""
    if text == "":
        return None
    for part in text.split("&"):
        if part == "":
            continue
        name, eq, value = part.partition("=")
        name = percent_decode(name)
        value = percent_decode(value if eq else "")
        if name is None or value is None:
            return "bad percent escape or UTF-8 in the form"
        key = name.lower()
        if key in into:
            return "argument %s given twice" % key
        into[key] = value
        if len(into) > 32:
            return "more than 32 form fields"
    return None


@functools.lru_cache(maxsize=1024)
def encode_component(text):
    return quote_plus(text, safe="-_.!~*'()")


def encode_form(fields):
    return "&".join("%s=%s" % (encode_component(k), encode_component(v)) for k, v in fields)


def escape_xml(text):
    table = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;"}
    return "".join(table.get(c, c) for c in text)


NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}
MSG_RE = re.compile(
    r"^\s*(?:<\?xml[^?]*\?>\s*)?<msg\s+kind\s*=\s*(?:\"([^\"]*)\"|'([^']*)')\s*>\s*"
    r"(?:<text>(.*?)</text>|<text\s*/>)\s*</msg>\s*$",
    re.S,
)


def decode_message(xml):
    m = MSG_RE.match(xml)
    if not m:
        if re.match(r"^\s*(?:<\?xml[^?]*\?>\s*)?<msg\b", xml):
            return (400, "bad-message", "malformed <msg>")
        return (415, "unsupported-message", "not a <msg> document")
    kind = m.group(1) if m.group(1) is not None else (m.group(2) or "")
    if kind != "basic":
        return (415, "unsupported-message", "kind %s is not supported" % kind)
    raw = m.group(3) or ""
    if "<" in raw:
        return (400, "bad-message", "raw < inside <text>")
    bad = [False]

    def entity(match):
        whole, body = match.group(0), match.group(1)
        if not whole.endswith(";"):
            bad[0] = True
        if body in NAMED:
            return NAMED[body]
        n = re.fullmatch(r"#(?:x([0-9A-Fa-f]{1,6})|([0-9]{1,7}))", body)
        code = (int(n.group(1), 16) if n.group(1) is not None else int(n.group(2))) if n else -1
        allowed = code in (9, 10, 13) or 0x20 <= code <= 0x10FFFF
        if not allowed or 0xD800 <= code <= 0xDFFF:
            bad[0] = True
            return ""
        return chr(code)

    text = re.sub(r"&([^;&]{0,10});?", entity, raw)
    if bad[0]:
        return (400, "bad-message", "bad entity in <text>")
    return text


# ---------------------------------------------------------------------------------------------------
# HTTP requests (server side).

REASONS = {
    200: "OK", 400: "Bad Request", 403: "Forbidden", 405: "Method Not Allowed", 408: "Request Timeout",
    413: "Content Too Large", 414: "URI Too Long", 415: "Unsupported Media Type", 422: "Unprocessable Content",
    431: "Request Header Fields Too Large", 501: "Not Implemented", 505: "HTTP Version Not Supported",
}
TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
START_RE = re.compile(r"^(%s) (\S+) HTTP/(\d)\.(\d)$" % TOKEN)
HEADER_RE = re.compile(r"^(%s):[ \t]*(.*?)[ \t]*$" % TOKEN)


def http_response(status, fields, headers):
    body = encode_form(fields).encode("utf-8")
    head = ["HTTP/1.1 %d %s" % (status, REASONS.get(status, "Status"))]
    head += ["%s: %s" % (k, v) for k, v in headers]
    head.append("Content-Length: %d" % len(body))
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


class Request:
    def __init__(self, method, target, headers, body, keep_alive):
        self.method, self.target, self.headers, self.body, self.keep_alive = method, target, headers, body, keep_alive


def parse_request(buf):
    """One request from the front of `buf`: ('ok', request, used), ('more',) or ('error', status, reason)."""
    line_end = buf.find(CRLF)
    if line_end < 0:
        return ("error", 414, "request line over 4 KiB") if len(buf) > 4096 else ("more",)
    if line_end > 4096:
        return ("error", 414, "request line over 4 KiB")
    head_end = buf.find(CRLF + CRLF)
    if head_end < 0:
        return ("error", 431, "head over 8 KiB") if len(buf) > 8192 else ("more",)
    if head_end + 4 > 8192:
        return ("error", 431, "head over 8 KiB")
    head = buf[:head_end].decode("latin-1").split("\r\n")
    start = START_RE.match(head[0])
    if not start:
        return ("error", 400, "malformed request line")
    version = "%s.%s" % (start.group(3), start.group(4))
    if version not in ("1.0", "1.1"):
        return ("error", 505, "HTTP/%s is not supported" % version)
    if len(head) - 1 > 64:
        return ("error", 431, "over 64 header lines")
    headers = {}
    length = None
    for line in head[1:]:
        m = HEADER_RE.match(line)
        if not m:
            return ("error", 400, "malformed header line")
        name, value = m.group(1).lower(), m.group(2)
        if name == "content-length":
            if not re.fullmatch(r"\d{1,10}", value):
                return ("error", 400, "bad Content-Length")
            if length is not None and length != int(value):
                return ("error", 400, "conflicting Content-Length")
            length = int(value)
        headers[name] = headers[name] + ", " + value if name in headers else value
    if "transfer-encoding" in headers:
        return ("error", 501, "Transfer-Encoding is not supported")
    if version == "1.1" and "host" not in headers:
        return ("error", 400, "HTTP/1.1 without Host")
    length = length or 0
    if length > 16384:
        return ("error", 413, "body over 16 KiB")
    if len(buf) < head_end + 4 + length:
        return ("more",)
    connection = headers.get("connection", "").lower()
    keep_alive = "close" not in connection if version == "1.1" else "keep-alive" in connection
    body = buf[head_end + 4 : head_end + 4 + length]
    return ("ok", Request(start.group(1), start.group(2), headers, body, keep_alive), head_end + 4 + length)


def refusal(status, code, reason, decoded, headers=()):
    emit({"kind": "reject", "code": "f140." + code, "reason": reason, "detail": decoded})
    return {"status": status, "fields": [("error", code), ("reason", reason)], "headers": list(headers), "decoded": decoded}


# The ids seen, per (to, from) pair: the last 1024 of each, durable. Each id is a store entry of its
# own (`f140/seen/<12-digit seq>` holding {to, from, id}), so that marking one writes one small
# line, not the whole window. The sequence runs across pairs and needs no entry of its own: a
# window drops only its oldest id, never the one just added, so the highest number in the store is
# the last one used.
seen_seq = 0


def seen_of(to, sender):
    return seen_windows.setdefault((to, sender), {"ids": {}, "keys": []})


def remember(seen, key, msg_id):
    seen["ids"][msg_id] = seen["ids"].get(msg_id, 0) + 1
    seen["keys"].append(key)
    if len(seen["keys"]) > SEEN_WINDOW:
        oldest_key = seen["keys"].pop(0)
        old_id = store[oldest_key]["id"]
        seen["ids"][old_id] -= 1
        if seen["ids"][old_id] == 0:
            del seen["ids"][old_id]
        delete(oldest_key)


def mark_seen(seen, to, sender, msg_id):
    global seen_seq
    seen_seq += 1
    key = "%s%012d" % (SEEN_PREFIX, seen_seq)
    put(key, {"to": to, "from": sender, "id": msg_id})
    remember(seen, key, msg_id)


def serve(request):
    method = request.method.upper()
    if method not in ("GET", "POST"):
        return refusal(405, "method-not-allowed", "method %s is not GET or POST" % request.method, {"method": method},
                       [("Allow", "GET, POST")])
    args = {}
    _, q, query = request.target.partition("?")
    problem = decode_form(query if q else "", args)
    if not problem and method == "POST" and request.body:
        ctype = request.headers.get("content-type", "application/x-www-form-urlencoded").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            return refusal(415, "bad-request", "Content-Type %s is not a form" % ctype, {"method": method})
        try:
            body = request.body.decode("utf-8")
        except UnicodeDecodeError:
            return refusal(400, "bad-request", "the form body is not valid UTF-8", {"method": method})
        problem = decode_form(body, args)
    if problem:
        return refusal(400, "bad-request", problem, {"method": method})
    decoded = dict({"method": method}, **args)
    command = args.get("command")
    if command is None:
        return refusal(400, "missing-argument", "no command argument", decoded)
    verb = command.upper()
    if verb not in ("PING", "MSG"):
        return refusal(400, "unknown-command", "command %s is not PING or MSG" % json.dumps(command), decoded)
    for name in ["from_user", "challenge", "to_user"] + (["message"] if verb == "MSG" else []):
        if name not in args:
            return refusal(400, "missing-argument", "%s needs %s" % (verb, name), decoded)
    sender, to = args["from_user"], args["to_user"]
    friend = friend_of(to, sender)
    if not friend or friend["inbound"]["challenge"] != args["challenge"]:
        return refusal(403, "refused", "%s:<challenge>:%s is not a known friendship" % (sender, to), decoded)
    accepted = [("response", friend["inbound"]["response"])]
    if verb == "PING":
        reply_to = args.get("reply_to")
        address = None
        if reply_to is not None:
            m = re.fullmatch(r"([A-Za-z0-9.\-_]+|\[[0-9A-Fa-f:.]+\]):(\d{1,5})", reply_to)
            if not m or not 1 <= int(m.group(2)) <= 65535:
                return refusal(400, "bad-argument", "reply_to %s is not host:port" % json.dumps(reply_to), decoded)
            address = {"host": m.group(1), "port": int(m.group(2))}
            put("f140/address/" + sender, address)
        detail = {"from": sender, "to": to}
        if address:
            detail["address"] = address
        emit({"kind": "note", "what": "f140.ping.accepted", "detail": detail})
        return {"status": 200, "fields": accepted, "headers": [], "decoded": decoded, "pinged": sender}
    message = decode_message(args["message"])
    if isinstance(message, tuple):
        return refusal(message[0], message[1], message[2], decoded)
    if len(message) > 140:
        return refusal(422, "too-long", "text of %d code points is over 140" % len(message), decoded)
    msg_id = args.get("msg_id")
    group = args.get("group")
    seen = seen_of(to, sender)
    if msg_id is not None and CANARY != "dedup" and msg_id in seen["ids"]:
        emit({"kind": "note", "what": "f140.msg.duplicate", "detail": {"from": sender, "to": to, "id": msg_id}})
        return {"status": 200, "fields": accepted, "headers": [], "decoded": decoded}
    if msg_id is not None:
        mark_seen(seen, to, sender, msg_id)
    delivery = {"kind": "deliver", "user": to, "from": sender, "body": message}
    if msg_id is not None:
        delivery["id"] = msg_id
    if group is not None:
        delivery["detail"] = {"group": group}
    emit(delivery)
    return {"status": 200, "fields": accepted, "headers": [], "decoded": decoded}


sessions = {}  # inbound conn -> {"buf": bytes, "closing": bool}


def accept(conn):
    sessions[conn] = {"buf": b"", "closing": False}
    emit({"kind": "state", "machine": "f140.session " + conn, "value": "open"})
    emit({"kind": "timer.set", "id": "idle:" + conn, "delayMs": config["idleMs"]})


def end_session(conn, by_us):
    if conn not in sessions:
        return
    del sessions[conn]
    emit({"kind": "timer.cancel", "id": "idle:" + conn})
    emit({"kind": "state", "machine": "f140.session " + conn, "value": "closed"})
    if by_us:
        emit({"kind": "close", "conn": conn})


def session_data(conn, data):
    s = sessions.get(conn)
    if not s or s["closing"]:
        return
    s["buf"] += data
    while True:
        parsed = parse_request(s["buf"])
        if parsed[0] == "more":
            # The session waits for more, idle from now on (one this step closes needs no new timer).
            emit({"kind": "timer.set", "id": "idle:" + conn, "delayMs": config["idleMs"]})
            return
        keep_alive = False
        if parsed[0] == "error":
            answer = refusal(parsed[1], "bad-request", parsed[2], {"error": parsed[2]})
        else:
            s["buf"] = s["buf"][parsed[2]:]
            answer = serve(parsed[1])
            keep_alive = parsed[1].keep_alive
        headers = [("Content-Type", "application/x-www-form-urlencoded")] + answer["headers"]
        if not keep_alive:
            headers.append(("Connection", "close"))
        data_out = http_response(answer["status"], answer["fields"], headers)
        emit({
            "kind": "write",
            "conn": conn,
            "bytes": base64.b64encode(data_out).decode("ascii"),
            "decoded": {"status": answer["status"], "request": answer["decoded"], "response": dict(answer["fields"])},
        })
        if answer.get("pinged"):
            pinged(answer["pinged"])
        if not keep_alive:
            s["closing"] = True
            end_session(conn, True)
            return


# ---------------------------------------------------------------------------------------------------
# Users, friends, queues (client side).


# The config is fixed for the life of the process: friendships and remote users are looked up in
# tables made from it once, at start.
friendships = {}
remote_users = []


def index_config():
    friendships.clear()
    remote_users.clear()
    for user in config["users"]:
        # The first user of a name and the first friendship of a pair count, as a search would find them.
        friends = None if user["name"] in friendships else friendships.setdefault(user["name"], {})
        for friend in user["friends"]:
            if friends is not None and friend["user"] not in friends:
                friends[friend["user"]] = friend
            if friend["user"] not in remote_users:
                remote_users.append(friend["user"])


def friend_of(local, remote):
    return friendships.get(local, {}).get(remote)


def remotes():
    return remote_users


def outbox(remote):
    return "f140/outbox/%s/" % remote


def queued(remote):
    return [dict(store[k], key=k) for k in outboxes.get(remote, [])]


class Peer:
    def __init__(self, remote):
        self.remote = remote
        self.state = ""
        self.failures = 0
        self.call = None
        self.refusals = {}


peers = {}


def peer_for(remote):
    if remote not in peers:
        peers[remote] = Peer(remote)
    return peers[remote]


def set_state(p, state):
    if p.state != state:
        p.state = state
        emit({"kind": "state", "machine": "f140.peer " + p.remote, "value": state})


def address_of(local, remote):
    learned = store.get("f140/address/" + remote)
    if learned:
        return learned
    friend = friend_of(local, remote)
    return {"host": friend["host"], "port": friend["port"]}


next_conn = [1]
calls = {}  # outbound conn -> call


def http_request(target, fields):
    body = encode_form(fields).encode("utf-8")
    head = [
        "POST /f140 HTTP/1.1",
        "Host: " + target["host"],
        "Connection: close",
        "Content-Type: application/x-www-form-urlencoded",
        "Content-Length: %d" % len(body),
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def open_call(target, data, decoded, **info):
    conn = "o%d" % next_conn[0]
    next_conn[0] += 1
    calls[conn] = dict(info, data=data, decoded=decoded, buf=b"")
    emit({"kind": "connect", "conn": conn, "target": target})
    emit({"kind": "timer.set", "id": "call:" + conn, "delayMs": config["requestTimeoutMs"]})
    return conn


def oldest(remote):
    keys = outboxes.get(remote, [])
    while keys:
        m = dict(store[keys[0]], key=keys[0])
        if friend_of(m["from"], remote):
            return m
        delete(m["key"])
        emit({"kind": "timer.cancel", "id": "expire:" + m["key"]})
        emit({"kind": "reject", "code": "f140.unfriended", "reason": "%s no longer friends %s" % (m["from"], remote),
              "detail": {"id": m["id"], "to": remote}})
    return None


def ping(p):
    m = oldest(p.remote)
    local = m["from"] if m else next((u["name"] for u in config["users"] if friend_of(u["name"], p.remote)), None)
    if not local:
        set_state(p, "idle")
        return
    friend = friend_of(local, p.remote)
    target = address_of(local, p.remote)
    fields = [
        ("command", "PING"),
        ("from_user", local),
        ("challenge", friend["outbound"]["challenge"]),
        ("to_user", p.remote),
        ("reply_to", "%s:%d" % (config.get("advertiseHost") or me["host"], config["port"])),
    ]
    set_state(p, "pinging")
    p.call = open_call(target, http_request(target, fields), {"command": "PING", "from": local, "to": p.remote},
                       peer=p.remote, verb="PING", local=local, msg_key=m["key"] if m else None)


def push(p):
    m = oldest(p.remote)
    if not m:
        set_state(p, "idle")
        return
    friend = friend_of(m["from"], p.remote)
    target = address_of(m["from"], p.remote)
    fields = [
        ("command", "MSG"),
        ("from_user", m["from"]),
        ("challenge", friend["outbound"]["challenge"]),
        ("to_user", p.remote),
        ("message", '<msg kind="basic"><text>%s</text></msg>' % escape_xml(m["text"])),
        ("msg_id", m["id"]),
    ]
    if m.get("group") is not None:
        fields.append(("group", m["group"]))
    set_state(p, "pushing")
    p.call = open_call(target, http_request(target, fields),
                       {"command": "MSG", "from": m["from"], "to": p.remote, "id": m["id"]},
                       peer=p.remote, verb="MSG", local=m["from"], msg_key=m["key"])


def kick(remote):
    p = peer_for(remote)
    if p.call is None and p.state != "backingOff":
        ping(p)


def pinged(remote):
    if remote not in remotes():
        return
    p = peer_for(remote)
    if p.call is not None:
        return
    emit({"kind": "timer.cancel", "id": "backoff:" + remote})
    p.failures = 0
    if oldest(remote):
        push(p)
    else:
        set_state(p, "idle")


def transient(p, why):
    p.failures += 1
    set_state(p, "failing")
    delay = min(config["retryMsBase"] * 2 ** (p.failures - 1), config["retryMsMax"])
    emit({"kind": "note", "what": "f140.call.failed", "detail": {"to": p.remote, "why": why, "retryInMs": delay}})
    set_state(p, "backingOff")
    emit({"kind": "timer.set", "id": "backoff:" + p.remote, "delayMs": delay})


def classify(status, fields, local, remote):
    friend = friend_of(local, remote)
    if status == 200:
        if "response" not in fields or "error" in fields:
            return "transient"
        return "accepted" if friend and fields["response"] == friend["outbound"]["response"] else "refused"
    if "error" not in fields or "response" in fields:
        return "transient"
    if status in (408, 429) or status >= 500:
        return "transient"
    return "refused" if 400 <= status < 500 else "transient"


def drop(key, code, reason, status=None):
    if key not in store:
        return
    m = store[key]
    delete(key)
    emit({"kind": "timer.cancel", "id": "expire:" + key})
    detail = {"from": m["from"], "to": m["to"], "id": m["id"]}
    if status is not None:
        detail["status"] = status
    emit({"kind": "reject", "code": code, "reason": reason, "detail": detail})


def call_done(conn, status, fields):
    c = calls.pop(conn)
    emit({"kind": "timer.cancel", "id": "call:" + conn})
    if c.get("raw"):
        if status is None:
            emit({"kind": "reject", "code": "f140.raw.failed", "reason": fields, "detail": {"conn": conn}})
        else:
            emit({"kind": "note", "what": "f140.raw.response",
                  "detail": {"conn": conn, "status": status, "fields": dict(fields)}})
        return
    p = peer_for(c["peer"])
    if p.call != conn:
        return
    p.call = None
    if status is None:
        transient(p, fields)
        return
    verdict = classify(status, fields, c["local"], c["peer"])
    if verdict == "transient":
        transient(p, "answer %d" % status)
        return
    if verdict == "accepted":
        p.failures = 0
        if c["verb"] == "MSG":
            p.refusals.pop(c["local"], None)
            if c["msg_key"] in store:
                m = store[c["msg_key"]]
                delete(c["msg_key"])
                emit({"kind": "timer.cancel", "id": "expire:" + c["msg_key"]})
                emit({"kind": "note", "what": "f140.msg.accepted", "detail": {"from": m["from"], "to": c["peer"], "id": m["id"]}})
        set_state(p, "settling")
        push(p)
        return
    if c["verb"] == "PING" and c["msg_key"] is None:
        emit({"kind": "reject", "code": "f140.ping.refused", "reason": "%s refused our PING" % c["peer"],
              "detail": {"to": c["peer"], "status": status}})
        set_state(p, "idle")
        return
    if not p.refusals.get(c["local"]):
        p.refusals[c["local"]] = 1
        emit({"kind": "note", "what": "f140.refusal.unconfirmed", "detail": {"from": c["local"], "to": c["peer"], "status": status}})
        transient(p, "refusal %d" % status)
        return
    p.refusals.pop(c["local"], None)
    drop(c["msg_key"], "f140.refused", "%s refused the message" % c["peer"], status)
    if oldest(p.remote):
        ping(p)
    else:
        set_state(p, "idle")


def parse_response(buf, closed):
    head_end = buf.find(CRLF + CRLF)
    if head_end < 0:
        return {"bad": "truncated answer"} if closed else None
    head = buf[:head_end].decode("latin-1").split("\r\n")
    m = re.fullmatch(r"HTTP/1\.[01] (\d{3})(?: .*)?", head[0])
    if not m:
        return {"bad": "malformed status line"}
    length = None
    for line in head[1:]:
        name, colon, value = line.partition(":")
        if colon and name.strip().lower() == "content-length" and value.strip().isdigit():
            length = int(value.strip())
    body = buf[head_end + 4 :]
    if length is not None and len(body) < length:
        return {"bad": "truncated body"} if closed else None
    if length is None and not closed:
        return None
    try:
        text = (body if length is None else body[:length]).decode("utf-8")
    except UnicodeDecodeError:
        return {"bad": "answer not UTF-8"}
    fields = {}
    problem = decode_form(text.strip(), fields)
    if problem:
        return {"bad": problem}
    return {"status": int(m.group(1)), "fields": fields}


def call_data(conn, data, closed):
    c = calls.get(conn)
    if not c:
        return
    c["buf"] += data
    got = parse_response(c["buf"], closed)
    if got is None:
        return
    if not closed:
        emit({"kind": "close", "conn": conn})
    if "bad" in got:
        call_done(conn, None, got["bad"])
    else:
        call_done(conn, got["status"], got["fields"])


# ---------------------------------------------------------------------------------------------------
# Commands.


def local_reject(code, reason, detail):
    emit({"kind": "reject", "code": "f140.local." + code, "reason": reason, "detail": detail})


def queue_message(sender, to, text, group=None):
    if len(outboxes.get(to, [])) >= 1000:
        local_reject("queue-full", "the queue for %s is full" % to, {"from": sender, "to": to})
        return
    seq = store.get("f140/seq", 0) + 1
    put("f140/seq", seq)
    msg_id = "%s#%d" % (me["node"], seq)
    key = "%s%012d" % (outbox(to), seq)
    value = {"from": sender, "to": to, "text": text, "id": msg_id, "queuedAt": now}
    if group is not None:
        value["group"] = group
    put(key, value)
    emit({"kind": "timer.set", "id": "expire:" + key, "delayMs": config["queueExpiryMs"]})
    emit({"kind": "note", "what": "f140.msg.queued", "detail": {"from": sender, "to": to, "id": msg_id}})
    kick(to)


def command(cmd):
    kind = cmd.get("type") if isinstance(cmd, dict) else None
    if kind in ("send", "broadcast"):
        user = next((u for u in config["users"] if u["name"] == cmd["from"]), None)
        if not user:
            return local_reject("unknown-user", "%s is not a user of this node" % cmd["from"], cmd)
        if len(cmd["text"]) > 140:
            return local_reject("too-long", "text of %d code points is over 140" % len(cmd["text"]), cmd)
        if kind == "send":
            if not friend_of(cmd["from"], cmd["to"]):
                return local_reject("not-friend", "%s is not a friend of %s" % (cmd["to"], cmd["from"]), cmd)
            return queue_message(cmd["from"], cmd["to"], cmd["text"])
        members = user["groups"].get(cmd["group"])
        if members is None:
            return local_reject("unknown-group", "%s has no group %s" % (cmd["from"], cmd["group"]), cmd)
        for member in members:
            queue_message(cmd["from"], member, cmd["text"], cmd["group"])
        return
    if kind == "ping":
        if cmd["to"] not in remotes():
            return local_reject("not-friend", "%s is no local user's friend" % cmd["to"], cmd)
        p = peer_for(cmd["to"])
        if p.call is None:
            emit({"kind": "timer.cancel", "id": "backoff:" + cmd["to"]})
            ping(p)
        return
    if kind == "raw":
        open_call({"host": cmd["host"], "port": cmd["port"]}, cmd["request"].encode("utf-8"), {"raw": True}, raw=True)
        return
    local_reject("command-invalid", "not an F140 command", cmd)


# ---------------------------------------------------------------------------------------------------
# Inputs.


def start(line):
    global config, me, seen_seq
    me = {"node": line["node"], "host": line["host"]}
    config = line["config"]
    index_config()
    for key in sorted(ask({"kind": "store.keys", "prefix": ""})["keys"]):
        value = ask({"kind": "store.get", "key": key}).get("value")
        store[key] = value
        indexed(key, True)
        if key.startswith(SEEN_PREFIX):
            remember(seen_of(value["to"], value["from"]), key, value["id"])
            seen_seq = int(key[len(SEEN_PREFIX):])  # the keys come in order: the last is the highest
    if CANARY == "volatile":
        for key in keys_with("f140/outbox/"):
            delete(key)
    emit({"kind": "listen", "endpoint": {"host": me["host"], "port": config["port"]}})
    for remote in remotes():
        p = peer_for(remote)
        set_state(p, "starting")
        for m in queued(remote):
            left = m["queuedAt"] + config["queueExpiryMs"] - now
            emit({"kind": "timer.set", "id": "expire:" + m["key"], "delayMs": max(0, left)})
        if config["announce"] or oldest(remote):
            ping(p)
        else:
            set_state(p, "idle")


def timer(timer_id):
    what, _, rest = timer_id.partition(":")
    if what == "idle":
        end_session(rest, True)
    elif what == "backoff":
        p = peer_for(rest)
        if p.call is None:
            ping(p)
    elif what == "call":
        if rest in calls:
            emit({"kind": "close", "conn": rest})
            call_done(rest, None, "timeout")
    elif what == "expire":
        drop(rest, "f140.expired", "not delivered within %dms" % config["queueExpiryMs"])


def step(line):
    global now
    if "now" in line:
        now = line["now"]
    kind = line["kind"]
    if kind == "start":
        start(line)
    elif kind == "conn.accepted":
        accept(line["conn"])
    elif kind == "conn.opened":
        c = calls.get(line["conn"])
        if c:
            emit({"kind": "write", "conn": line["conn"], "bytes": base64.b64encode(c["data"]).decode("ascii"),
                  "decoded": c["decoded"]})
    elif kind == "conn.failed":
        if line["conn"] in calls:
            call_done(line["conn"], None, "connect " + line["reason"])
    elif kind == "conn.data":
        data = base64.b64decode(line["bytes"])
        if line["conn"] in sessions:
            session_data(line["conn"], data)
        else:
            call_data(line["conn"], data, False)
    elif kind == "conn.closed":
        if line["conn"] in sessions:
            end_session(line["conn"], False)
        elif line["conn"] in calls:
            call_data(line["conn"], b"", True)
    elif kind == "timer":
        timer(line["id"])
    elif kind == "command":
        command(line["command"])
    elif kind == "stop":
        # A graceful stop: the store is written through already, so there is nothing to save.
        pass
    emit({"kind": "end"})
    flush()


def main():
    while True:
        line = stdin.readline()
        if not line:
            return
        if line.strip():
            step(json.loads(line))


if __name__ == "__main__":
    main()
