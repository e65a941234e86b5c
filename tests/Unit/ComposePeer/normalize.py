#!/usr/bin/env python3
"""Brings `docker-compose config` (1.29.2) output and ConvertFrom-ContainerCompose -AsYaml output to one
comparable form, for tests/Unit/ComposeLoader.Tests.ps1's peer test. docs/COMPOSE.md lists each allowance
made here and why (1.29.2 is older than the Compose Specification the loader follows).

usage: normalize.py FILE.yaml  -> prints the normalised document as sorted JSON"""
import json
import re
import shlex
import sys

import yaml


def duration(v):
    # "1m30s", "90s", "500ms" -> seconds
    if isinstance(v, (int, float)):
        return float(v)
    total = 0.0
    for n, unit in re.findall(r"([0-9.]+)(ns|us|ms|s|m|h)", str(v)):
        total += float(n) * {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}[unit]
    return total


def volume(v):
    if isinstance(v, str):
        parts = v.split(":")
        r = {}
        if len(parts) == 1:
            r = {"type": "volume", "target": parts[0]}
        else:
            src, dst = parts[0], parts[1]
            mode = parts[2] if len(parts) > 2 else "rw"
            r = {"type": "bind" if src.startswith("/") else "volume", "source": src, "target": dst}
            if "ro" in mode.split(","):
                r["read_only"] = True
        return r
    r = dict(v)
    # ConvertFrom-ContainerCompose writes compose-go's defaults: bind.create_host_path, an empty volume: {}
    if isinstance(r.get("bind"), dict):
        r["bind"] = {k: x for k, x in r["bind"].items() if k != "create_host_path"}
        if not r["bind"]:
            del r["bind"]
    if r.get("volume") == {}:
        del r["volume"]
    if r.get("read_only") is False:
        del r["read_only"]
    return r


def port(p):
    if isinstance(p, (str, int)):
        raise ValueError("short port syntax left: %r" % p)
    r = {"target": int(p["target"])}
    if p.get("published") is not None:
        r["published"] = str(p["published"])
    if p.get("host_ip"):
        r["host_ip"] = p["host_ip"]
    r["protocol"] = p.get("protocol") or "tcp"
    return r


def command(c):
    return shlex.split(c) if isinstance(c, str) else c


def service(s):
    s = dict(s)
    if isinstance(s.get("build"), str):
        s["build"] = {"context": s["build"]}
    if isinstance(s.get("build"), dict):
        b = dict(s["build"])
        if b.get("dockerfile") == "Dockerfile":
            del b["dockerfile"]
        s["build"] = b
    for k in ("command", "entrypoint"):
        if k in s:
            s[k] = command(s[k])
    nets = s.get("networks")
    if isinstance(nets, list):
        nets = {n: None for n in nets}
    if nets == {"default": None}:
        nets = None
    if nets is None:
        s.pop("networks", None)
    else:
        s["networks"] = nets
    deps = s.get("depends_on")
    if isinstance(deps, list):
        deps = {d: {"condition": "service_started"} for d in deps}
    if deps is not None:
        s["depends_on"] = {d: {k: v for k, v in (c or {}).items() if not (k == "required" and v is True)} for d, c in deps.items()}
    if "ports" in s:
        s["ports"] = sorted((port(p) for p in s["ports"]), key=lambda x: json.dumps(x, sort_keys=True))
    if "expose" in s:
        s["expose"] = sorted(str(e) for e in s["expose"])
    if "volumes" in s:
        s["volumes"] = sorted((volume(v) for v in s["volumes"]), key=lambda x: x["target"])
    if isinstance(s.get("environment"), dict):
        s["environment"] = {k: (None if v is None else str(v)) for k, v in s["environment"].items()}
    if isinstance(s.get("healthcheck"), dict):
        h = dict(s["healthcheck"])
        for k in ("interval", "timeout", "start_period", "start_interval"):
            if k in h:
                h[k] = duration(h[k])
        s["healthcheck"] = h
    if "stop_grace_period" in s:
        s["stop_grace_period"] = duration(s["stop_grace_period"])
    if isinstance(s.get("env_file"), list):
        s["env_file"] = [e["path"] if isinstance(e, dict) else e for e in s["env_file"]]
    return s


def resources(kind, res, project):
    out = {}
    for k, v in (res or {}).items():
        v = dict(v or {})
        # the names compose-go writes out are the names 1.29.2 gives them too (<project>_<key>, or the key when external)
        if "name" in v and v["name"] in ("%s_%s" % (project, k), k if v.get("external") else None):
            del v["name"]
        out[k] = v
    return out


def main():
    with open(sys.argv[1]) as f:
        doc = yaml.safe_load(f) or {}
    project = sys.argv[2]
    out = {"services": {n: service(s) for n, s in (doc.get("services") or {}).items()}}
    for kind in ("networks", "volumes", "secrets", "configs"):
        r = resources(kind, doc.get(kind), project)
        # compose-go declares the default network it gives services; 1.29.2 creates it without writing it
        if kind == "networks":
            r.pop("default", None) if r.get("default") == {} else None
        if r:
            out[kind] = r
    print(json.dumps(out, sort_keys=True, indent=1))


main()
