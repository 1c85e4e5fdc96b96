#!/usr/bin/env python3
"""Sanity checks for the feedback corpus.

- every labels.jsonl line is JSON with the expected keys/values
- every labelled file exists and every .eml is labelled exactly once
- every .eml parses with email.policy.default without defects (all parts, all headers)
- text parts decode cleanly (base64 / quoted-printable / charsets)
- targets are syntactically valid addresses or @domains
Prints counts per kind / class / lang.
"""
import collections
import email
import email.policy
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FOLDERS = ("replies", "auto", "dsn", "arf")
KINDS = {"dsn", "arf", "auto-reply", "reply", "unknown"}
CLASSES = {"unsubscribe", "unsubscribe-company", "legal", "not-interested", "positive", "redirect", "unclear"}
REASONS = {"hard-bounce", "complaint", "unsubscribe", "legal", "not-interested"}
ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
DOT_ATOM = rf"{ATEXT}(?:\.{ATEXT})*"
DOMAIN = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}"
ADDR_RE = re.compile(rf"^{DOT_ATOM}@{DOMAIN}$")
DOM_RE = re.compile(rf"^@{DOMAIN}$")
STATUS_RE = re.compile(r"^[245]\.\d{1,3}\.\d{1,3}$")

errors = []


def err(msg):
    errors.append(msg)


def walk(msg, path, fname):
    for d in msg.defects:
        err(f"{fname}: defect at {path}: {d!r}")
    for k, v in msg.items():
        for d in getattr(v, "defects", ()):
            err(f"{fname}: header {k} at {path}: {d!r}")
    ct = msg.get_content_type()
    if msg.is_multipart():
        payload = msg.get_payload()
        if ct == "message/rfc822" or ct == "message/delivery-status" or ct == "message/feedback-report" \
                or ct == "message/disposition-notification":
            pass
        if isinstance(payload, list):
            for i, p in enumerate(payload):
                walk(p, f"{path}.{i}", fname)
        return
    if msg.get_content_maintype() == "text":
        try:
            msg.get_content()
        except Exception as e:  # noqa: BLE001
            err(f"{fname}: cannot decode {ct} at {path}: {e}")
        cte = msg.get("Content-Transfer-Encoding", "7bit").lower()
        raw = msg.get_payload(decode=False)
        if cte == "7bit" and any(ord(c) > 127 for c in raw):
            err(f"{fname}: 8-bit data in 7bit part at {path}")
        for d in msg.defects:
            err(f"{fname}: defect in {ct} at {path}: {d!r}")


def main():
    labels = []
    with open(os.path.join(HERE, "labels.jsonl"), encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            try:
                labels.append(json.loads(line))
            except json.JSONDecodeError as e:
                err(f"labels.jsonl:{n}: {e}")
    seen = collections.Counter(l["file"] for l in labels)
    for k, v in seen.items():
        if v > 1:
            err(f"duplicate label for {k}")
    files = set()
    for fo in FOLDERS:
        for fn in os.listdir(os.path.join(HERE, fo)):
            if fn.endswith(".eml"):
                files.add(f"{fo}/{fn}")
    for f in sorted(files - set(seen)):
        err(f"unlabelled file {f}")
    for f in sorted(set(seen) - files):
        err(f"label for missing file {f}")

    for l in labels:
        f = l["file"]
        if set(l) - {"file", "kind", "class", "actions", "lang", "note", "statuses"}:
            err(f"{f}: unexpected keys {set(l)}")
        if l["kind"] not in KINDS:
            err(f"{f}: bad kind")
        if l["kind"] == "reply":
            if l["class"] not in CLASSES:
                err(f"{f}: bad class {l['class']}")
        elif l["class"] is not None:
            err(f"{f}: class must be null for {l['kind']}")
        for a in l["actions"]:
            if a["action"] not in ("suppress", "review") or a["reason"] not in REASONS:
                err(f"{f}: bad action {a}")
            t = a["target"]
            if not (ADDR_RE.match(t) or DOM_RE.match(t)) or t != t.lower():
                err(f"{f}: bad target {t}")
            if l["kind"] == "dsn" and a["action"] == "suppress" and not STATUS_RE.match(a.get("status", "")):
                err(f"{f}: dsn suppress without status")
            if t.endswith(("acme.example", "acme-mail.example")):
                err(f"{f}: suppressing own domain {t}")
        for addr, st in (l.get("statuses") or {}).items():
            if not ADDR_RE.match(addr) or not STATUS_RE.match(st):
                err(f"{f}: bad statuses entry {addr}: {st}")

        path = os.path.join(HERE, f)
        if not os.path.exists(path):
            continue
        data = open(path, "rb").read()
        crlf = data.count(b"\r\n")
        lf = data.count(b"\n")
        if crlf and crlf != lf:
            err(f"{f}: mixed line endings ({crlf} CRLF / {lf} LF)")
        msg = email.message_from_bytes(data, policy=email.policy.default)
        for h in ("From", "To", "Subject", "Date", "Message-ID"):
            if msg[h] is None:
                err(f"{f}: missing {h}")
        if msg.is_multipart() or msg.get("Content-Type"):
            if msg.get("MIME-Version") is None:
                err(f"{f}: MIME without MIME-Version")
        walk(msg, "0", f)
        for h in ("From", "To", "Cc"):
            if msg[h] is not None:
                for a in msg[h].addresses:
                    if not ADDR_RE.match(a.addr_spec):
                        err(f"{f}: invalid address in {h}: {a.addr_spec!r}")

    by_kind = collections.Counter(l["kind"] for l in labels)
    by_class = collections.Counter((l["lang"], l["class"]) for l in labels if l["kind"] == "reply")
    by_folder = collections.Counter(l["file"].split("/")[0] for l in labels)
    actions = collections.Counter((l["kind"], a["action"], a["reason"]) for l in labels for a in l["actions"])
    no_action = collections.Counter(l["kind"] for l in labels if not l["actions"])
    print("messages:", len(labels))
    print("per folder:", dict(by_folder))
    print("per kind:", dict(by_kind))
    print("per kind, no action:", dict(no_action))
    print("replies per class (en / fr / other):")
    classes = sorted({c for _, c in by_class})
    for c in classes:
        en, fr = by_class[("en", c)], by_class[("fr", c)]
        other = sum(v for (lg, cc), v in by_class.items() if cc == c and lg not in ("en", "fr"))
        print(f"  {c:22s} {en + fr + other:4d}  ({en} en / {fr} fr / {other} other)")
    print("lang (all kinds):", dict(collections.Counter(l["lang"] for l in labels)))
    print("actions:")
    for k, v in sorted(actions.items()):
        print("  ", k, v)
    if errors:
        print(f"\n{len(errors)} ERRORS:")
        for e in errors[:200]:
            print("  ", e)
        sys.exit(1)
    print("\nOK: all files parse without defects and labels are consistent")


if __name__ == "__main__":
    main()
