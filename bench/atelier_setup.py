#!/usr/bin/env python3
"""Bulk set-up for the benchmarks, over keep-alive connections and a few threads.

  atelier_setup.py chats PORT COUNT TOKEN...        creates COUNT chats, spread over the users
                                                     whose access tokens are given; prints
                                                     "<chat_id> <token>" lines, the users
                                                     interleaved (any prefix spreads over all)
  atelier_setup.py messages PORT TOKEN CHAT COUNT   sends COUNT messages to one chat, one after
                                                     another, reading each reply to its end

Standard library only. Exits non-zero on the first failed request.
"""
import http.client
import json
import sys
import threading


def conn(port):
    return http.client.HTTPConnection("127.0.0.1", port, timeout=120)


def create_chats(port, count, tokens, threads=8):
    out = [None] * count
    errors = []
    lock = threading.Lock()
    next_index = [0]

    def work():
        c = conn(port)
        while True:
            with lock:
                i = next_index[0]
                next_index[0] += 1
            if i >= count or errors:
                return
            token = tokens[i % len(tokens)]
            try:
                c.request("POST", "/api/chat", body="{}", headers={
                    "Authorization": "Bearer " + token, "Content-Type": "application/json"})
                r = c.getresponse()
                body = r.read()
                if r.status != 201:
                    raise RuntimeError(f"POST /api/chat: {r.status} {body[:200]!r}")
                out[i] = json.loads(body)["chat_id"] + " " + token
            except Exception as e:  # noqa: BLE001 - reported, then exit 1
                errors.append(str(e))
                return

    ts = [threading.Thread(target=work) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        sys.exit("atelier_setup: " + errors[0])
    print("\n".join(out))


def send_messages(port, token, chat, count):
    c = conn(port)
    for i in range(count):
        body = json.dumps({"message": f"History message {i}: suggest a palette for a generative series"})
        c.request("POST", f"/api/chat/{chat}/message", body=body, headers={
            "Authorization": "Bearer " + token, "Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read()
        if r.status != 200 or b"event: done" not in data:
            sys.exit(f"atelier_setup: message {i}: {r.status} {data[-300:]!r}")


def main():
    if len(sys.argv) >= 5 and sys.argv[1] == "chats":
        create_chats(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:])
    elif len(sys.argv) == 6 and sys.argv[1] == "messages":
        send_messages(int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
