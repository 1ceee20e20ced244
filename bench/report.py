#!/usr/bin/env python3
"""Turns the raw rows bench/run collects into bench/results/<scenario>.json and a table on
stderr. Standard library only.

  report.py streams   ROWS.jsonl DST.json SECONDS USERS PACE_MS
  report.py messages  ROWS.jsonl DST.json SECONDS
  report.py history   ROWS.jsonl DST.json SECONDS
  report.py callgrind ROWS.jsonl DST.json
  report.py cg-mallocs CALLGRIND.OUT            prints "<calls to malloc> <of them from SQLite>"

Every result carries the exact command (BENCH_COMMAND), the date and the machine.
"""
import datetime
import json
import os
import platform
import statistics
import sys


def machine():
    model = "unknown"
    try:
        model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                      if l.startswith("model name")), "unknown")
    except OSError:
        pass
    mem_kb = None
    try:
        mem_kb = int(next(l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal")))
    except (OSError, StopIteration):
        pass
    return {"cpu": model, "cores": os.cpu_count(), "kernel": platform.release(),
            "memory_mb": mem_kb // 1024 if mem_kb else None}


def header(scenario):
    return {"scenario": scenario,
            "command": os.environ.get("BENCH_COMMAND", "bench/run " + scenario),
            "date": datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "machine": machine()}


def rows(path):
    return [json.loads(l) for l in open(path) if l.strip()]


def r3(x):
    return None if x is None else round(x, 3)


def err(*a):
    print(*a, file=sys.stderr)


# ---- streams ---------------------------------------------------------------------------------

def stream_summary(res):
    """The figures of one client run that the tables use."""
    w, srv = res.get("window", {}), res.get("server", {})
    seconds = res.get("seconds") or 1
    chunks = w.get("chunks", 0)
    out = {
        "connections": res.get("connections"),
        "streams_recorded": res.get("streams"), "chunks_recorded": res.get("chunks"),
        "errors": res.get("errors"), "error_kinds": res.get("error_kinds", {}),
        "ttfb_ms": res.get("ttfb_ms"), "ttfc_ms": res.get("ttfc_ms"), "gap_ms": res.get("gap_ms"),
        "chunk_ms": res.get("chunk_ms"), "total_ms": res.get("total_ms"),
        "window": w,
        "server_cpu_s": srv.get("cpu_s"),
        "cpu_s_per_1000_chunks": r3(srv["cpu_s"] * 1000 / chunks) if chunks and srv.get("pids") else None,
        "server_rss_kb": {"idle": srv.get("idle_rss_kb"), "max": srv.get("rss_kb_max"),
                          "mean": srv.get("rss_kb_mean")},
        "server_open_fds": srv.get("open_fds"),
        "chunks_per_s": round(chunks / seconds, 1),
        # The whole machine's busy share in the window: above 0.9 the run measured a saturated
        # machine (or other work on it), not the path.
        "machine_busy": w.get("machine_busy"),
        "machine_saturated": (w.get("machine_busy") or 0) > 0.9,
    }
    conns = res.get("connections") or 1
    if srv.get("pids") and srv.get("rss_kb_max"):
        out["rss_kib_per_stream"] = round((srv["rss_kb_max"] - srv["idle_rss_kb"]) / conns, 2)
    return out


def added(path, direct):
    def d(metric, q):
        a, b = path.get(metric) or {}, direct.get(metric) or {}
        if not a.get("count") or not b.get("count"):
            return None
        return round(a[q] - b[q], 3)
    return {"ttfb_p50": d("ttfb_ms", "p50"), "ttfc_p50": d("ttfc_ms", "p50"), "ttfc_p99": d("ttfc_ms", "p99"),
            "gap_p50": d("gap_ms", "p50"), "gap_p99": d("gap_ms", "p99"),
            "chunk_p50": d("chunk_ms", "p50"), "chunk_p99": d("chunk_ms", "p99")}


def report_streams(src, dst, seconds, users, pace):
    data = rows(src)
    out = header("streams")
    levels = sorted({r["level"] for r in data})
    out["load"] = {
        "levels": levels, "seconds_per_measurement": float(seconds), "users": int(users),
        "fake": f"bench_fake_gemini: 64 frames x 16 bytes of text, one every {pace} ms, real alt=sse frames",
        "pace_ms": int(pace), "ramp_s": round(64 * int(pace) / 1000 + 0.02, 3),
        "client": "bench_stream_client (one thread, Asio): each connection sends one request after "
                  "another; connections opened over a ramp; streams started in the window recorded",
        "paths": {"direct": "client -> fake",
                  "nginx": "client -> nginx (proxy_buffering off, keep-alive upstream) -> fake",
                  "atelier": "client -> POST /api/chat/:id/message (SQLite, JWT, quota, history, saves) -> fake"},
        "fresh_processes": "nginx and Atelier are started afresh for every level (idle RSS measured "
                           "before the first connection)"}
    out["levels"] = {}
    for lv in levels:
        by = {r["path"]: r for r in data if r["level"] == lv}
        entry = {}
        for p in ("direct", "nginx", "atelier"):
            if p in by:
                entry[p] = stream_summary(by[p]["result"])
                for k in ("log_problems", "log_sample"):
                    if k in by[p]:
                        entry[p][k] = by[p][k]
        if "direct" in entry:
            entry["added_vs_direct_ms"] = {p: added(entry[p], entry["direct"])
                                           for p in ("nginx", "atelier") if p in entry}
        n, a = entry.get("nginx", {}), entry.get("atelier", {})
        if n.get("cpu_s_per_1000_chunks") and a.get("cpu_s_per_1000_chunks"):
            entry["cpu_per_chunk_atelier_vs_nginx"] = round(a["cpu_s_per_1000_chunks"] / n["cpu_s_per_1000_chunks"], 2)
        out["levels"][str(lv)] = entry
    out["targets"] = stream_targets(out["levels"])
    out["raw"] = data
    json.dump(out, open(dst, "w"), indent=2)

    err(f"{'level':>6} {'path':8} {'ttfb p50':>9} {'ttfc p50':>9} {'ttfc p99':>9} {'gap p99':>8} "
        f"{'chunk p99':>9} {'+ttfc p50':>9} {'+ttfc p99':>9} {'+gap p99':>8} {'cpu s/1k':>8} "
        f"{'KiB/strm':>8} {'open':>7} {'busy':>5} {'errors':>6}   (ms)")
    for lv in levels:
        e = out["levels"][str(lv)]
        for p in ("direct", "nginx", "atelier"):
            if p not in e:
                continue
            s = e[p]
            ad = e.get("added_vs_direct_ms", {}).get(p, {})

            def f(x, w=9):
                return f"{x:{w}.3f}" if isinstance(x, (int, float)) else f"{'-':>{w}}"
            err(f"{lv:>6} {p:8} {f((s['ttfb_ms'] or {}).get('p50'))} {f((s['ttfc_ms'] or {}).get('p50'))} "
                f"{f((s['ttfc_ms'] or {}).get('p99'))} {f((s['gap_ms'] or {}).get('p99'), 8)} "
                f"{f((s['chunk_ms'] or {}).get('p99'))} {f(ad.get('ttfc_p50'))} {f(ad.get('ttfc_p99'))} "
                f"{f(ad.get('gap_p99'), 8)} {f(s.get('cpu_s_per_1000_chunks'), 8)} "
                f"{f(s.get('rss_kib_per_stream'), 8)} {s['window'].get('open_mean', 0):7.0f} "
                f"{s['window'].get('machine_busy', 0):5.2f} {s['errors']:6}")
    busy = [f"{lv} {p}" for lv in levels for p in ("direct", "nginx", "atelier")
            if out["levels"][str(lv)].get(p, {}).get("machine_saturated")]
    if busy:
        err(f"warning: the machine was more than 90 % busy during: {', '.join(busy)} "
            "(the client, the fake and the relay share its cores; or something else ran)")
    for t in out["targets"]:
        err(f"target {t['target']}: {t['value']} -> {'met' if t['met'] else 'NOT met' if t['met'] is False else 'not measured'}")


def stream_targets(levels):
    def get(lv, *keys):
        v = levels.get(str(lv))
        for k in keys:
            if not isinstance(v, dict) or k not in v:
                return None
            v = v[k]
        return v
    t = []

    def add(name, value, limit):
        t.append({"target": name, "value": value, "limit": limit,
                  "met": None if value is None else value <= limit})
    add("atelier added ttfc p99 at 100 streams (ms)", get(100, "added_vs_direct_ms", "atelier", "ttfc_p99"), 1.0)
    add("atelier added ttfc p99 at 1000 streams (ms)", get(1000, "added_vs_direct_ms", "atelier", "ttfc_p99"), 5.0)
    gaps = [get(lv, "added_vs_direct_ms", "atelier", "gap_p99") for lv in levels]
    gaps = [g for g in gaps if g is not None]
    add("atelier added gap p99, worst level (ms)", max(gaps) if gaps else None, 1.0)
    add("atelier RSS per open stream at 5000 streams (KiB)", get(5000, "atelier", "rss_kib_per_stream"), 64.0)
    open5k = get(5000, "atelier", "window", "open_min")
    t.append({"target": "5000 streams open at once on one instance (fewest open in the window)",
              "value": open5k, "limit": 5000, "met": None if open5k is None else open5k >= 5000})
    ratios = [get(lv, "cpu_per_chunk_atelier_vs_nginx") for lv in levels]
    ratios = [r for r in ratios if r is not None]
    add("atelier CPU per relayed chunk / nginx's, worst level", max(ratios) if ratios else None, 3.0)
    return t


# ---- messages --------------------------------------------------------------------------------

def report_messages(src, dst, seconds):
    data = rows(src)
    out = header("messages")
    out["load"] = {"seconds": float(seconds),
                   "fake": "one frame per reply (FRAMES=1, no pacing)",
                   "client": "bench_stream_client atelier: each client sends one message after another "
                             "in its own chat (chats spread over the users); 'fresh': each message a "
                             "new first message of its chat (no history), the fixed cost"}
    out["stores"] = {}
    for r in data:
        res = r["result"]
        w, srv = res["window"], res["server"]
        n = w.get("streams_completed", 0)
        key = r["store"] + ("" if r.get("history", "grows") == "grows" else " fresh")
        out["stores"][key] = {
            "history": r.get("history", "grows"),
            "clients": res["connections"], "users": r.get("users"),
            "messages_per_s": round(n / float(seconds), 1),
            "server_cpu_ms_per_message": r3(srv["cpu_s"] * 1000 / n) if n else None,
            "server_cpu_cores_busy": r3(srv["cpu_s"] / float(seconds)),
            "ttfc_ms": res["ttfc_ms"], "total_ms": res["total_ms"],
            "errors": res["errors"], "error_kinds": res["error_kinds"],
            "server_rss_kb_max": srv.get("rss_kb_max"),
            "log_problems": r.get("log_problems"), "log_sample": r.get("log_sample"),
        }
        if r.get("postgres_cpu_s") is not None:
            # Measured around the whole client run (ramp, window, drain): per completed message.
            done = res.get("requests_completed") or 0
            out["stores"][key]["postgres_cpu_ms_per_message"] = \
                r3(r["postgres_cpu_s"] * 1000 / done) if done else None
    out["targets"] = [{"target": f"server CPU per one-chunk message on {k} (ms)",
                       "value": v["server_cpu_ms_per_message"], "limit": 2.0,
                       "met": None if v["server_cpu_ms_per_message"] is None else v["server_cpu_ms_per_message"] <= 2.0}
                      for k, v in out["stores"].items()]
    out["raw"] = data
    json.dump(out, open(dst, "w"), indent=2)
    err(f"{'store':15} {'msgs/s':>8} {'cpu ms/msg':>10} {'+pg ms/msg':>10} {'ttfc p50':>9} {'ttfc p99':>9} {'errors':>6}")
    for k, v in out["stores"].items():
        pg = v.get("postgres_cpu_ms_per_message")
        err(f"{k:15} {v['messages_per_s']:8.1f} {v['server_cpu_ms_per_message'] or 0:10.3f} "
            f"{(f'{pg:10.3f}' if pg is not None else f'{chr(45):>10}')} "
            f"{v['ttfc_ms']['p50']:9.2f} {v['ttfc_ms']['p99']:9.2f} {v['errors']:6}")


# ---- history ---------------------------------------------------------------------------------

def report_history(src, dst, seconds):
    data = rows(src)
    meta = next(r for r in data if r.get("kind") == "meta")
    rounds = [r for r in data if r.get("kind") == "round"]
    out = header("history")
    out["load"] = {"tool": "wrk", "threads": 1, "connections": meta["connections"],
                   "seconds": float(seconds), "rounds": len(rounds) // 2,
                   "request": "GET /api/chat/:id (bearer token), default limit 100",
                   "baseline": "nginx serving a file with the same bytes and Content-Type (sendfile on)"}
    out["body"] = {"bytes": meta["bytes"], "messages": meta["messages"], "content_type": meta["content_type"]}

    def med(server, key):
        vals = [r[key] for r in rounds if r["server"] == server and r.get(key) is not None]
        return statistics.median(vals) if vals else None
    for s in ("nginx", "atelier"):
        out[s] = {"requests_per_second_median": med(s, "rps"),
                  "cpu_us_per_request_median": med(s, "cpu_us"),
                  "p99": [r["p99"] for r in rounds if r["server"] == s],
                  "non_2xx": sum(r.get("non2xx", 0) for r in rounds if r["server"] == s),
                  "rounds": [r["rps"] for r in rounds if r["server"] == s]}
    n, a = out["nginx"]["requests_per_second_median"], out["atelier"]["requests_per_second_median"]
    out["ratio"] = round(a / n, 3) if n and a else None
    nc, ac = out["nginx"]["cpu_us_per_request_median"], out["atelier"]["cpu_us_per_request_median"]
    out["cpu_per_request_ratio"] = round(ac / nc, 2) if nc and ac else None
    json.dump(out, open(dst, "w"), indent=2)
    err(f"body: {meta['bytes']} bytes, {meta['messages']} messages, {meta['content_type']}")
    err(f"{'server':8} {'req/s':>10} {'cpu us/req':>10}   rounds")
    for s in ("nginx", "atelier"):
        err(f"{s:8} {out[s]['requests_per_second_median'] or 0:10.1f} {out[s]['cpu_us_per_request_median'] or 0:10.1f}   {out[s]['rounds']}")
    err(f"ratio atelier/nginx: {out['ratio']}, CPU per request ratio: {out['cpu_per_request_ratio']}")


# ---- callgrind -------------------------------------------------------------------------------

ALLOCATORS = ("malloc", "calloc", "realloc")


def cg_mallocs(path):
    """Calls to malloc/calloc/realloc in a callgrind dump (operator new's included: it calls
    malloc), and how many of them SQLite made (from sqlite3* functions, directly or through an
    unnamed stub they call)."""
    names, fn, cfn = {}, None, None
    calls = {}  # (caller, callee) -> count

    def name(s):
        s = s.strip()
        if s.startswith("("):
            ident, _, rest = s.partition(")")
            if rest.strip():
                names[ident] = rest.strip()
            return names.get(ident, ident)
        return s
    with open(path) as f:
        for line in f:
            if line.startswith("fn="):
                fn = name(line[3:])
            elif line.startswith("cfn="):
                cfn = name(line[4:])
            elif line.startswith("calls="):
                key = (fn, cfn)
                calls[key] = calls.get(key, 0) + int(line[6:].split()[0])
    total = sqlite = 0.0
    for (caller, callee), n in calls.items():
        if callee not in ALLOCATORS:
            continue
        total += n
        if caller.startswith("sqlite3"):
            sqlite += n
        elif caller.startswith("0x"):  # a stub: SQLite's share of the calls into it
            into = [(c, m) for (c, t), m in calls.items() if t == caller]
            all_in = sum(m for _, m in into)
            if all_in:
                sqlite += n * sum(m for c, m in into if c.startswith("sqlite3")) / all_in
    print(round(total), round(sqlite))


def report_callgrind(src, dst):
    data = rows(src)
    out = header("callgrind")
    meta = next(r for r in data if r.get("kind") == "meta")
    out["load"] = {k: meta[k] for k in meta if k != "kind"}
    out["method"] = ("valgrind --tool=callgrind; after a warm-up, counters zeroed (callgrind_control -z) "
                     "and dumped (-d) around an idle period, a load of replies of 64 chunks and a load "
                     "of one-chunk replies (same streams); each load less the idle rate times its "
                     "duration. all_in = load(64) / chunks; marginal = (load(64) - load(1)) / "
                     "(chunks(64) - chunks(1)); per_stream = load(1) / streams - marginal")
    for name in ("nginx", "atelier"):
        runs = {r["frames"]: r for r in data if r.get("kind") == "server" and r["server"] == name}
        if 64 not in runs:
            continue
        net, info = {}, {}
        for f, r in runs.items():
            idle_rate = r["idle_ir"] / r["idle_s"] if r["idle_s"] > 0 else 0
            net[f] = r["load_ir"] - idle_rate * r["load_s"]
            res = r["result"]
            info[f] = {"load_ir": r["load_ir"], "load_s": round(r["load_s"], 3),
                       "idle_ir_per_s": round(idle_rate), "net_ir": round(net[f]),
                       "mallocs": r.get("mallocs"), "mallocs_sqlite": r.get("mallocs_sqlite"),
                       "streams": res.get("streams"), "chunks": res.get("chunks"), "errors": res.get("errors")}
        c64 = info[64]["chunks"] or 0
        entry = {"runs": info,
                 "ir_per_chunk_all_in": round(net[64] / c64) if c64 else None}
        if 1 in info and c64 and info[1]["chunks"] is not None and c64 > info[1]["chunks"]:
            marginal = (net[64] - net[1]) / (c64 - info[1]["chunks"])
            entry["ir_per_chunk_marginal"] = round(marginal)
            if info[64]["mallocs"] is not None and info[1]["mallocs"] is not None:
                # Allocations a relayed chunk adds: all of them, and those outside SQLite (whose
                # share is the reply's one save at its end, its search index longer with it).
                dc = c64 - info[1]["chunks"]
                entry["mallocs_per_chunk_marginal"] = round((info[64]["mallocs"] - info[1]["mallocs"]) / dc, 2)
                entry["mallocs_per_chunk_marginal_outside_sqlite"] = round(
                    ((info[64]["mallocs"] - info[64]["mallocs_sqlite"])
                     - (info[1]["mallocs"] - info[1]["mallocs_sqlite"])) / dc, 2)
            if info[1]["streams"]:
                entry["ir_per_stream"] = round(net[1] / info[1]["streams"] - marginal)
        out[name] = entry

    def ratio(key):
        a, n = out.get("atelier", {}).get(key), out.get("nginx", {}).get(key)
        return round(a / n, 2) if a and n else None
    out["ratio_atelier_vs_nginx"] = {"all_in": ratio("ir_per_chunk_all_in"),
                                     "marginal": ratio("ir_per_chunk_marginal"),
                                     "per_stream": ratio("ir_per_stream")}
    r = out["ratio_atelier_vs_nginx"]["marginal"]
    out["targets"] = [{"target": "atelier instructions per relayed chunk (marginal) / nginx's",
                       "value": r, "limit": 3.0, "met": None if r is None else r <= 3.0}]
    json.dump(out, open(dst, "w"), indent=2)
    err(f"{'server':8} {'Ir/chunk all-in':>15} {'Ir/chunk marginal':>17} {'Ir/stream':>10} {'chunks':>7} {'errors':>6}")
    for s in ("nginx", "atelier"):
        if s in out:
            v = out[s]
            err(f"{s:8} {v['ir_per_chunk_all_in'] or 0:15} {v.get('ir_per_chunk_marginal') or 0:17} "
                f"{v.get('ir_per_stream') or 0:10} {v['runs'][64]['chunks']:7} "
                f"{sum((x['errors'] or 0) for x in v['runs'].values()):6}")
    err(f"ratio atelier/nginx: {out['ratio_atelier_vs_nginx']}")
    for s in ("nginx", "atelier"):
        if s in out and "mallocs_per_chunk_marginal" in out[s]:
            err(f"{s}: allocations per relayed chunk (marginal) {out[s]['mallocs_per_chunk_marginal']}, "
                f"outside SQLite {out[s]['mallocs_per_chunk_marginal_outside_sqlite']}")


def main():
    a = sys.argv[1:]
    if len(a) == 6 and a[0] == "streams":
        report_streams(*a[1:])
    elif len(a) == 4 and a[0] == "messages":
        report_messages(*a[1:])
    elif len(a) == 4 and a[0] == "history":
        report_history(*a[1:])
    elif len(a) == 3 and a[0] == "callgrind":
        report_callgrind(*a[1:])
    elif len(a) == 2 and a[0] == "cg-mallocs":
        cg_mallocs(a[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
