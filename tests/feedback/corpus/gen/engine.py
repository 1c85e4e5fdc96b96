"""Low-level helpers for building the feedback corpus.

Everything here is deterministic (seeded RNG) so re-running generate.py
reproduces byte-identical .eml files.
"""
import base64
import hashlib
import json
import os
import quopri
import random
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

CORPUS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RNG = random.Random(20250304)

ACME_DOMAINS = {"acme.example", "acme-mail.example", "fb.acme.example"}
FREEMAIL = {
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "hotmail.fr",
    "live.com", "live.fr", "yahoo.com", "yahoo.fr", "orange.fr", "wanadoo.fr",
    "free.fr", "sfr.fr", "laposte.net", "gmx.de", "gmx.net", "web.de",
    "icloud.com", "me.com", "proton.me", "protonmail.com", "aol.com",
}

TZ = {
    "fr": ZoneInfo("Europe/Paris"),
    "de": ZoneInfo("Europe/Berlin"),
    "uk": ZoneInfo("Europe/London"),
    "us-e": ZoneInfo("America/New_York"),
    "us-w": ZoneInfo("America/Los_Angeles"),
    "us-c": ZoneInfo("America/Chicago"),
    "utc": ZoneInfo("UTC"),
}

LABELS = []
WRITTEN = set()

# ---------------------------------------------------------------- dates

DAYS_EN = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS_EN = ["January", "February", "March", "April", "May", "June", "July",
             "August", "September", "October", "November", "December"]
DAYS_FR = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]
DAYS_FR_ABBR = ["lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."]
MONTHS_FR = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet",
             "août", "septembre", "octobre", "novembre", "décembre"]
MONTHS_FR_ABBR = ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.",
                  "août", "sept.", "oct.", "nov.", "déc."]
DAYS_DE = ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"]
MONTHS_DE = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli",
             "August", "September", "Oktober", "November", "Dezember"]

_clock = datetime(2025, 1, 6, 8, 0, tzinfo=ZoneInfo("UTC"))


def next_date(region="utc", min_h=5, max_h=30):
    """Monotonic-ish pseudo random timestamps spread over Jan-Jun 2025."""
    global _clock
    _clock = _clock + timedelta(minutes=RNG.randint(min_h * 60, max_h * 60))
    if _clock.month > 6:
        _clock = datetime(2025, 1, 8, 9, 0, tzinfo=ZoneInfo("UTC"))
    d = _clock.astimezone(TZ[region])
    # keep business-ish hours for human mail
    if d.hour < 7:
        d = d + timedelta(hours=8)
    return d.replace(second=RNG.randint(0, 59))


def rfc_date(dt, style="std"):
    off = dt.strftime("%z")
    day = DAYS_EN[dt.weekday()][:3]
    mon = MONTHS_EN[dt.month - 1][:3]
    if style == "postfix":
        return f"{day}, {dt.day:>2} {mon} {dt.year} {dt:%H:%M:%S} {off} ({dt.tzname()})"
    if style == "nozero":
        return f"{day}, {dt.day} {mon} {dt.year} {dt:%H:%M:%S} {off}"
    if style == "tzname":
        return f"{day}, {dt.day:02d} {mon} {dt.year} {dt:%H:%M:%S} {off} ({dt.tzname()})"
    return f"{day}, {dt.day:02d} {mon} {dt.year} {dt:%H:%M:%S} {off}"


def h12(dt):
    h = dt.hour % 12 or 12
    return f"{h}:{dt:%M} {'AM' if dt.hour < 12 else 'PM'}"


# ---------------------------------------------------------------- ids

def rhex(n):
    return "".join(RNG.choice("0123456789abcdef") for _ in range(n))


def rHEX(n):
    return rhex(n).upper()


def ralnum(n, alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"):
    return "".join(RNG.choice(alphabet) for _ in range(n))


def ruuid(upper=False):
    s = f"{rhex(8)}-{rhex(4)}-4{rhex(3)}-{RNG.choice('89ab')}{rhex(3)}-{rhex(12)}"
    return s.upper() if upper else s


def msgid(kind, domain="example.com", dt=None):
    if kind == "gmail":
        return "<CA" + ralnum(2, "ABCDEFGHJKLMNPQRSTUVWXYZ") + ralnum(
            44, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+_=-") + "@mail.gmail.com>"
    if kind == "outlook":
        pod = RNG.choice(["AM0PR02MB", "DB9PR03MB", "PA4PR08MB", "PR3PR10MB", "MR1P264MB", "PAXPR04MB"])
        srv = pod + str(RNG.randint(1000, 9999))
        reg = RNG.choice(["eurprd02", "eurprd03", "eurprd08", "FRAP264"])
        return f"<{srv}{rHEX(24)}@{srv}.{reg}.prod.outlook.com>"
    if kind == "outlook-us":
        srv = RNG.choice(["BY5PR11MB", "SJ0PR13MB", "CH3PR12MB", "DM6PR04MB"]) + str(RNG.randint(1000, 9999))
        return f"<{srv}{rHEX(24)}@{srv}.namprd{RNG.randint(10, 20)}.prod.outlook.com>"
    if kind == "apple":
        return f"<{ruuid(True)}@{domain}>"
    if kind == "tb":
        return f"<{ruuid()}@{domain}>"
    if kind == "yahoo":
        return f"<{RNG.randint(10**8, 10**9)}.{RNG.randint(10**6, 10**7)}.{RNG.randint(10**12, 10**13)}@mail.yahoo.com>"
    if kind == "orange":
        return (f"<{RNG.randint(10**8, 10**9)}.{RNG.randint(1000, 99999)}.{RNG.randint(10**12, 10**13)}"
                f".JavaMail.open-xchange@opme11oxm{RNG.randint(10, 40)}nd1.rouen.francetelecom.fr>")
    if kind == "acme":
        t = dt.strftime("%Y%m%d%H%M%S") if dt else rhex(12)
        return f"<{t}.{rhex(10)}@{domain}>"
    if kind == "proton":
        return "<" + ralnum(60, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") + "=@proton.me>"
    return f"<{rhex(16)}.{rhex(8)}@{domain}>"


# ---------------------------------------------------------------- header encoding

_Q_SAFE = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/")


def _q(s):
    out = []
    for b in s.encode("utf-8"):
        if b == 0x20:
            out.append("_")
        elif b in _Q_SAFE:
            out.append(chr(b))
        else:
            out.append(f"={b:02X}")
    return "".join(out)


def _b(s):
    return base64.b64encode(s.encode("utf-8")).decode("ascii")


def is_ascii(s):
    try:
        s.encode("ascii")
        return True
    except UnicodeEncodeError:
        return False


def ew(s, mode="q", charset="UTF-8", force=False):
    """RFC 2047 encoded-word(s), folded with CRLF-SP between words."""
    if is_ascii(s) and not force:
        return s
    enc = _q if mode == "q" else _b
    M = "Q" if mode == "q" else "B"
    overhead = len(f"=?{charset}?{M}??=")
    words, cur = [], ""
    for ch in s:
        if cur and len(enc(cur + ch)) + overhead > 75:
            words.append(cur)
            cur = ch
        else:
            cur += ch
    if cur:
        words.append(cur)
    return "\n ".join(f"=?{charset}?{M}?{enc(w)}?=" for w in words)


def subj(s, mode="q"):
    """Encode a subject; keep an ASCII 'Re: ' prefix literal like real clients."""
    if is_ascii(s):
        return s
    m = re.match(r"^((?:(?:Re|RE|TR|Fwd|FW|Fw|AW|WG) ?: ?)+)(.*)$", s)
    if m and is_ascii(m.group(1)):
        return m.group(1) + ew(m.group(2), mode)
    return ew(s, mode)


def addr(name, email, mode="q"):
    if not name:
        return email
    if not is_ascii(name):
        return f"{ew(name, mode)} <{email}>"
    if any(c in name for c in '.,()<>@:;"[]\\\''):
        return '"' + name.replace('\\', '\\\\').replace('"', '\\"') + f'" <{email}>'
    return f"{name} <{email}>"


# ---------------------------------------------------------------- MIME tree

def encode_body(text, cte):
    if cte in (None, "7bit", "8bit", "binary"):
        if cte in (None, "7bit"):
            assert is_ascii(text), ("non-ascii in 7bit part", text[:80])
        for line in text.split("\n"):
            assert len(line.encode("utf-8")) <= 990, "line too long for 7/8bit"
        return text if text.endswith("\n") or text == "" else text + "\n"
    if cte == "quoted-printable":
        return quopri.encodestring(text.encode("utf-8")).decode("ascii")
    if cte == "base64":
        data = text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")
        return base64.encodebytes(data).decode("ascii")
    raise ValueError(cte)


class Leaf:
    def __init__(self, ctype, text, cte=None, headers=()):
        self.ctype, self.text, self.cte, self.headers = ctype, text, cte, list(headers)

    def render(self):
        h = [f"Content-Type: {self.ctype}"]
        if self.cte:
            h.append(f"Content-Transfer-Encoding: {self.cte}")
        h += self.headers
        return "\n".join(h) + "\n\n" + encode_body(self.text, self.cte)


class Raw:
    """A part whose body is inserted verbatim (message/rfc822, delivery-status...)."""

    def __init__(self, ctype, body, headers=(), cte=None, ct_name="Content-Type"):
        self.ctype, self.body, self.headers, self.cte, self.ct_name = ctype, body, list(headers), cte, ct_name

    def render(self):
        h = list(self.headers[:0]) + [f"{self.ct_name}: {self.ctype}"]
        if self.cte:
            h.append(f"Content-Transfer-Encoding: {self.cte}")
        h += self.headers
        b = self.body if self.body.endswith("\n") else self.body + "\n"
        return "\n".join(h) + "\n\n" + b


class Multi:
    def __init__(self, subtype, parts, boundary=None, params="", headers=(), preamble=None,
                 epilogue=None, ct_name="Content-Type", boundary_first=False, fold=False):
        self.subtype, self.parts = subtype, parts
        self.boundary = boundary or ("----=_Part_" + rhex(12))
        self.params, self.headers = params, list(headers)
        self.preamble, self.epilogue, self.ct_name = preamble, epilogue, ct_name
        self.boundary_first, self.fold = boundary_first, fold

    def render(self):
        b = self.boundary
        sep = ";\n\t" if self.fold else "; "
        if self.boundary_first:
            ct = f'{self.ct_name}: multipart/{self.subtype}{sep}boundary="{b}"' + (
                (sep + self.params) if self.params else "")
        else:
            ct = f"{self.ct_name}: multipart/{self.subtype}" + (
                (sep + self.params) if self.params else "") + f'{sep}boundary="{b}"'
        h = [ct] + self.headers
        out = "\n".join(h) + "\n\n"
        if self.preamble:
            out += self.preamble.rstrip("\n") + "\n\n"
        for p in self.parts:
            out += f"--{b}\n" + p.render().rstrip("\n") + "\n"
        out += f"--{b}--\n"
        if self.epilogue:
            out += self.epilogue
        return out


def render_message(headers, body, mime=True, mime_version="1.0"):
    """headers: list of 'Name: value' strings (value may contain '\n ' folds).
    body: Leaf/Multi/Raw, or plain str for non-MIME messages."""
    lines = list(headers)
    if isinstance(body, str):
        b = body if body.endswith("\n") or body == "" else body + "\n"
        return "\n".join(lines) + "\n\n" + b
    if mime:
        lines.append(f"MIME-Version: {mime_version}")
    return "\n".join(lines) + "\n" + body.render()


def header_block(rendered):
    return rendered.split("\n\n", 1)[0] + "\n"


# ---------------------------------------------------------------- html helpers

def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


_URL = re.compile(r"(https?://[^\s<>]+)")


def linkify(escaped):
    return _URL.sub(lambda m: f'<a href="{m.group(1)}">{m.group(1)}</a>', escaped)


def lines_html(text, wrap="div"):
    out = []
    for line in text.split("\n"):
        if wrap == "div":
            out.append(f"<div>{linkify(esc(line))}</div>" if line.strip() else "<div><br></div>")
        elif wrap == "p":
            out.append(f'<p class="MsoNormal">{linkify(esc(line)) if line.strip() else "&nbsp;"}</p>')
        else:
            out.append(linkify(esc(line)) + "<br>")
    return "\n".join(out)


# ---------------------------------------------------------------- output

def write(relpath, text, eol="\n"):
    assert relpath not in WRITTEN, relpath
    WRITTEN.add(relpath)
    data = text.replace("\r\n", "\n")
    if eol == "\r\n":
        data = data.replace("\n", "\r\n")
    path = os.path.join(CORPUS, relpath)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data.encode("utf-8"))


def sup(target, reason, status=None):
    d = {"target": target.lower(), "action": "suppress", "reason": reason}
    if status:
        d["status"] = status
    return d


def rev(target, reason="unsubscribe"):
    return {"target": target.lower(), "action": "review", "reason": reason}


def label(file, kind, cls, actions, lang, note="", statuses=None):
    d = {"file": file, "kind": kind, "class": cls, "actions": actions, "lang": lang, "note": note}
    if statuses is not None:
        d["statuses"] = {k.lower(): v for k, v in statuses.items()}
    LABELS.append(d)


def write_labels():
    with open(os.path.join(CORPUS, "labels.jsonl"), "w", encoding="utf-8") as f:
        for d in LABELS:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")


def pick_eol():
    return "\r\n" if RNG.random() < 0.45 else "\n"


def token():
    return rhex(6) + ralnum(4, "abcdefghijklmnopqrstuvwxyz0123456789")


def verp(tok, rcpt):
    local, dom = rcpt.split("@")
    return f"bounces+{tok[:6]}-{local}={dom}@fb.acme.example"
