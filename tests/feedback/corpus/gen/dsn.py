"""Bounces: RFC 3464 delivery status notifications of the common MTAs and providers, plus the
plain-text (non-RFC) bounces of qmail, older Exim, older Postfix, Sendmail, Domino, MDaemon...

Labels follow the product rules: only "this address does not exist" suppresses (reason
hard-bounce, status = the enhanced code that says so); mailbox full, transient, policy/spam,
size, network/DNS, sender problems, success reports and ambiguous texts change nothing.
Every sample is built from an Original sales mail (gen/sales.py) so that the returned
message is the one Acme really sent (with its unsubscribe footer, which must not matter).

Labels also carry "statuses": {recipient: effective status} for every reported recipient whose
status is known: the Status: field, or - when that is a generic x.0.0 (or absent, in plain-text
bounces) - the more specific enhanced code of the diagnostic. Recipients of plain-text bounces
that carry no code at all are left out. Suppressions use the same status, except that a
generic 5.0.0 whose text unambiguously says "no such user" is labelled 5.0.0.
"""
import re
import textwrap
from datetime import timedelta

from .engine import (RNG, Leaf, render_message, addr, subj, rfc_date, rhex, rHEX, ralnum, ruuid,
                     next_date, write, label, sup, pick_eol, is_ascii, encode_body, esc,
                     DAYS_EN, MONTHS_EN, DAYS_FR, MONTHS_FR)
from .sales import Original

# Acme's outbound relays (TEST-NET-2) and the internal submission host.
RELAYS = [("out1.acme-mail.example", "198.51.100.23"), ("out2.acme-mail.example", "198.51.100.24"),
          ("out3.acme-mail.example", "198.51.100.25")]
SUBMIT = ("smtp.acme.example", "10.20.0.5")


# ------------------------------------------------------------------ small MIME kit

class P:
    """A MIME part rendered exactly as given: header lines, blank line, body (encoded per cte)."""

    def __init__(self, headers, body, cte=None):
        self.headers, self.body, self.cte = list(headers), body, cte

    def render(self):
        body = encode_body(self.body, self.cte)
        if not self.headers:          # a part without any header (Sendmail's first part)
            return "\n" + body
        return "\n".join(self.headers) + "\n\n" + body


class MP:
    """A multipart whose Content-Type line is given verbatim ('{b}' = the boundary)."""

    def __init__(self, ct, parts, boundary, preamble=None, headers=(), epilogue=None):
        self.ct, self.parts, self.b = ct, parts, boundary
        self.preamble, self.headers, self.epilogue = preamble, list(headers), epilogue

    def render(self):
        out = "\n".join([self.ct.format(b=self.b)] + self.headers) + "\n\n"
        if self.preamble:
            out += self.preamble.rstrip("\n") + "\n\n"
        for p in self.parts:
            out += f"--{self.b}\n" + p.render().rstrip("\n") + "\n"
        out += f"--{self.b}--\n"
        if self.epilogue:
            out += self.epilogue
        return out


def report_ct(b_first=False, fold=True, quote=True, rtype="delivery-status"):
    sep = ";\n\t" if fold else "; "
    bnd = 'boundary="{b}"' if quote else "boundary={b}"
    if b_first:
        return f"Content-Type: multipart/report{sep}{bnd}{sep}report-type={rtype}"
    return f"Content-Type: multipart/report; report-type={rtype}{sep}{bnd}"


def wrap(s, width=76, indent="    ", first=""):
    return "\n".join(textwrap.wrap(s, width=width, initial_indent=first, subsequent_indent=indent,
                                   break_long_words=False, break_on_hyphens=False))


def field(name, value, width=78, indent="    "):
    """A delivery-status field, folded like the MTAs do."""
    return wrap(value, width=width, indent=indent, first=f"{name}: ")


# ------------------------------------------------------------------ ids

def pqid():
    """Postfix long queue id."""
    return "4Y" + ralnum(10, "BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789")


def pqid_short():
    return rHEX(10)


def exim_id():
    return f"{ralnum(6)}-{ralnum(6)}-{ralnum(2)}"


def gsmtp():
    return (f"{rhex(13)}-{rhex(12)}si{RNG.randint(1000000, 9999999)}"
            f"{ralnum(3, 'abcdefghijklmnopqrstuvwxyz')}{RNG.randint(1, 9)}.{RNG.randint(10, 400)} - gsmtp")


def ms_server(us=False):
    if us:
        return RNG.choice(["BN8PR12MB", "SA1PR11MB", "CH2PR04MB", "PH0PR13MB"]) + str(RNG.randint(1000, 9999)) + \
            f".namprd{RNG.randint(10, 20)}.prod.outlook.com"
    return RNG.choice(["AM0PR02MB", "DB9PR03MB", "PA4PR08MB", "VI1PR06MB"]) + str(RNG.randint(1000, 9999)) + \
        f".eurprd0{RNG.randint(2, 8)}.prod.outlook.com"


def ms_date(dt):
    """Exchange 'Created Date' style: 1/14/2025 3:12:04 PM."""
    h = dt.hour % 12 or 12
    return f"{dt.month}/{dt.day}/{dt.year} {h}:{dt:%M:%S} {'AM' if dt.hour < 12 else 'PM'}"


def mx_ip():
    return f"203.0.113.{RNG.randint(5, 250)}"


# ------------------------------------------------------------------ the returned message

def rcv_postfix(by, helo, ip, qid, rcpt, dt, tls=True):
    w = "ESMTPS" if tls else "ESMTP"
    s = f"Received: from {helo} ({helo} [{ip}])\n\tby {by} (Postfix) with {w} id {qid}"
    if rcpt:
        s += f"\n\tfor <{rcpt}>"
    return s + f"; {rfc_date(dt, 'postfix')}"


def rcv_submit(relay, qid, dt):
    return rcv_postfix(relay, SUBMIT[0], SUBMIT[1], qid, None, dt)


def orig_text(o, rcvd=(), trace=True, headers_only=False, to_line=None, cte=None):
    """The sales mail as the bouncing MTA returns it."""
    h = o.headers(with_trace=trace)
    if to_line is not None:
        h = [to_line if x.startswith("To: ") else x for x in h]
    h = (h[:1] + list(rcvd) + h[1:]) if trace else (list(rcvd) + h)
    asc = is_ascii(o.body)
    if cte is None:
        cte = "7bit" if asc else RNG.choice(["quoted-printable", "8bit"])
    cs = "us-ascii" if asc else "utf-8"
    if headers_only:
        h += ["MIME-Version: 1.0", f'Content-Type: text/plain; charset="{cs}"', f"Content-Transfer-Encoding: {cte}"]
        return "\n".join(h) + "\n"
    return render_message(h, Leaf(f'text/plain; charset="{cs}"', o.body, cte))


def rfc822_part(o, rcvd=(), desc=None, extra=(), **kw):
    text = orig_text(o, rcvd, **kw)
    h = ([f"Content-Description: {desc}"] if desc else []) + ["Content-Type: message/rfc822"]
    cte = None
    if not is_ascii(text):
        cte = "8bit"
        h.append("Content-Transfer-Encoding: 8bit")
    return P(h + list(extra), text, cte)


def headers_part(o, rcvd=(), desc=None, extra=(), ct="text/rfc822-headers", **kw):
    text = orig_text(o, rcvd, headers_only=True, **kw)
    h = ([f"Content-Description: {desc}"] if desc else []) + [f"Content-Type: {ct}"]
    return P(h + list(extra), text)


# ------------------------------------------------------------------ recipients and labels

class R:
    """One recipient as a bounce reports it, and what the label says about it.

    hard: the status to label a hard-bounce suppression with (None = no action)."""

    def __init__(self, addr, status=None, diag=None, *, action="failed", mx=None, ip=None, orig=None,
                 name=None, hard=None, dtype="smtp", text=None, cmd="RCPT TO", target=None):
        self.addr, self.status, self.diag, self.action = addr, status, diag, action
        self.mx, self.ip = mx, (ip or (mx_ip() if mx else None))
        self.orig, self.name, self.hard, self.dtype, self.text, self.cmd = orig, name, hard, dtype, text, cmd
        self.target = (target or orig or addr).lower()


_CODE = re.compile(r"(?<![\d.])([245]\.\d{1,3}\.\d{1,3})(?![\d.])")


def effective(r):
    if r.hard:
        return r.hard
    if r.status and r.status.endswith(".0.0") and r.diag:
        for c in _CODE.findall(r.diag):
            if not c.endswith(".0.0"):
                return c
    return r.status


def finish(fid, headers, body, rcpts, lang="en", note="", eol=None):
    rel = f"dsn/{fid}.eml"
    write(rel, render_message(headers, body), eol or pick_eol())
    actions = [sup(r.target, "hard-bounce", r.hard) for r in rcpts if r.hard]
    statuses = {r.target: effective(r) for r in rcpts if effective(r)}
    label(rel, "dsn", None, actions, lang, note, statuses=statuses or None)


_N = [0]


def fid(name):
    _N[0] += 1
    return f"{name}-{_N[0]:03d}"


def shared_rp(o):
    """Mails to several recipients at once go out with one return path, not a per-recipient VERP."""
    o.verp = "bounces@fb.acme.example"
    return o


def sent_before(d, lo=2, hi=40, unit="minutes"):
    return d - timedelta(**{unit: RNG.randint(lo, hi)})


# ================================================================== Postfix

PF_FAILED = """I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

For further assistance, please send mail to postmaster.

If you do so, please include this problem report. You can
delete your own text from the attached returned message.

                   The mail system
"""

PF_DELAYED = """####################################################################
# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #
####################################################################

Your message could not be delivered for more than 4 hour(s).
It will be retried until it is 5 day(s) old.

For further assistance, please send mail to postmaster.

If you do so, please include this problem report. You can
delete your own text from the attached returned message.

                   The mail system
"""

PF_SUCCESS = """Your message was successfully delivered to the destination(s)
listed below. If the message was delivered to mailbox you will
receive no further notifications. Otherwise you may still receive
notifications of mail delivery errors from other systems.

                   The mail system
"""


def pf_human_line(r):
    if r.text:
        what = r.text
    elif r.mx:
        what = f"host {r.mx}[{r.ip}] said: {r.diag} (in reply to {r.cmd} command)"
    else:
        what = r.diag
    who = f"<{r.addr}>"
    if r.orig and r.orig.lower() != r.addr.lower():
        who += f" (expanded from <{r.orig}>)"
    return wrap(f"{who}: {what}", width=75)


def postfix(name, o, rcpts, d, *, host=None, mode="failed", third="full", to=None, note="", lang="en",
            remote_rcvd=None, delivered_to=True, eol=None):
    """A Postfix DSN. host=None: Acme's own relay reports a remote rejection."""
    own = host is None
    if own:
        host, _ip = RELAYS[RNG.randrange(len(RELAYS))]
    qid = pqid() if RNG.random() < 0.6 else pqid_short()
    to = to or o.verp
    b = f"{qid}.{int(d.timestamp())}/{host}"
    intro = {"failed": PF_FAILED, "delayed": PF_DELAYED, "success": PF_SUCCESS}[mode]
    human = (f"This is the mail system at host {host}.\n\n{intro}\n"
             + "\n\n".join(pf_human_line(r) for r in rcpts) + "\n")
    arr = o.date.astimezone(d.tzinfo)
    ds = [f"Reporting-MTA: dns; {host}", f"X-Postfix-Queue-ID: {qid}", f"X-Postfix-Sender: rfc822; {o.verp}",
          f"Arrival-Date: {rfc_date(arr, 'postfix')}", ""]
    for r in rcpts:
        ds.append(f"Final-Recipient: rfc822; {r.addr}")
        ds.append(f"Original-Recipient: rfc822;{r.orig or r.addr}")
        ds.append(f"Action: {r.action}")
        ds.append(f"Status: {r.status}")
        if r.mx:
            ds.append(f"Remote-MTA: dns; {r.mx}")
        if r.diag:
            ds.append(field("Diagnostic-Code", f"{r.dtype}; {r.diag}"))
        if r.action == "delayed":
            ds.append(f"Will-Retry-Until: {rfc_date(arr + timedelta(days=5), 'postfix')}")
        ds.append("")
    if own:
        rcvd = [rcv_submit(host, qid, arr)]
    else:
        rcvd = [remote_rcvd or rcv_postfix(host, RELAYS[0][0], RELAYS[0][1], qid, rcpts[0].orig or rcpts[0].addr,
                                           arr)]
    if third == "full":
        p3 = rfc822_part(o, rcvd, "Undelivered Message")
    elif third == "headers":
        p3 = headers_part(o, rcvd, "Undelivered Message Headers" if mode != "success" else "Message Headers")
    else:
        p3 = None
    parts = [P(["Content-Description: Notification", "Content-Type: text/plain; charset=us-ascii"], human),
             P(["Content-Description: Delivery report", "Content-Type: message/delivery-status"], "\n".join(ds))]
    if p3:
        parts.append(p3)
    body = MP(report_ct(), parts, b, preamble="This is a MIME-encapsulated message.",
              headers=["Content-Transfer-Encoding: 8bit"])
    subject = {"failed": "Undelivered Mail Returned to Sender", "delayed": "Delayed Mail (still being retried)",
               "success": "Successful Mail Delivery Report"}[mode]
    h = []
    if delivered_to:
        h += ["Return-Path: <>", f"X-Original-To: {to}", f"Delivered-To: {to}"]
    h += [f"Received: by {host} (Postfix)\n\tid {qid}; {rfc_date(d, 'postfix')}",
          f"Date: {rfc_date(d, 'postfix')}", f"From: MAILER-DAEMON@{host} (Mail Delivery System)",
          f"Subject: {subject}", f"To: {to}", "Auto-Submitted: auto-replied",
          f"Message-Id: <{d:%Y%m%d%H%M%S}.{qid}@{host}>"]
    finish(fid(name), h, body, rcpts, lang, note, eol)


def gmail_mx(i=None):
    return f"gmail-smtp-in.l.google.com", f"142.250.{RNG.randint(100, 159)}.{RNG.choice([26, 27])}"


def build_postfix():
    # 1. remote virtual mailbox table, full returned message with its unsubscribe footer
    d = next_date("utc")
    o = Original("EN1", "Pat Smith", "pat.smith@globex.example", sent_before(d))
    postfix("postfix-user-unknown", o, [R("pat.smith@globex.example", "5.1.1",
                                          "550 5.1.1 <pat.smith@globex.example>: Recipient address rejected: "
                                          "User unknown in virtual mailbox table",
                                          mx="mx1.globex.example", hard="5.1.1")], d,
            note="Acme relay's Postfix DSN; returned message carries the 'To unsubscribe click here' footer")

    # 2. Gmail NoSuchUser, multi-line reply joined by Postfix; headers only
    d = next_date("utc")
    o = Original("EN4", "Tyler Brooks", "tyler.brooks1987@gmail.com", sent_before(d), company="Brooks Landscaping")
    mx, ip = gmail_mx()
    postfix("postfix-gmail-nosuchuser", o, [R("tyler.brooks1987@gmail.com", "5.1.1",
                                              "550-5.1.1 The email account that you tried to reach does not exist. "
                                              "Please try 550-5.1.1 double-checking the recipient's email address "
                                              "for typos or 550-5.1.1 unnecessary spaces. For more information, go "
                                              "to 550 5.1.1  https://support.google.com/mail/?p=NoSuchUser "
                                              + gsmtp(), mx=mx, ip=ip, hard="5.1.1")], d, third="headers",
            note="Gmail rejection relayed by Acme's Postfix; text/rfc822-headers third part")

    # 3. three recipients of one mail: two unknown (one reported upper-case), one mailbox full
    d = next_date("utc")
    o = shared_rp(Original("EN2", "Rachel Kim", "rachel.kim@initrode.example", sent_before(d),
                 extra_to=[("Tom Alvarez", "tom.alvarez@initrode.example"),
                           ("Grace Liu", "Grace.Liu@initrode.example")]))
    mx = "mail.initrode.example"
    ip = mx_ip()
    postfix("postfix-multi-mixed", o, [
        R("rachel.kim@initrode.example", "5.1.1", "550 5.1.1 <rachel.kim@initrode.example>: Recipient address "
          "rejected: User unknown in local recipient table", mx=mx, ip=ip, hard="5.1.1"),
        R("tom.alvarez@initrode.example", "5.2.2", "552 5.2.2 <tom.alvarez@initrode.example>: Recipient address "
          "rejected: Mailbox full", mx=mx, ip=ip),
        R("GRACE.LIU@INITRODE.EXAMPLE", "5.1.1", "550 5.1.1 <GRACE.LIU@INITRODE.EXAMPLE>: Recipient address "
          "rejected: User unknown in local recipient table", mx=mx, ip=ip, orig="Grace.Liu@initrode.example",
          hard="5.1.1")], d,
            note="3 recipients: 2 unknown (one reported in upper case, Original-Recipient mixed case) -> 2 "
                 "suppressions; mailbox full -> nothing")

    # 4. Yahoo: no enhanced code, Postfix fills in 5.0.0
    d = next_date("utc")
    o = Original("EN4", "Donna Reyes", "donna_reyes58@yahoo.com", sent_before(d), company="Reyes Bakery")
    postfix("postfix-yahoo-noaccount", o, [R("donna_reyes58@yahoo.com", "5.0.0",
                                             "554 delivery error: dd This user doesn't have a yahoo.com account "
                                             "(donna_reyes58@yahoo.com) [0] - mta4019.mail.gq1.yahoo.com",
                                             mx="mta6.am0.yahoodns.net", ip="67.195.204.72", cmd="end of DATA",
                                             hard="5.0.0")], d,
            note="Status 5.0.0 but Yahoo's text says the account does not exist -> hard bounce, status 5.0.0")

    # 5. iCloud
    d = next_date("utc")
    o = Original("EN5", "Marcus Bell", "marcusbell@icloud.com", sent_before(d), company="Bell Fitness")
    postfix("postfix-icloud-nouser", o, [R("marcusbell@icloud.com", "5.1.1",
                                           "550 5.1.1 <marcusbell@icloud.com>: user does not exist",
                                           mx="mx01.mail.icloud.com", ip="17.42.251.62", hard="5.1.1")], d)

    # 6. Office 365 tenant rejecting at RCPT with 5.1.10
    d = next_date("utc")
    o = Original("EN1", "Helen Park", "helen.park@wayne-enterprises.example", sent_before(d))
    postfix("postfix-o365-5110", o, [R("helen.park@wayne-enterprises.example", "5.1.10",
                                       "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP "
                                       "address lookup",
                                       mx="wayneenterprises-example.mail.protection.outlook.com",
                                       ip="52.101.68.14", hard="5.1.10")], d, third="headers")

    # 7. 5.1.6 mailbox moved
    d = next_date("utc")
    o = Original("EN3", "Owen Fischer", "owen.fischer@cyberdyne.example", sent_before(d))
    postfix("postfix-moved-516", o, [R("owen.fischer@cyberdyne.example", "5.1.6",
                                       "550 5.1.6 <owen.fischer@cyberdyne.example>: Recipient has moved; no "
                                       "forwarding address on file",
                                       mx="smtp.cyberdyne.example", hard="5.1.6")], d)

    # 8. 5.1.3 bad address syntax (apostrophe refused by the remote)
    d = next_date("utc")
    o = Original("EN2", "Sean O'Brien", "sean.o'brien@murphy-freight.example", sent_before(d))
    postfix("postfix-syntax-513", o, [R("sean.o'brien@murphy-freight.example", "5.1.3",
                                        "501 5.1.3 Bad recipient address syntax",
                                        mx="mx.murphy-freight.example", hard="5.1.3")], d)

    # 9. remote company Postfix: alias info@ expands to a deleted local user
    d = next_date("us-c")
    o = Original("EN1", "", "info@harbor-dental.example", sent_before(d), company="Harbor Dental")
    postfix("postfix-alias-unknown-user", o, [R("mhart@harbor-dental.example", "5.1.1",
                                                'unknown user: "mhart"', dtype="X-Postfix",
                                                orig="info@harbor-dental.example", hard="5.1.1")], d,
            host="mail.harbor-dental.example", third="full", delivered_to=False,
            note="Original-Recipient info@ (what Acme sent to) differs from Final-Recipient mhart@ (alias "
                 "target): the address to suppress is the one Acme sent to, info@")

    # 10. Zimbra (Postfix + LMTP to the mailbox server), campaign address typed in mixed case
    d = next_date("utc")
    o = Original("EN6", "Ken Watanabe", "K.Watanabe@tyrell.example", sent_before(d))
    rc = R("k.watanabe@tyrell.example", "5.1.1", "550 5.1.1 <k.watanabe@tyrell.example> No such user here",
           text="host 127.0.0.1[127.0.0.1] said: 550 5.1.1 <k.watanabe@tyrell.example> No such user here (in reply "
                "to RCPT TO command)",
           orig="K.Watanabe@tyrell.example", hard="5.1.1")
    rc.mx, rc.ip = "127.0.0.1", "127.0.0.1"
    postfix("zimbra-user-unknown", o, [rc], d, host="zimbra.tyrell.example", third="headers", delivered_to=False,
            note="Zimbra (Postfix MTA, LMTP 'No such user here'); Original-Recipient keeps the campaign's "
                 "mixed case")

    # ---- never suppress
    d = next_date("utc")
    o = Original("EN1", "Nina Patel", "nina.patel@soylent.example", sent_before(d))
    postfix("postfix-mailbox-full", o, [R("nina.patel@soylent.example", "5.2.2",
                                          "552 5.2.2 <nina.patel@soylent.example>: Recipient address rejected: "
                                          "Mailbox full", mx="mx.soylent.example")], d,
            note="mailbox full; returned mail has an unsubscribe footer")

    d = next_date("utc")
    o = Original("EN2", "Leo Grant", "leo.grant@vandelay-industries.example", sent_before(d, 4, 6, "hours"))
    postfix("postfix-delayed-timeout", o, [R("leo.grant@vandelay-industries.example", "4.4.1",
                                             "connect to mx.vandelay-industries.example[203.0.113.41]:25: "
                                             "Connection timed out", action="delayed", dtype="X-Postfix")], d,
            mode="delayed", third="headers", note="delay warning (Action: delayed, 4.4.1)")

    d = next_date("utc")
    o = Original("EN4", "Angela Moss", "angela.moss77@gmail.com", sent_before(d), company="Moss Interiors")
    mx, ip = gmail_mx()
    postfix("postfix-gmail-overquota", o, [R("angela.moss77@gmail.com", "5.2.2",
                                             "552-5.2.2 The email account that you tried to reach is over quota. "
                                             "Please direct 552-5.2.2 the recipient to 552 5.2.2  "
                                             "https://support.google.com/mail/?p=OverQuotaPerm " + gsmtp(),
                                             mx=mx, ip=ip, cmd="end of DATA")], d,
            note="Gmail 'The email account that you tried to reach is over quota' (5.2.2): not a hard bounce "
                 "despite the 'account that you tried to reach' wording")

    d = next_date("utc")
    o = Original("EN5", "Chris Doyle", "chrisdoyle.mkt@gmail.com", sent_before(d), company="Doyle Marketing")
    mx, ip = gmail_mx()
    postfix("postfix-gmail-disabled", o, [R("chrisdoyle.mkt@gmail.com", "5.2.1",
                                            "550-5.2.1 The email account that you tried to reach is disabled. "
                                            "Learn more at 550 5.2.1  https://support.google.com/mail/?p=DisabledUser "
                                            + gsmtp(), mx=mx, ip=ip)], d, third="headers",
            note="5.2.1 account disabled: not in the product's 'does not exist' list -> no action (ambiguous: "
                 "disabled accounts often come back)")

    d = next_date("utc")
    o = Original("EN4", "Ruth Adams", "ruth.adams@gmail.com", sent_before(d), company="Adams Consulting")
    mx, ip = gmail_mx()
    postfix("postfix-gmail-dmarc-5726", o, [R("ruth.adams@gmail.com", "5.7.26",
                                              "550-5.7.26 Unauthenticated email from acme-mail.example is not "
                                              "accepted due to 550-5.7.26 domain's DMARC policy. Please contact the "
                                              "administrator of 550-5.7.26 acme-mail.example domain if this was a "
                                              "legitimate mail. To learn 550-5.7.26 about the DMARC initiative, go "
                                              "to 550 5.7.26  https://support.google.com/mail/?p=DmarcRejection "
                                              + gsmtp(), mx=mx, ip=ip, cmd="end of DATA")], d,
            note="DMARC rejection (5.7.26): sender-side problem")

    d = next_date("utc")
    o = Original("EN1", "Victor Hale", "vhale@bluth-co.example", sent_before(d))
    postfix("postfix-spamhaus-571", o, [R("vhale@bluth-co.example", "5.7.1",
                                          "554 5.7.1 Service unavailable; Client host [198.51.100.23] blocked "
                                          "using zen.spamhaus.org; https://www.spamhaus.org/query/ip/198.51.100.23",
                                          mx="mx2.bluth-co.example")], d, third="headers",
            note="blocklist rejection, 'blocked using Spamhaus'")

    d = next_date("utc")
    o = Original("EN4", "Brian Cole", "briancole_88@hotmail.com", sent_before(d), company="Cole Auto Repair")
    postfix("postfix-outlook-block-s3150", o, [R("briancole_88@hotmail.com", "5.7.1",
                                                 "550 5.7.1 Unfortunately, messages from [198.51.100.24] weren't "
                                                 "sent. Please contact your Internet service provider since part of "
                                                 "their network is on our block list (S3150). You can also refer "
                                                 "your provider to http://mail.live.com/mail/troubleshooting.aspx#errors. "
                                                 f"[{ms_server()} {d:%Y-%m-%dT%H:%M:%S}.{RNG.randint(100, 999)}Z "
                                                 f"08DD{rHEX(12)}]",
                                                 mx="hotmail-com.olc.protection.outlook.com", ip="52.101.42.3")], d)

    d = next_date("utc")
    o = Original("EN4", "Megan Ross", "megan.ross@outlook.com", sent_before(d), company="Ross Photography")
    postfix("postfix-outlook-mailbox-unavailable", o, [R("megan.ross@outlook.com", "5.5.0",
                                                         "550 5.5.0 Requested action not taken: mailbox unavailable "
                                                         f"(S2017062302) [{ms_server(True)} "
                                                         f"{d:%Y-%m-%dT%H:%M:%S}.{RNG.randint(100, 999)}Z "
                                                         f"08DD{rHEX(12)}]",
                                                         mx="outlook-com.olc.protection.outlook.com",
                                                         ip="52.101.8.44")], d, third="headers",
            note="AMBIGUOUS, labelled no action: outlook.com's 5.5.0 'mailbox unavailable' (S2017062302) is how it "
                 "rejects unknown users, but the spec only suppresses 'mailbox unavailable' when the text also "
                 "says the address does not exist")

    d = next_date("utc")
    o = Original("EN2", "Irene Cho", "irene.cho@massive-dynamic.example", sent_before(d))
    postfix("postfix-eop-access-denied-541", o, [R("irene.cho@massive-dynamic.example", "5.4.1",
                                                   "550 5.4.1 Recipient address rejected: Access denied. "
                                                   "[" + ms_server() + "]",
                                                   mx="massivedynamic-example.mail.protection.outlook.com",
                                                   ip="52.101.73.9")], d,
            note="AMBIGUOUS, labelled no action: Exchange Online's 5.4.1 'Recipient address rejected: Access "
                 "denied' (directory-based edge blocking) usually means the mailbox does not exist, but 5.4.1 is "
                 "not in the spec list and the text does not say so")

    d = next_date("utc")
    o = Original("EN3", "Paul Mercer", "paul@mercer-consult1ng.example", sent_before(d))
    postfix("postfix-host-not-found-544", o, [R("paul@mercer-consult1ng.example", "5.4.4",
                                                "Host or domain name not found. Name service error for "
                                                "name=mercer-consult1ng.example type=A: Host not found",
                                                dtype="X-Postfix")], d,
            note="5.4.4 host not found (DNS problem, typo'd domain): never suppress per spec")

    d = next_date("utc")
    o = Original("EN1", "Sara Lind", "sara.lind@nordic-timber.example", sent_before(d))
    postfix("postfix-forwarding-loop-546", o, [R("sara.lind@nordic-timber.example", "5.4.6",
                                                 "mail forwarding loop for sara.lind@nordic-timber.example",
                                                 dtype="X-Postfix")], d,
            host="mail.nordic-timber.example", delivered_to=False, third="headers",
            note="routing loop 5.4.6")

    d = next_date("utc")
    o = Original("EN2", "Dev Kapoor", "dev.kapoor@stark-logistics.example", sent_before(d))
    postfix("postfix-bad-sender-518", o, [R("dev.kapoor@stark-logistics.example", "5.1.8",
                                            f"553 5.1.8 <{o.verp}>: Sender address rejected: Domain not found",
                                            mx="mx.stark-logistics.example")], d,
            note="5.1.8 is about Acme's envelope sender, not the recipient: no action")

    d = next_date("utc")
    o = Original("EN5", "Amy Turner", "amy.turner@dunder-mifflin.example", sent_before(d))
    postfix("postfix-success-relayed", o, [R("amy.turner@dunder-mifflin.example", "2.0.0",
                                             f"250 2.0.0 Ok: queued as {pqid()}", action="relayed",
                                             text=f"delivery via mx.dunder-mifflin.example[{mx_ip()}]:25: 250 2.0.0 "
                                                  f"Ok: queued as {pqid()}",
                                             mx="mx.dunder-mifflin.example")], d, mode="success", third="headers",
            note="NOTIFY=SUCCESS report, Action: relayed")

    d = next_date("utc")
    o = Original("EN2", "", "sales@prestige-worldwide.example", sent_before(d), company="Prestige Worldwide",
                 first="")
    postfix("postfix-success-expanded", o, [R("sales@prestige-worldwide.example", "2.0.0", "alias expanded",
                                              action="expanded", dtype="X-Postfix")], d,
            host="mx.prestige-worldwide.example", mode="success", third="headers", delivered_to=False,
            note="Action: expanded (alias) success report")

    d = next_date("utc")
    o = Original("EN4", "Jonas Weber", "jonas.weber@gmx.de", sent_before(d), company="Weber Elektro")
    postfix("postfix-gmx-requested-action", o, [R("jonas.weber@gmx.de", "5.0.0",
                                                  "550 Requested action not taken: mailbox unavailable",
                                                  mx="mx00.emig.gmx.net", ip="212.227.15.9")], d,
            note="AMBIGUOUS 5.0.0 '550 Requested action not taken: mailbox unavailable' without 'does not "
                 "exist': no action per spec")

    d = next_date("utc")
    o = shared_rp(Original("EN1", "Oscar Diaz", "oscar.diaz@wonka-foods.example", sent_before(d),
                 extra_to=[("Lena Brandt", "lena.brandt@wonka-foods.example")]))
    mx = "mx.wonka-foods.example"
    ip = mx_ip()
    postfix("postfix-multi-all-soft", o, [
        R("oscar.diaz@wonka-foods.example", "5.7.1", "550 5.7.1 Message rejected as spam by Content Filtering.",
          mx=mx, ip=ip, cmd="end of DATA"),
        R("lena.brandt@wonka-foods.example", "5.7.1", "550 5.7.1 <lena.brandt@wonka-foods.example>: Recipient "
          "address rejected: Access denied", mx=mx, ip=ip)], d,
            note="two recipients, both policy (5.7.1): 'Recipient address rejected: Access denied' is policy, "
                 "not an unknown user")

    # (Postfix never mixes failed and delayed recipients in one report: see the Sendmail samples)


# ================================================================== Exim (DSN, 4.9x)

EXIM_FAIL = """This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:
"""


def exim_human(r):
    if r.text:
        return f"  {r.addr}\n" + "\n".join("    " + l for l in r.text.split("\n"))
    lines = [f"  {r.addr}", f"    host {r.mx} [{r.ip}]", f"    SMTP error from remote mail server after {r.cmd}:"
             if r.cmd != "RCPT TO" else f"    SMTP error from remote mail server after RCPT TO:<{r.addr}>:"]
    lines.append(wrap(r.diag, width=76, indent="    ", first="    "))
    return "\n".join(lines)


def exim_dsn(name, o, rcpts, d, *, host, note="", lang="en", third="full", to=None):
    eid = exim_id()
    b = f"{int(d.timestamp())}-eximdsn-{RNG.randint(10 ** 9, 2 * 10 ** 9)}"
    human = EXIM_FAIL + "\n" + "\n\n".join(exim_human(r) for r in rcpts) + "\n"
    ds = [f"Reporting-MTA: dns; {host}", ""]
    for r in rcpts:
        ds += ["Action: failed", f"Final-Recipient: rfc822;{r.addr}", f"Status: {r.status}"]
        if r.mx:
            ds.append(f"Remote-MTA: dns; {r.mx}")
        if r.diag:
            ds.append(f"Diagnostic-Code: {r.dtype}; {r.diag}")
        ds.append("")
    arr = o.date.astimezone(d.tzinfo)
    relay = RELAYS[RNG.randrange(len(RELAYS))]
    rcvd = [f"Received: from [{relay[1]}] (port={RNG.randint(30000, 60000)} "
            f"helo={relay[0]})\n\tby {host} with esmtps  (TLS1.3) tls TLS_AES_256_GCM_SHA384\n"
            f"\t(Exim 4.97.1)\n\t(envelope-from <{o.verp}>)\n\tid {exim_id()}\n\tfor {rcpts[0].addr};\n"
            f"\t{rfc_date(arr)}"]
    if third == "full":
        p3 = P(["Content-type: message/rfc822"], orig_text(o, rcvd, cte="quoted-printable"))
    else:
        p3 = P(["Content-type: text/rfc822-headers"], orig_text(o, rcvd, headers_only=True))
    parts = [P(["Content-type: text/plain; charset=us-ascii"], human),
             P(["Content-type: message/delivery-status"], "\n".join(ds)), p3]
    body = MP("Content-Type: multipart/report; report-type=delivery-status; boundary={b}", parts, b)
    to = to or o.verp
    h = [f"Return-path: <>", f"Envelope-to: {to}", f"Delivery-date: {rfc_date(d)}",
         f"Received: from mailnull by {host} with local (Exim 4.97.1)\n\tid {eid}\n\tfor {to}; {rfc_date(d)}",
         "X-Failed-Recipients: " + ", ".join(r.addr for r in rcpts),
         "Auto-Submitted: auto-replied", f"From: Mail Delivery System <Mailer-Daemon@{host}>",
         f"To: {to}", "Subject: Mail delivery failed: returning message to sender",
         f"Message-Id: <E{eid}@{host}>", f"Date: {rfc_date(d)}"]
    finish(fid(name), h, body, rcpts, lang, note)


def build_exim_dsn():
    d = next_date("uk")
    o = Original("EN2", "Harriet Cole", "harriet.cole@brightwater.example", sent_before(d))
    exim_dsn("exim-dsn-user-unknown", o, [R("harriet.cole@brightwater.example", "5.0.0",
                                            "550 5.1.1 <harriet.cole@brightwater.example>: Recipient address "
                                            "rejected: User unknown", mx="mx.brightwater.example", hard="5.1.1")],
             d, host="mail.brightwater-hosting.example",
             note="Exim DSN: Status 5.0.0, diagnostic carries 550 5.1.1 -> label status 5.1.1")

    d = next_date("uk")
    o = Original("EN1", "Gavin Stokes", "gavin@stokes-joinery.example", sent_before(d))
    exim_dsn("exim-dsn-no-such-user-here", o, [R("gavin@stokes-joinery.example", "5.0.0",
                                                 "550 No Such User Here", mx="stokes-joinery.example",
                                                 hard="5.0.0")], d, host="server12.webhost-uk.example",
             third="headers", note="cPanel/Exim '550 No Such User Here' behind Status 5.0.0")

    d = next_date("uk")
    o = shared_rp(Original("EN2", "Martin Shaw", "m.shaw@cobalt-eng.example", sent_before(d),
                 extra_to=[("Linda Shaw", "l.shaw@cobalt-eng.example")]))
    mx, ip = "mx.cobalt-eng.example", mx_ip()
    exim_dsn("exim-dsn-multi", o, [
        R("m.shaw@cobalt-eng.example", "5.0.0", "550 5.1.1 <m.shaw@cobalt-eng.example>... User unknown", mx=mx,
          ip=ip, hard="5.1.1"),
        R("l.shaw@cobalt-eng.example", "5.0.0", "550 5.7.1 <l.shaw@cobalt-eng.example>... Relaying denied. "
          "Proper authentication required.", mx=mx, ip=ip)], d, host="relay.cobalt-isp.example",
             note="two recipients, both Status 5.0.0: the 5.1.1 one suppresses, the 5.7.1 relaying one does not")

    d = next_date("uk")
    o = Original("EN3", "Dominic Hart", "dominic.hart@hartwell-law.example", sent_before(d))
    exim_dsn("exim-dsn-requested-action", o, [R("dominic.hart@hartwell-law.example", "5.0.0",
                                                "550 Requested action not taken", mx="mail.hartwell-law.example")],
             d, host="mail.hartwell-hosting.example",
             note="AMBIGUOUS 5.0.0 '550 Requested action not taken' with nothing else: no action")

    d = next_date("uk")
    o = Original("EN4", "Sophie Turner", "sophie@turner-florist.example", sent_before(d), company="Turner Florist")
    exim_dsn("exim-dsn-delivery-error", o, [R("sophie@turner-florist.example", "5.0.0", "554 delivery error",
                                              mx="mx.turner-florist.example")], d,
             host="vps4471.cheaphost.example", third="headers",
             note="AMBIGUOUS 5.0.0 '554 delivery error' without a reason: no action")

    d = next_date("uk")
    o = Original("EN1", "Ian Fletcher", "ian.fletcher@fletcher-marine.example", sent_before(d))
    rc = R("ian.fletcher@fletcher-marine.example", "5.0.0",
           "552 5.2.3 Message size exceeds maximum permitted", mx="mx.fletcher-marine.example", cmd="MAIL FROM")
    exim_dsn("exim-dsn-too-big-523", o, [rc], d, host="mail.fletcher-marine.example",
             note="message too big (5.2.3 in the diagnostic)")


# ================================================================== Sendmail (DSN)

def sendmail_dsn(name, o, rcpts, d, *, host, note="", lang="en", mode="failed", third="headers"):
    qid = ralnum(8, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXabcdefghijklmnopqrstuvwx") + str(RNG.randint(100000, 999999))
    b = f"{qid}.{int(d.timestamp())}/{host}"
    arr = o.date.astimezone(d.tzinfo)
    relay = RELAYS[RNG.randrange(3)]
    lines = [f"The original message was received at {rfc_date(arr)}", f"from {relay[0]} [{relay[1]}]", ""]
    fail = [r for r in rcpts if r.action == "failed"]
    dly = [r for r in rcpts if r.action == "delayed"]
    ok = [r for r in rcpts if r.action in ("relayed", "delivered")]
    if fail:
        lines.append("   ----- The following addresses had permanent fatal errors -----")
        for r in fail:
            lines += [f"<{r.addr}>", f"    (reason: {r.diag})"]
        lines.append("")
    if dly:
        lines.append("   ----- The following addresses had transient non-fatal errors -----")
        for r in dly:
            lines += [f"<{r.addr}>", f"    (reason: {r.diag})"]
        lines.append("")
    if ok:
        lines.append("   ----- The following addresses had successful delivery notifications -----")
        for r in ok:
            lines.append(f"<{r.addr}>  (relayed to non-DSN-aware mailer)")
        lines.append("")
    lines.append("   ----- Transcript of session follows -----")
    for r in rcpts:
        if r.text:
            lines.append(r.text)
        elif r.action == "failed":
            lines += [f"... while talking to {r.mx}.:", ">>> DATA", f"<<< {r.diag}",
                      f"{r.diag.split(' ', 2)[0]} {r.diag.split(' ', 2)[1]} <{r.addr}>... "
                      f"{r.diag.split('... ', 1)[-1] if '... ' in r.diag else 'Service unavailable'}",
                      "<<< 503 5.0.0 Need RCPT (recipient)"]
        elif r.action == "delayed":
            lines += [f"<{r.addr}>... Deferred: Connection timed out with {r.mx}."]
        else:
            lines.append(f"<{r.addr}>... relayed; expect no further notifications")
    human = "\n".join(lines) + "\n"
    ds = [f"Reporting-MTA: dns; {host}", f"Received-From-MTA: DNS; {relay[0]}", f"Arrival-Date: {rfc_date(arr)}",
          ""]
    for r in rcpts:
        ds += [f"Final-Recipient: RFC822; {r.addr}", f"Action: {r.action}", f"Status: {r.status}"]
        if r.mx:
            ds.append(f"Remote-MTA: DNS; {r.mx}")
        if r.diag and r.action != "relayed":
            ds.append(f"Diagnostic-Code: {r.dtype}; {r.diag}")
        ds.append(f"Last-Attempt-Date: {rfc_date(d)}")
        if r.action == "delayed":
            ds.append(f"Will-Retry-Until: {rfc_date(arr + timedelta(days=5))}")
        ds.append("")
    rcvd = [f"Received: from {relay[0]} ({relay[0]} [{relay[1]}])\n\tby {host} (8.17.2/8.17.2) with ESMTPS id "
            f"{qid}\n\t(version=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 bits=256 verify=NOT)\n"
            f"\tfor <{rcpts[0].addr}>; {rfc_date(arr)}"]
    p3 = headers_part(o, rcvd) if third == "headers" else rfc822_part(o, rcvd)
    parts = [P([], human), P(["Content-Type: message/delivery-status"], "\n".join(ds)), p3]
    body = MP(report_ct(), parts, b, preamble="This is a MIME-encapsulated message")
    subject = {"failed": "Returned mail: see transcript for details", "relayed": "Return receipt"}[mode]
    h = [f"Return-Path: <>", f"Received: from localhost (localhost)\n\tby {host} (8.17.2/8.17.2) id {qid};\n"
                              f"\t{rfc_date(d)}",
         f"Date: {rfc_date(d)}", f"From: Mail Delivery Subsystem <MAILER-DAEMON@{host}>",
         f"Message-Id: <{d:%Y%m%d%H%M}.{qid}@{host}>", f"To: <{o.verp}>",
         "Auto-Submitted: auto-generated (failure)" if mode == "failed" else "Auto-Submitted: auto-generated",
         f"Subject: {subject}"]
    finish(fid(name), h, body, rcpts, lang, note)


def build_sendmail_dsn():
    d = next_date("us-e")
    o = Original("EN1", "Carl Jensen", "cjensen@umbrella-corp.example", sent_before(d))
    sendmail_dsn("sendmail-user-unknown", o, [R("cjensen@umbrella-corp.example", "5.1.1",
                                                "550 5.1.1 <cjensen@umbrella-corp.example>... User unknown",
                                                mx="mailhub.umbrella-corp.example", dtype="SMTP", hard="5.1.1")],
                 d, host="gw1.umbrella-corp.example")

    d = next_date("us-e")
    o = shared_rp(Original("EN3", "Ellen Wu", "ellen.wu@oceanic-air.example", sent_before(d, 5, 9, "hours"),
                 extra_to=[("Bob Ruiz", "bob.ruiz@oceanic-air.example")]))
    sendmail_dsn("sendmail-multi-failed-delayed", o, [
        R("ellen.wu@oceanic-air.example", "5.1.1", "550 5.1.1 <ellen.wu@oceanic-air.example>... User unknown",
          mx="mail.oceanic-air.example", dtype="SMTP", hard="5.1.1"),
        R("bob.ruiz@oceanic-air.example", "4.4.1", "Connection timed out", action="delayed",
          mx="mail2.oceanic-air.example", dtype="X-Unix")], d, host="relay.oceanic-air.example",
                 note="one failed 5.1.1, one delayed 4.4.1 -> only the failed one is suppressed")

    d = next_date("us-c")
    o = shared_rp(Original("EN6", "Jake Morrison", "jake.morrison@acme-widgets.example", sent_before(d, 4, 7, "hours"),
                           extra_to=[("Priscilla Vance", "pvance@acme-widgets.example")]))
    sendmail_dsn("sendmail-multi-hard-overquota", o, [
        R("jake.morrison@acme-widgets.example", "5.1.1", "550 5.1.1 <jake.morrison@acme-widgets.example>... "
          "User unknown", mx="mx1.acme-widgets.example", dtype="SMTP", hard="5.1.1"),
        R("pvance@acme-widgets.example", "4.2.2", "452 4.2.2 <pvance@acme-widgets.example>... Mailbox is over "
          "quota, try again later", action="delayed", mx="mx1.acme-widgets.example", dtype="SMTP",
          text="<pvance@acme-widgets.example>... Deferred: 452 4.2.2 <pvance@acme-widgets.example>... Mailbox is "
               "over quota, try again later")], d, host="mail.acme-widgets.example", third="full",
                 note="one failed (5.1.1) and one delayed (4.2.2 over quota) recipient; the recipient domain "
                      "acme-widgets.example is external (not Acme's own)")

    d = next_date("us-c")
    o = Original("EN2", "Frank Ortiz", "frank.ortiz@globx-industries.example", sent_before(d))
    rc = R("frank.ortiz@globx-industries.example", "5.1.2",
           "553 5.1.2 Host unknown (Name server: globx-industries.example: host not found)", dtype="X-Unix",
           text="553 5.1.2 frank.ortiz@globx-industries.example... Host unknown (Name server: "
                "globx-industries.example: host not found)", hard="5.1.2")
    sendmail_dsn("sendmail-host-unknown-512", o, [rc], d, host="mx.partner-relay.example", third="full",
                 note="Sendmail reports an unknown domain as 5.1.2 (bad destination system address), which the spec "
                      "lists -> hard bounce; compare postfix-host-not-found-544 (5.4.4) which is not")

    d = next_date("us-w")
    o = Original("EN5", "Grace Hopper", "ghopper@navy-yard.example", sent_before(d))
    rc = R("ghopper@navy-yard.example", "5.3.4", "552 5.3.4 Message size exceeds fixed maximum message size",
           mx="mx.navy-yard.example", dtype="SMTP",
           text="... while talking to mx.navy-yard.example.:\n>>> MAIL From:<" + o.verp + "> SIZE=48211\n"
                "<<< 552 5.3.4 Message size exceeds fixed maximum message size\n"
                "554 5.0.0 Service unavailable")
    sendmail_dsn("sendmail-too-big-534", o, [rc], d, host="mail.navy-yard.example", note="message too big 5.3.4")

    d = next_date("us-e")
    o = Original("EN1", "Hank Lloyd", "hank.lloyd@lloyd-hvac.example", sent_before(d))
    sendmail_dsn("sendmail-return-receipt", o, [R("hank.lloyd@lloyd-hvac.example", "2.0.0", None,
                                                  action="relayed", mx="mx.lloyd-hvac.example")], d,
                 host="mail.lloyd-hvac.example", mode="relayed",
                 note="success notification, Action: relayed")


# ================================================================== Exchange on-premises

EXCH_TEXT_EN = {
    "5.1.1": "The email address you entered couldn't be found. Please check the recipient's email address and try "
             "to resend the message. If the problem continues, please contact your helpdesk.",
    "5.2.2": "The recipient's mailbox is full and can't accept messages now. Please try resending your message "
             "later, or contact the recipient directly.",
    "5.7.1": "Your message couldn't be delivered because you weren't recognized as a valid sender. The most common "
             "reason for this is that your email address is suspected of sending spam and it's no longer allowed "
             "to send messages outside of your organization. Contact your email admin for assistance.",
    "auth": "You don't have permission to send to this recipient. For assistance, contact your email system "
            "administrator.",
    "4.4.7": "This message hasn't been delivered yet. Delivery will continue to be attempted.\n\nThe server will "
             "keep trying to deliver this message for the next 1 days, 19 hours and 52 minutes. You'll be notified "
             "if the message can't be delivered by that time.",
}
EXCH_TEXT_FR = {
    "5.1.1": "L'adresse de messagerie que vous avez entrée est introuvable. Vérifiez l'adresse de messagerie du "
             "destinataire et essayez de renvoyer le message. Si le problème persiste, contactez votre support "
             "technique.",
    "auth": "Vous n'êtes pas autorisé à envoyer un message à ce destinataire. Pour obtenir de l'aide, contactez "
            "votre administrateur de messagerie.",
}


def exchange(name, o, rcpts, d, *, server, org_domain, lang="en", note="", third="full", delayed=False):
    fr = lang == "fr"
    T = EXCH_TEXT_FR if fr else EXCH_TEXT_EN
    guid = ruuid()
    b = f"_000_{guid.replace('-', '')}{server.split('.')[0]}_"
    if delayed:
        head = "Delivery is delayed to these recipients or groups:"
    else:
        head = "La remise a échoué pour ces destinataires ou groupes :" if fr else \
            "Delivery has failed to these recipients or groups:"
    blocks_t, blocks_h, diag_t = [], [], []
    for r in rcpts:
        key = r.text or r.status
        disp = f"{r.name} ({r.addr})" if r.name else r.addr
        blocks_t.append(f"{disp}\n{T.get(key, '')}")
        blocks_h.append(f'<a href="mailto:{esc(r.addr)}">{esc(r.name or r.addr)} ({esc(r.addr)})</a><br>\n'
                        f"{esc(T.get(key, ''))}<br>")
        diag_t.append(f"{r.addr}\n#{r.diag} ##")
    gen = "Serveur de génération" if fr else "Generating server"
    admin = "Informations de diagnostic pour les administrateurs :" if fr else \
        "Diagnostic information for administrators:"
    omh = "En-têtes de message d'origine :" if fr else "Original message headers:"
    arr = o.date.astimezone(d.tzinfo)
    edge = f"mx1.{org_domain}"
    rcvd = [f"Received: from {edge} (10.1.4.21) by {server}\n (10.1.4.30) with Microsoft SMTP Server\n"
            f" (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id\n 15.2.1544.14; "
            f"{rfc_date(arr)}",
            f"Received: from out2.acme-mail.example (198.51.100.24) by {edge}\n (10.1.4.21) with Microsoft SMTP Server"
            f" id 15.2.1544.14 via Frontend\n Transport; {rfc_date(arr)}"]
    hdr_copy = orig_text(o, rcvd, headers_only=True)
    text = (f"{head}\n\n" + "\n\n".join(blocks_t) + f"\n\n\n\n\n\n{admin}\n\n{gen} : {server}\n\n"
            if fr else f"{head}\n\n" + "\n\n".join(blocks_t) + f"\n\n\n\n\n\n{admin}\n\n{gen}: {server}\n\n")
    text += "\n\n".join(diag_t) + f"\n\n\n\n{omh}\n\n" + hdr_copy
    html = ('<html>\n<head>\n<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\n'
            '<style>.diagnostic { font-family: Courier New; font-size: 10pt }</style>\n</head>\n<body>\n'
            f'<p><b><font color="#000066" size="3" face="Arial">{esc(head)}</font></b></p>\n'
            f'<font color="#000000" size="2" face="Tahoma"><p>' + "\n".join(blocks_h) + "</p></font>\n"
            f'<p><font color="#808080" size="2" face="Tahoma"><b>{esc(admin)}</b></font></p>\n'
            f'<p class="diagnostic">{esc(gen)}{" " if fr else ""}: {esc(server)}<br><br>\n'
            + "<br><br>\n".join(esc(x).replace("\n", "<br>\n") for x in diag_t) + "<br></p>\n"
            f'<p class="diagnostic">{esc(omh)}</p>\n<p class="diagnostic">'
            + esc(hdr_copy).replace("\n", "<br>\n") + "</p>\n</body>\n</html>\n")
    alt = MP('Content-Type: multipart/alternative;\n\tboundary="{b}"', [
        P(['Content-Type: text/plain; charset="utf-8"' if not is_ascii(text) else
           'Content-Type: text/plain; charset="us-ascii"', "Content-Transfer-Encoding: quoted-printable"],
          text, "quoted-printable"),
        P(['Content-Type: text/html; charset="utf-8"', "Content-Transfer-Encoding: quoted-printable"], html,
          "quoted-printable")], f"_002_{guid.replace('-', '')}{server.split('.')[0]}_")
    ds = [f"Reporting-MTA: dns;{server}", f"Received-From-MTA: dns;{edge}", f"Arrival-Date: {rfc_date(arr)}", ""]
    for r in rcpts:
        ds += [f"Original-Recipient: rfc822;{r.orig or r.addr}", f"Final-Recipient: rfc822;{r.addr}",
               f"Action: {r.action}", f"Status: {r.status}", f"Diagnostic-Code: smtp;{r.diag}"]
        if r.action == "delayed":
            ds.append(f"Will-Retry-Until: {rfc_date(arr + timedelta(days=2))}")
        if r.name:
            ds.append(f"X-Display-Name: {r.name}")
        ds.append("")
    if third == "full":
        p3 = rfc822_part(o, rcvd)
    else:
        p3 = headers_part(o, rcvd)
    body = MP(report_ct(), [alt, P(["Content-Type: message/delivery-status"], "\n".join(ds)), p3], b)
    if delayed:
        sj = "Delivery delayed:" + o.subject
    else:
        sj = ("Non remis : " if fr else "Undeliverable: ") + o.subject
    h = [f"From: postmaster@{org_domain}", f"To: {o.verp}", f"Date: {rfc_date(d)}", f"Subject: {subj(sj)}",
         f"Message-ID: <{ruuid()}@{server}>", f"In-Reply-To: {o.mid}", f"References: {o.mid}",
         "Thread-Topic: " + subj(o.subject), f"Content-Language: {'fr-FR' if fr else 'en-US'}",
         "X-MS-Has-Attach: yes", "X-MS-Exchange-Organization-SCL: -1", "X-MS-TNEF-Correlator: ",
         "X-MS-Exchange-Message-Is-Ndr: ", "Auto-Submitted: auto-replied"]
    finish(fid(name), h, body, rcpts, lang, note)


def build_exchange():
    d = next_date("us-e")
    o = Original("EN1", "Pat Donovan", "Pat.Donovan@hooli.example", sent_before(d))
    exchange("exchange-recipnotfound", o, [R("Pat.Donovan@hooli.example", "5.1.1",
                                             "550 5.1.1 RESOLVER.ADR.RecipNotFound; not found", name="Pat Donovan",
                                             hard="5.1.1")], d, server="EXCH01.corp.hooli.example",
             org_domain="hooli.example", note="Exchange 2016 NDR, mixed-case address, quoted-printable parts")

    d = next_date("us-c")
    o = shared_rp(Original("EN2", "Diane Moore", "diane.moore@initech.example", sent_before(d),
                 extra_to=[("Ray Banks", "ray.banks@initech.example"), ("Sue Yang", "sue.yang@initech.example")]))
    exchange("exchange-multi", o, [
        R("diane.moore@initech.example", "5.1.1", "550 5.1.1 RESOLVER.ADR.RecipNotFound; not found",
          name="Diane Moore", hard="5.1.1"),
        R("ray.banks@initech.example", "5.1.1", "550 5.1.1 RESOLVER.ADR.RecipNotFound; not found",
          name="Ray Banks", hard="5.1.1"),
        R("sue.yang@initech.example", "5.2.2", "554 5.2.2 mailbox full; "
          "STOREDRV.Deliver.Exception:QuotaExceededException.MapiExceptionShutoffQuotaExceeded; Failed to "
          "process message due to a permanent exception with message Cannot open mailbox.", name="Sue Yang")],
             d, server="MBX02.initech.example", org_domain="initech.example", third="headers",
             note="3 recipients: two RecipNotFound (suppress), one quota exceeded (no action)")

    d = next_date("fr")
    o = Original("FR1", "Marc Durand", "marc.durand@dupont-sa.fr", sent_before(d))
    exchange("exchange-fr-recipnotfound", o, [R("marc.durand@dupont-sa.fr", "5.1.1",
                                                "550 5.1.1 RESOLVER.ADR.RecipNotFound; not found",
                                                name="Marc Durand", hard="5.1.1")], d,
             server="SRV-EXCH01.dupont-sa.local", org_domain="dupont-sa.fr", lang="fr",
             note="Exchange FR 'La remise a échoué pour ces destinataires ou groupes', subject 'Non remis :'")

    d = next_date("fr")
    o = Original("FR2", "Sylvie Garnier", "direction@groupe-arvel.fr", sent_before(d))
    rc = R("direction@groupe-arvel.fr", "5.7.1", "550 5.7.1 RESOLVER.RST.AuthRequired; authentication required",
           name="Direction", text="auth")
    exchange("exchange-fr-not-authorized-571", o, [rc], d, server="EXCH-PAR02.groupe-arvel.local",
             org_domain="groupe-arvel.fr", lang="fr", third="headers",
             note="restricted distribution group (RESOLVER.RST.AuthRequired, 5.7.1): policy, no action")

    d = next_date("us-e")
    o = Original("EN3", "Ted Nugent", "ted.nugent@stark-logistics.example", sent_before(d))
    rc = R("ted.nugent@stark-logistics.example", "5.7.1", "550 5.7.1 RESOLVER.RST.NotAuthorized; not authorized",
           name="Ted Nugent", text="auth")
    exchange("exchange-not-authorized-571", o, [rc], d, server="EX2019-01.stark-logistics.example",
             org_domain="stark-logistics.example",
             note="RESOLVER.RST.NotAuthorized (5.7.1): 'RESOLVER.' prefix but a policy block")

    d = next_date("us-e")
    o = Original("EN5", "Walter Reed", "walter.reed@cyberdyne.example", sent_before(d, 6, 9, "hours"))
    rc = R("walter.reed@cyberdyne.example", "4.4.7", "400 4.4.7 Message delayed", action="delayed",
           name="Walter Reed")
    exchange("exchange-delayed-447", o, [rc], d, server="EXCH03.corp.cyberdyne.example",
             org_domain="cyberdyne.example", third="headers", delayed=True,
             note="Exchange 'Delivery delayed:' notice, Action: delayed 4.4.7")


# ================================================================== Office 365 (modern NDR)

def o365(name, o, r, d, *, tenant, lang="en", note="", third="headers"):
    fr = lang == "fr"
    srv = ms_server(us=not fr)
    local, dom = r.addr.split("@")
    rep_first = o.rep_name.split()[0]
    if fr:
        text = (f"Votre message à {r.addr} n'a pas pu être remis.\n\n{local} est introuvable sur {dom}.\n\n\n\n"
                f"{rep_first}\tOffice 365\t{local}\nAction requise\t\tDestinataire\n\n\n"
                "Adresse À inconnue\n\nComment résoudre le problème\n"
                "Il est possible que l'adresse soit mal orthographiée ou qu'elle n'existe pas. Essayez une ou "
                "plusieurs des solutions suivantes :\n\n"
                "  *   Tapez à nouveau l'adresse du destinataire, puis renvoyez le message. Si vous utilisez Outlook, "
                "ouvrez ce rapport de non-remise (NDR) et choisissez Renvoyer ce message dans le ruban. Supprimez "
                "ensuite l'adresse du destinataire dans la ligne À et entrez-la à nouveau.\n"
                "  *   Vérifiez l'adresse de messagerie du destinataire auprès de celui-ci, puis renvoyez le "
                "message.\n\n"
                "Plus d'informations pour les administrateurs de messagerie\nCode d'état : 550 5.1.10\n\n"
                "Cette erreur se produit car l'expéditeur a envoyé un message à une adresse e-mail hébergée par "
                "Office 365, mais l'adresse est incorrecte ou n'existe pas dans le domaine de destination.\n\n"
                "Détails du message d'origine\n"
                f"Date de création :\t{d:%d/%m/%Y %H:%M:%S}\nAdresse de l'expéditeur :\t{o.verp}\n"
                f"Adresse du destinataire :\t{r.addr}\nObjet :\t{o.subject}\n\n"
                f"Détails de l'erreur\nErreur signalée :\t{r.diag}\nDSN généré par :\t{srv}\n")
    else:
        text = (f"Your message to {r.addr} couldn't be delivered.\n\n{local} wasn't found at {dom}.\n\n\n\n"
                f"{rep_first}\tOffice 365\t{local}\nAction Required\t\tRecipient\n\n\n"
                "Unknown To address\n\nHow to Fix It\n"
                "The address may be misspelled or may not exist. Try one or more of the following:\n\n"
                "  *   Retype the recipient's address, then resend the message - If you're using Outlook, open this "
                "non-delivery report (NDR) and choose Send Again from the report ribbon. In Outlook on the web, "
                "select this NDR, then select the link \"To send this message again, click here.\" Then delete and "
                "retype the entire recipient address. If prompted with an Auto-Complete List suggestion don't select "
                "it. After typing the complete address, click Send.\n"
                "  *   Contact the recipient (by phone, for example) to check that you're using the right address. "
                "Ask them if they've set up an email forwarding rule that could be forwarding your message to an "
                "incorrect address.\n\n"
                "More Info for Email Admins\nStatus code: 550 5.1.10\n\n"
                "This error occurs because the sender sent a message to an email address hosted by Office 365 but the "
                "address is incorrect or doesn't exist at the destination domain. The error is reported by the "
                "recipient domain's email server, but most often it must be fixed by the person who sent the "
                "message.\n\n"
                "Original Message Details\n"
                f"Created Date:\t{ms_date(o.date.astimezone(d.tzinfo))}\nSender Address:\t{o.verp}\n"
                f"Recipient Address:\t{r.addr}\nSubject:\t{o.subject}\n\n"
                f"Error Details\nReported error:\t{r.diag}\nDSN generated by:\t{srv}\n\n"
                "Message Hops\nHOP\tTIME (UTC)\tFROM\tTO\tWITH\tRELAY TIME\n"
                f"1\t{ms_date(o.date.astimezone(d.tzinfo))}\tout1.acme-mail.example\t{srv}\tMicrosoft SMTP Server "
                "(version=TLS1_3, cipher=TLS_AES_256_GCM_SHA384)\t1 sec\n")
    html = ("<html>\n<head>\n<meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">\n</head>\n"
            "<body>\n<div style=\"font-family:'Segoe UI',Frutiger,Arial,sans-serif\">\n"
            + "\n".join(f"<p>{esc(p).replace(chr(10), '<br>')}</p>" for p in text.split("\n\n") if p.strip())
            + "\n</div>\n</body>\n</html>\n")
    guid = ruuid()
    alt = MP('Content-Type: multipart/alternative;\n\tboundary="{b}"', [
        P(['Content-Type: text/plain; charset="utf-8"', "Content-Transfer-Encoding: quoted-printable"], text,
          "quoted-printable"),
        P(['Content-Type: text/html; charset="utf-8"', "Content-Transfer-Encoding: base64"], html, "base64")],
        f"_002_{guid.replace('-', '')}_")
    arr = o.date.astimezone(d.tzinfo)
    ds = [f"Reporting-MTA: dns;{srv}", f"Received-From-MTA: dns;out1.acme-mail.example",
          f"Arrival-Date: {rfc_date(arr)}", "", f"Final-Recipient: rfc822;{r.addr}", f"Action: {r.action}",
          f"Status: {r.status}", f"Diagnostic-Code: smtp;{r.diag}", ""]
    rcvd = [f"Received: from out1.acme-mail.example (198.51.100.23) by\n {srv} (2603:10a6:20b:{rhex(3)}::{rhex(2)}) "
            f"with Microsoft\n SMTP Server (version=TLS1_3, cipher=TLS_AES_256_GCM_SHA384) id 15.20.8335.15; "
            f"{rfc_date(arr)}"]
    p3 = headers_part(o, rcvd) if third == "headers" else rfc822_part(o, rcvd)
    body = MP(report_ct(), [alt, P(["Content-Type: message/delivery-status"], "\n".join(ds)), p3],
              f"_000_{guid.replace('-', '')}_")
    sj = ("Non remis : " if fr else "Undeliverable: ") + o.subject
    mx_guid = rhex(32)
    h = [f"From: Microsoft Outlook <MicrosoftExchange{mx_guid}@{tenant}>", f"To: <{o.verp}>",
         f"Date: {rfc_date(d)}", f"Subject: {subj(sj)}", f"Message-ID: <{ruuid()}@{srv}>",
         f"In-Reply-To: {o.mid}", f"References: {o.mid}", f"Content-Language: {'fr-FR' if fr else 'en-US'}",
         "X-MS-Exchange-Message-Is-Ndr: ", "X-MS-Has-Attach: ", "X-MS-TNEF-Correlator: ",
         "Auto-Submitted: auto-replied"]
    finish(fid(name), h, body, [r], lang, note)


def build_o365():
    d = next_date("us-w")
    o = Original("EN2", "Jordan Miles", "jordan.miles@piedpiper.example", sent_before(d))
    o365("o365-recipientnotfound-5110", o, R("jordan.miles@piedpiper.example", "5.1.10",
                                            "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP "
                                            "address lookup", hard="5.1.10"), d, tenant="piedpiper.example",
         note="modern Office 365 NDR, text/html base64 + text/plain QP, text/rfc822-headers")

    d = next_date("fr")
    o = Original("FR3", "Élodie Marchal", "elodie.marchal@cabinet-rousseau.fr", sent_before(d), company="Cabinet Rousseau")
    o365("o365-fr-introuvable-5110", o, R("elodie.marchal@cabinet-rousseau.fr", "5.1.10",
                                         "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP "
                                         "address lookup", hard="5.1.10"), d, tenant="cabinetrousseau.onmicrosoft.com",
         lang="fr", third="full", note="Office 365 NDR in French ('n'a pas pu être remis', 'est introuvable')")

    d = next_date("us-e")
    o = Original("EN4", "Karen Lutz", "klutz@lutz-insurance.example", sent_before(d), company="Lutz Insurance")
    o365("o365-recipnotfound-511", o, R("klutz@lutz-insurance.example", "5.1.1",
                                       "550 5.1.1 RESOLVER.ADR.RecipNotFound; not found", hard="5.1.1"),
         d, tenant="lutzinsurance.onmicrosoft.com", note="Office 365, RESOLVER.ADR.RecipNotFound 5.1.1")


# ================================================================== Gmail / Google Workspace (mailer-daemon@googlemail.com)

def gmail(name, o, r, d, *, mode="notfound", lang="en", note="", remote=None):
    if mode == "notfound":
        title, subject = "** Address not found **", "Delivery Status Notification (Failure)"
        lead = (f"Your message wasn't delivered to {r.addr} because the address couldn't be found, or is unable to "
                f"receive mail.")
        more = "https://support.google.com/mail/?p=NoSuchUser"
    elif mode == "blocked":
        title, subject = "** Message blocked **", "Delivery Status Notification (Failure)"
        lead = f"Your message to {r.addr} has been blocked. See technical details below for more information."
        more = None
    else:
        title, subject = "** Delivery incomplete **", "Delivery Status Notification (Delay)"
        lead = (f"There was a temporary problem delivering your message to {r.addr}. Gmail will retry for "
                f"{RNG.randint(40, 47)} more hours. You'll be notified if the delivery fails permanently.")
        more = None
    resp = r.text or r.diag
    text = f"\n{title}\n\n{lead}\n\n" + (f"Learn more here: {more}\n\n" if more else "") + \
        f"The response {'from the remote server ' if remote else ''}was:\n\n{resp}\n"
    html = ("<html>\n<head>\n<style>\n* {\nfont-family:Roboto, \"Helvetica Neue\", Helvetica, Arial, sans-serif;\n}\n"
            "</style>\n</head>\n<body>\n<table cellpadding=\"0\" cellspacing=\"0\" class=\"email-wrapper\" "
            "style=\"padding-top:32px;background-color:#ffffff;\"><tbody>\n<tr><td>\n"
            f"<h1 style=\"font-size:24px;color:#202124;\">{esc(title.strip('* '))}</h1>\n"
            f"<p style=\"font-size:16px;color:#3c4043;line-height:24px;\">{esc(lead)}</p>\n"
            + (f"<p><a href=\"{more}\">LEARN MORE</a></p>\n" if more else "")
            + f"<p style=\"font-size:12px;color:#5f6368;\">The response was:</p>\n"
            f"<p style=\"font-size:12px;color:#5f6368;\">{esc(resp)}</p>\n</td></tr>\n</tbody></table>\n</body>\n"
            "</html>\n")
    b0 = "000000000000" + rhex(12)
    b1 = "000000000000" + rhex(12)
    b2 = "000000000000" + rhex(12)
    cte = "base64" if RNG.random() < 0.5 else "quoted-printable"
    alt = MP('Content-Type: multipart/alternative; boundary="{b}"', [
        P(['Content-Type: text/plain; charset="UTF-8"', f"Content-Transfer-Encoding: {cte}"], text, cte),
        P(['Content-Type: text/html; charset="UTF-8"', "Content-Transfer-Encoding: quoted-printable"], html,
          "quoted-printable")], b2)
    rel = MP('Content-Type: multipart/related; boundary="{b}"', [alt], b1)
    arr = o.date.astimezone(d.tzinfo)
    ds = ["Reporting-MTA: dns; googlemail.com", f"Arrival-Date: {rfc_date(arr)} ({arr.tzname()})",
          f"X-Original-Message-ID: {o.mid}", "",
          f"Final-Recipient: rfc822; {r.addr}", f"Action: {r.action}", f"Status: {r.status}"]
    if remote:
        ds.append(f"Remote-MTA: dns; {remote[0]}. ({remote[1]}, the server for the domain "
                  f"{r.addr.split('@')[1]}.)")
    ds.append(field("Diagnostic-Code", f"smtp; {r.diag}", indent=" "))
    ds.append(f"Last-Attempt-Date: {rfc_date(d)} ({d.tzname()})")
    if r.action == "delayed":
        ds.append(f"Will-Retry-Until: {rfc_date(arr + timedelta(days=2))} ({d.tzname()})")
    body = MP('Content-Type: multipart/report; boundary="{b}"; report-type=delivery-status', [
        rel, P(["Content-Type: message/delivery-status"], "\n".join(ds) + "\n"),
        rfc822_part(o, [f"Received: by 2002:a05:6a20:{rhex(4)}:b0:1e0:{rhex(4)}:{rhex(4)} with SMTP id "
                        f"{ralnum(20, 'abcdefghijklmnopqrstuvwxyz0123456789')};\n        {rfc_date(arr)} "
                        f"({arr.tzname()})"], trace=False)], b0)
    h = [f"Return-Path: <>", f"Received: from mail-sor-f69.google.com (mail-sor-f69.google.com. [209.85.220.69])\n"
                             f"        by mx.google.com with SMTPS id {ralnum(20, 'abcdefghijklmnopqrstuvwxyz0123456789')}"
                             f"\n        for <{o.rep_addr}>\n        (Google Transport Security);\n"
                             f"        {rfc_date(d)} ({d.tzname()})",
         f"From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>", f"To: {o.rep_addr}",
         f"Auto-Submitted: auto-replied", f"Subject: {subject}", f"References: {o.mid}",
         f"In-Reply-To: {o.mid}", f"X-Failed-Recipients: {r.addr}",
         f"Message-ID: <{rhex(8)}.{rhex(6)}0220.{rhex(6)}.{rhex(4)}GMR"
         f"@mx.google.com>", f"Date: {rfc_date(d)} ({d.tzname()})"]
    finish(fid(name), h, body, [r], lang, note)


def build_gmail():
    d = next_date("us-w")
    o = Original("EN5", "Nate Holt", "nate.holt@gmail.com", sent_before(d), company="Holt Design")
    gmail("gmail-address-not-found", o, R("nate.holt@gmail.com", "5.1.1",
                                          "The email account that you tried to reach does not exist. Please try "
                                          "double-checking the recipient's email address for typos or unnecessary "
                                          "spaces. For more information, go to "
                                          "https://support.google.com/mail/?p=NoSuchUser", hard="5.1.1"), d,
          note="Google Workspace bounce to the rep (Priya sends from Workspace) about a gmail.com recipient")

    d = next_date("us-w")
    o = Original("EN1", "Rosa Jimenez", "rjimenez@sunset-realty.example", sent_before(d), company="Sunset Realty")
    mx = ("mx1.sunset-realty.example", mx_ip())
    gmail("gmail-address-not-found-remote", o, R("rjimenez@sunset-realty.example", "5.1.1",
                                                 "550 5.1.1 <rjimenez@sunset-realty.example>: Recipient address "
                                                 "rejected: User unknown in local recipient table", hard="5.1.1"), d,
          remote=mx, note="Gmail 'Address not found' quoting the remote server's 550 5.1.1")

    d = next_date("us-w")
    o = Original("EN3", "Alan Pierce", "alan.pierce@pierce-tooling.example", sent_before(d, 3, 6, "hours"))
    mx = ("mail.pierce-tooling.example", mx_ip())
    gmail("gmail-delivery-incomplete", o, R("alan.pierce@pierce-tooling.example", "4.4.1",
                                            f"The recipient server did not accept our requests to connect. Learn more "
                                            f"at https://support.google.com/mail/answer/7720 [{mx[0]} {mx[1]}: "
                                            f"timed out]", action="delayed"), d, mode="delay",
          note="Gmail 'Delivery incomplete' (Action: delayed, 4.4.1) from mailer-daemon@googlemail.com")

    d = next_date("us-w")
    o = Original("EN6", "Beth Ray", "beth.ray@ray-analytics.example", sent_before(d))
    mx = ("mx.ray-analytics.example", mx_ip())
    gmail("gmail-message-blocked", o, R("beth.ray@ray-analytics.example", "5.7.1",
                                        "550 5.7.1 Message rejected as spam by Content Filtering.",
                                        text="Message rejected as spam by Content Filtering."), d, mode="blocked",
          remote=mx, note="Gmail 'Message blocked': remote spam filter 5.7.1")


# ================================================================== Amazon SES, Mailgun, SendGrid-style

def ses(name, o, rcpts, d, *, note="", to="bounces@fb.acme.example"):
    b = "=_" + ralnum(28)
    human = ("An error occurred while trying to deliver the mail to the following recipients:\n"
             + "\n".join(r.addr for r in rcpts) + "\n")
    host = f"a{RNG.randint(8, 48)}-{RNG.randint(10, 99)}.smtp-out.amazonses.com"
    ds = [f"Reporting-MTA: dns; {host}", ""]
    for r in rcpts:
        ds += [f"Action: {r.action}", f"Final-Recipient: rfc822; {r.addr}",
               f"Diagnostic-Code: smtp; {r.diag}", f"Status: {r.status}"]
        if r.mx:
            ds.append(f"Remote-MTA: dns; {r.mx}")
        ds.append("")
    o_text = orig_text(o, trace=False)
    body = MP(report_ct(fold=False), [
        P(['Content-Type: text/plain; charset=UTF-8', "Content-Transfer-Encoding: 7bit"], human),
        P(["Content-Type: message/delivery-status"], "\n".join(ds)),
        P(["Content-Type: message/rfc822"] + ([] if is_ascii(o_text) else ["Content-Transfer-Encoding: 8bit"]),
          o_text, None if is_ascii(o_text) else "8bit")], b)
    h = [f"From: MAILER-DAEMON@amazonses.com", f"To: {to}", f"Subject: Delivery Status Notification (Failure)",
         f"Message-ID: <0100019{rhex(9)}-{ruuid()}-000000@email.amazonses.com>", f"Date: {rfc_date(d)}",
         "X-SES-Outgoing: " + f"{d:%Y.%m.%d}-54.240.{RNG.randint(1, 60)}.{RNG.randint(1, 250)}",
         "Feedback-ID: ::1.us-east-1.bHt" + ralnum(40) + "=:AmazonSES"]
    finish(fid(name), h, body, rcpts, "en", note)


def build_esp():
    d = next_date("utc")
    o = Original("EN4", "Jim Baker", "jim.baker@baker-supply.example", sent_before(d), company="Baker Supply")
    ses("ses-user-unknown", o, [R("jim.baker@baker-supply.example", "5.1.1", "550 5.1.1 user unknown",
                                  mx="mx.baker-supply.example", hard="5.1.1")], d,
        note="Amazon SES DSN to the custom MAIL FROM bounces@fb.acme.example")

    d = next_date("utc")
    o = shared_rp(Original("EN4", "Lisa Grant", "lisa.grant@grant-and-co.example", sent_before(d), company="Grant & Co",
                 extra_to=[("Ben Grant", "BEN.GRANT@grant-and-co.example")]))
    ses("ses-multi-user-unknown", o, [
        R("lisa.grant@grant-and-co.example", "5.1.1", "550 5.1.1 <lisa.grant@grant-and-co.example>: Recipient "
          "address rejected: User unknown", mx="mail.grant-and-co.example", hard="5.1.1"),
        R("BEN.GRANT@grant-and-co.example", "5.1.1", "550 5.1.1 <BEN.GRANT@grant-and-co.example>: Recipient "
          "address rejected: User unknown", mx="mail.grant-and-co.example", hard="5.1.1")], d,
        note="two recipients, both 5.1.1; one address in upper case")

    d = next_date("utc")
    o = Original("EN4", "Tina Vo", "tina.vo@vo-logistics.example", sent_before(d, 14, 15, "hours"),
                 company="Vo Logistics")
    ses("ses-expired-447", o, [R("tina.vo@vo-logistics.example", "4.4.7",
                                 "554 4.4.7 Message expired: unable to deliver in 840 minutes.<421 4.4.0 Unable to "
                                 "connect to mx.vo-logistics.example>")], d,
        note="Action: failed but status 4.4.7 (expired after temporary errors): transient class, no action")

    # Mailgun
    d = next_date("utc")
    o = Original("EN6", "Greg Fox", "greg.fox@fox-media.example", sent_before(d))
    r = R("greg.fox@fox-media.example", "5.1.1", "550 5.1.1 <greg.fox@fox-media.example>: Recipient address "
          "rejected: User unknown in relay recipient table", mx="mx.fox-media.example", hard="5.1.1")
    b = "==" + rhex(32)
    human = (f"Delivery to the following recipient failed permanently:\n\n    {r.addr}\n\n"
             f"Technical details of permanent failure:\n\nThe recipient server {r.mx} [{r.ip}] rejected the message "
             f"with the following reply:\n{r.diag}\n\nThis message was sent by Mailgun on behalf of acme-mail.example.\n")
    ds = [f"Reporting-MTA: dns; mxa.mailgun.org", f"X-Mailgun-Sid: {ralnum(60)}", f"Arrival-Date: {rfc_date(o.date)}",
          "", f"Final-Recipient: rfc822; {r.addr}", "Action: failed", f"Status: {r.status}",
          f"Remote-MTA: dns; {r.mx}", field("Diagnostic-Code", f"smtp; {r.diag}"), ""]
    body = MP(report_ct(), [P(["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 7bit"], human),
                            P(["Content-Type: message/delivery-status"], "\n".join(ds)),
                            headers_part(o, [], ct="text/rfc822-headers")], b)
    h = [f"From: Mail Delivery Subsystem <mailer-daemon@mailgun.org>", f"To: {o.verp}",
         f"Subject: Delivery Status Notification (Failure)", f"Date: {rfc_date(d)}",
         f"Message-Id: <{d:%Y%m%d%H%M%S}.{rhex(16)}@mailgun.org>", "Auto-Submitted: auto-replied",
         f"X-Mailgun-Sending-Ip: 69.72.{RNG.randint(30, 50)}.{RNG.randint(1, 250)}"]
    finish(fid("mailgun-user-unknown"), h, body, [r], "en", "Mailgun-style DSN with text/rfc822-headers")

    # SendGrid-style, Spamhaus listing
    d = next_date("utc")
    o = Original("EN4", "Omar Haddad", "omar@haddad-imports.example", sent_before(d), company="Haddad Imports")
    r = R("omar@haddad-imports.example", "5.7.1", "554 5.7.1 Service unavailable; Client host [167.89.12.34] "
          "blocked using Spamhaus. To request removal from this list see https://www.spamhaus.org/query/ip/"
          "167.89.12.34 (AS3130). [VI1EUR04FT012.eop-eur04.prod.protection.outlook.com]",
          mx="haddadimports-example.mail.protection.outlook.com")
    b = rhex(28)
    human = (f"We were unable to deliver your message to the following address:\n\n  {r.addr}\n\n"
             f"The receiving server said:\n\n  {r.diag}\n\nThis is a permanent error. Please do not resend this "
             f"message to this address until the sending IP has been delisted.\n\n-- \nSent via SendGrid\n")
    ds = [f"Reporting-MTA: dns; o{RNG.randint(1, 9)}.ptr{RNG.randint(1000, 9999)}.sendgrid.example", "",
          f"Final-Recipient: rfc822; {r.addr}", "Action: failed", f"Status: {r.status}", f"Remote-MTA: dns; {r.mx}",
          field("Diagnostic-Code", f"smtp; {r.diag}"), ""]
    body = MP(report_ct(), [P(["Content-Type: text/plain; charset=us-ascii", "Content-Transfer-Encoding: quoted-printable"],
                              human, "quoted-printable"),
                            P(["Content-Type: message/delivery-status"], "\n".join(ds)),
                            rfc822_part(o, [])], b)
    h = [f"From: Mail Delivery System <MAILER-DAEMON@sendgrid.example>", f"To: {o.verp}",
         "Subject: Undelivered Mail Returned to Sender", f"Date: {rfc_date(d)}",
         f"Message-ID: <{ralnum(22)}@geopod-ismtpd-{RNG.randint(1, 40)}>", "Auto-Submitted: auto-replied",
         f"X-SG-EID: {ralnum(60)}"]
    finish(fid("sendgrid-spamhaus-571"), h, body, [r], "en",
           "ESP DSN for an IP listed on Spamhaus (5.7.1): no action")

    # Yahoo deferral reported by Acme's relay
    d = next_date("utc")
    o = Original("EN4", "Carla Mendes", "carla.mendes@yahoo.com", sent_before(d, 4, 6, "hours"),
                 company="Mendes Travel")
    postfix("postfix-yahoo-tss04-delayed", o, [R("carla.mendes@yahoo.com", "4.7.0",
                                                 "421 4.7.0 [TSS04] Messages from 198.51.100.24 temporarily deferred "
                                                 "due to unexpected volume or user complaints - 4.16.55.1; see "
                                                 "https://postmaster.yahooinc.com/error-codes",
                                                 mx="mta5.am0.yahoodns.net", ip="67.195.228.106", action="delayed",
                                                 cmd="MAIL FROM")], d, mode="delayed", third="headers",
            note="Yahoo TSS04 deferral, Action: delayed")

    d = next_date("utc")
    o = Original("EN4", "Kelly Shore", "kelly.shore@aol.com", sent_before(d), company="Shore Yoga")
    postfix("postfix-aol-policy-579", o, [R("kelly.shore@aol.com", "5.7.9",
                                            "554 5.7.9 Message not accepted for policy reasons.  See "
                                            "https://postmaster.yahooinc.com/error-codes",
                                            mx="mx-aol.mail.gm0.yahoodns.net", ip="67.195.204.77",
                                            cmd="end of DATA")], d, third="headers",
            note="Yahoo/AOL policy rejection 5.7.9")


# ================================================================== Courier

def courier(name, o, r, d, *, host, note="", delayed=False):
    b = f"=_courier-{RNG.randint(10000, 99999)}-{int(d.timestamp())}-{RNG.randint(1000, 9999)}"
    arr = o.date.astimezone(d.tzinfo)
    bar = "-" * 75
    if delayed:
        core = (f"                        DELAYED MAIL\n\nYour message to the following recipients has not been "
                f"delivered yet.\nDelivery attempts will continue for a while.\n\n<{r.addr}>:\n"
                f"    {r.mx} [{r.ip}]:\n>>> RCPT TO:<{r.addr}>\n<<< {r.diag}\n")
    else:
        core = (f"                           UNDELIVERABLE MAIL\n\nYour message to the following recipients cannot "
                f"be delivered:\n\n<{r.addr}>:\n    {r.mx} [{r.ip}]:\n>>> RCPT TO:<{r.addr}>\n<<< {r.diag}\n")
    human = (f"This is a delivery status notification from {host},\nrunning the Courier mail server, version 1.3.12.\n\n"
             f"The original message was received on {rfc_date(arr)}\nfrom out3.acme-mail.example (198.51.100.25)\n\n"
             f"{bar}\n\n{core}\n{bar}\n\nIf your message was also sent to additional recipients, their delivery\n"
             f"status is not included in this report.  You may or may not receive\nother delivery status "
             f"notifications for additional recipients.\n\nThe original message follows as a separate attachment.\n")
    ds = [f"Reporting-MTA: dns; {host}", f"Arrival-Date: {rfc_date(arr)}",
          f"Received-From-MTA: dns; out3.acme-mail.example (198.51.100.25)", "",
          f"Final-Recipient: rfc822; {r.addr}", f"Action: {r.action}", f"Status: {r.status}",
          f"Remote-MTA: dns; {r.mx}", f"Diagnostic-Code: smtp; {r.diag}", ""]
    body = MP(report_ct(fold=False), [
        P(['Content-Type: text/plain; charset="utf-8"', "Content-Transfer-Encoding: 7bit"], human),
        P(['Content-Type: message/delivery-status; charset="utf-8"', "Content-Transfer-Encoding: 7bit"],
          "\n".join(ds)),
        headers_part(o, [f"Received: from out3.acme-mail.example (out3.acme-mail.example [198.51.100.25])\n"
                         f"  (TLS: TLSv1.3,256bits,TLS_AES_256_GCM_SHA384)\n  by {host} with ESMTPS; "
                         f"{rfc_date(arr)}\n  id 0000{rHEX(4)}.{rHEX(8)}.0000{rHEX(4)}"],
                     ct='text/rfc822-headers; charset="iso-8859-1"', extra=["Content-Transfer-Encoding: 7bit"])], b,
        preamble="This is a MIME-formatted message.  If you see this text it means that your\n"
                 "E-mail software does not support MIME-formatted messages.")
    h = [f'From: "Courier mail server at {host}" <postmaster@{host}>',
         f"To: <{o.verp}>", f"Subject: {'DELAYED MAIL' if delayed else 'NOTICE: mail delivery status.'}",
         f"Date: {rfc_date(d)}", f"Message-ID: <courier.{rHEX(16)}.{rHEX(8)}@{host}>",
         "Auto-Submitted: auto-replied"]
    finish(fid(name), h, body, [r], "en", note)


def build_courier():
    d = next_date("us-c")
    o = Original("EN1", "Gina Rossi", "gina.rossi@rossi-wines.example", sent_before(d))
    courier("courier-user-unknown", o, R("gina.rossi@rossi-wines.example", "5.0.0",
                                         "550 5.1.1 <gina.rossi@rossi-wines.example>: Recipient address rejected: "
                                         "User unknown in virtual mailbox table", mx="mx.rossi-wines.example",
                                         hard="5.1.1"), d, host="mail.vinohost.example",
            note="Courier DSN, Status 5.0.0 + diagnostic 550 5.1.1 -> status 5.1.1")

    d = next_date("us-c")
    o = Original("EN2", "Hugo Lambert", "hugo.lambert@lambert-arch.example", sent_before(d, 5, 8, "hours"))
    courier("courier-delayed-mailbox-full", o, R("hugo.lambert@lambert-arch.example", "4.2.2",
                                                 "452 4.2.2 <hugo.lambert@lambert-arch.example>: Mailbox is full",
                                                 mx="mx.lambert-arch.example", action="delayed"), d,
            host="mail.archihost.example", delayed=True, note="Courier DELAYED MAIL, 4.2.2 mailbox full")


# ================================================================== French providers (RFC 3464)

def orange_dsn(name, o, r, d, *, note="", full=False):
    b = "----=_Part_" + f"{RNG.randint(100000, 999999)}_{RNG.randint(10 ** 8, 10 ** 9)}.{int(d.timestamp())}"
    host = f"smtp{RNG.randint(10, 99)}.smtp.orange.fr"
    if full:
        expl = ("Boîte pleine : la boîte aux lettres de ce destinataire est pleine et ne peut plus recevoir "
                "de messages pour le moment.")
    else:
        expl = "Adresse introuvable : l'adresse électronique du destinataire n'existe pas ou n'est plus valide."
    human = (f"Ceci est un message automatique, merci de ne pas y répondre.\n\n"
             f"Votre message n'a pas pu être remis au(x) destinataire(s) suivant(s) :\n\n    {r.addr}\n\n"
             f"{expl}\n\nRéponse du serveur distant : {r.diag}\n\n"
             f"Le message d'origine est joint à ce rapport.\n\n--\nServeur de messagerie Orange\n")
    ds = [f"Reporting-MTA: dns; {host}", f"Arrival-Date: {rfc_date(o.date.astimezone(d.tzinfo))}", "",
          f"Final-Recipient: rfc822; {r.addr}", f"Action: {r.action}", f"Status: {r.status}",
          f"Diagnostic-Code: smtp; {r.diag}", ""]
    body = MP(report_ct(fold=False), [
        P(["Content-Type: text/plain; charset=UTF-8", "Content-Transfer-Encoding: quoted-printable"], human,
          "quoted-printable"),
        P(["Content-Type: message/delivery-status"], "\n".join(ds)),
        rfc822_part(o, [f"Received: from out2.acme-mail.example ([198.51.100.24])\n\tby {host} with ME\n\tid "
                        f"{ralnum(20)}; {rfc_date(o.date.astimezone(d.tzinfo))}"], cte="quoted-printable")], b)
    h = [f"From: Mail Delivery System <MAILER-DAEMON@{host}>", f"To: {o.verp}",
         f"Subject: {subj('Échec de la remise du message')}", f"Date: {rfc_date(d)}",
         f"Message-ID: <{rhex(8)}.{RNG.randint(1000, 9999)}.{int(d.timestamp())}@{host}>",
         "Auto-Submitted: auto-replied", "Content-Language: fr"]
    finish(fid(name), h, body, [r], "fr", note)


def build_fr():
    d = next_date("fr")
    o = Original("FR3", "Jean Dupuis", "jean.dupuis@wanadoo.fr", sent_before(d), company="Dupuis Électricité")
    orange_dsn("orange-adresse-introuvable", o, R("jean.dupuis@wanadoo.fr", "5.1.1",
                                                  "550 5.1.1 <jean.dupuis@wanadoo.fr>: Recipient address rejected: "
                                                  "Adresse d au moins un destinataire invalide. Invalid recipient. "
                                                  "OFR_416 [416]", hard="5.1.1"), d,
               note="Orange/wanadoo French DSN 'Adresse introuvable', QP human part")

    d = next_date("fr")
    o = Original("FR3", "Annie Lebrun", "annie.lebrun@orange.fr", sent_before(d), company="Lebrun Coiffure")
    orange_dsn("orange-boite-pleine", o, R("annie.lebrun@orange.fr", "5.2.2",
                                           "552 5.2.2 <annie.lebrun@orange.fr>: Boite du destinataire pleine. "
                                           "Recipient mailbox full. OFR_417 [417]"), d, full=True,
               note="Orange French DSN, same layout as the 'Adresse introuvable' one but 'Boîte pleine' 5.2.2 "
                    "(mailbox full): no action")


# ================================================================== plain-text (non-RFC 3464) bounces

def plain(name, headers, text, rcpts, *, lang="en", note="", eol=None):
    finish(fid(name), headers, text, rcpts, lang, note, eol)


def qmail_rcvd(host, o, d):
    n = RNG.randint(10000, 99999)
    arr = o.date.astimezone(d.tzinfo)
    return [f"Received: (qmail {n} invoked from network); {arr.day} {MONTHS_EN[arr.month - 1][:3]} {arr.year} "
            f"{arr:%H:%M:%S} -0000",
            f"Received: from out1.acme-mail.example (HELO out1.acme-mail.example) (198.51.100.23)\n"
            f"  by {host} with ESMTPS (TLS_AES_256_GCM_SHA384 encrypted); {arr.day} "
            f"{MONTHS_EN[arr.month - 1][:3]} {arr.year} {arr:%H:%M:%S} -0000"]


def qmail(name, o, host, blocks, rcpts, d, *, subject="failure notice", note="", intro=None):
    if intro is None:
        intro = (f"Hi. This is the qmail-send program at {host}.\n"
                 "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
                 "This is a permanent error; I've given up. Sorry it didn't work out.\n")
    text = intro + "\n" + "\n\n".join(blocks) + "\n\n--- Below this line is a copy of the message.\n\n" + \
        orig_text(o, qmail_rcvd(host, o, d), cte="quoted-printable")
    h = [f"Return-Path: <>", f"Delivered-To: {o.verp}", f"Date: {d.day} {MONTHS_EN[d.month - 1][:3]} {d.year} "
         f"{d:%H:%M:%S} -0000", f"From: MAILER-DAEMON@{host}", f"To: {o.verp}", f"Subject: {subject}",
         f"Message-ID: <{d:%Y%m%d%H%M%S}.{RNG.randint(1000, 99999)}.qmail@{host}>"]
    plain(name, h, text, rcpts, note=note)


def exim_plain(name, o, host, blocks, rcpts, d, *, note="", permanent=True):
    text = ("This message was created automatically by mail delivery software.\n\n"
            "A message that you sent could not be delivered to one or more of its\n"
            "recipients. This is a permanent error. The following address(es) failed:\n\n"
            + "\n\n".join(blocks) + "\n\n------ This is a copy of the message, including all the headers. ------\n\n")
    arr = o.date.astimezone(d.tzinfo)
    eid = exim_id()
    rcvd = [f"Received: from [198.51.100.24] (helo=out2.acme-mail.example)\n\tby {host} with esmtps "
            f"(TLSv1.2:ECDHE-RSA-AES256-GCM-SHA384:256)\n\t(Exim 4.69)\n\t(envelope-from <{o.verp}>)\n\tid {eid}\n"
            f"\tfor {rcpts[0].addr}; {rfc_date(arr)}"]
    text += orig_text(o, rcvd, cte="quoted-printable").replace("Return-Path:", "Return-path:", 1)
    h = [f"Return-path: <>", f"Envelope-to: {o.verp}", f"Delivery-date: {rfc_date(d)}",
         f"Received: from mail by {host} with local (Exim 4.69)\n\tid {exim_id()}\n\tfor {o.verp}; {rfc_date(d)}",
         "X-Failed-Recipients: " + ", ".join(r.addr for r in rcpts), "Auto-Submitted: auto-replied",
         f"From: Mail Delivery System <Mailer-Daemon@{host}>", f"To: {o.verp}",
         "Subject: Mail delivery failed: returning message to sender", f"Message-Id: <E{exim_id()}@{host}>",
         f"Date: {rfc_date(d)}"]
    plain(name, h, text, rcpts, note=note)


def build_plain():
    # ---- qmail
    d = next_date("us-e")
    o = Original("EN1", "Roy Kent", "roy.kent@richmond-fc.example", sent_before(d))
    qmail("qmail-no-mailbox", o, "mail.richmond-fc.example",
          ["<roy.kent@richmond-fc.example>:\nSorry, no mailbox here by that name. (#5.1.1)"],
          [R("roy.kent@richmond-fc.example", "5.1.1", hard="5.1.1")], d,
          note="qmail local 'Sorry, no mailbox here by that name. (#5.1.1)'")

    d = next_date("us-e")
    o = Original("EN2", "Keeley Jones", "keeley@jones-pr.example", sent_before(d))
    ip = mx_ip()
    qmail("qmail-remote-does-not-like", o, "smtp.isp-mailhost.example",
          [f"<keeley@jones-pr.example>:\n{ip} does not like recipient.\nRemote host said: 550 5.1.1 "
           f"<keeley@jones-pr.example>: Recipient address rejected: User unknown in virtual mailbox table\n"
           f"Giving up on {ip}."],
          [R("keeley@jones-pr.example", "5.1.1", hard="5.1.1")], d,
          note="qmail remote rejection: 'does not like recipient' + 550 5.1.1")

    d = next_date("us-e")
    o = Original("EN3", "Nate Shelley", "nate@shelley-kits.example", sent_before(d, 6, 7, "days"))
    qmail("qmail-connect-timeout", o, "mail.isp-mailhost.example",
          ["<nate@shelley-kits.example>:\nSorry, I wasn't able to establish an SMTP connection. (#4.4.1)\n"
           "I'm not going to try again; this message has been in the queue too long."],
          [R("nate@shelley-kits.example", "4.4.1")], d,
          note="qmail gave up after queue lifetime: network problem (#4.4.1) -> no action")

    d = next_date("us-e")
    o = Original("EN5", "Rebecca Welton", "rwelton@welton-estates.example", sent_before(d))
    qmail("qmail-over-quota", o, "mx.welton-estates.example",
          ["<rwelton@welton-estates.example>:\nThe users mailfolder is over the allowed quota (size). (#5.2.2)"],
          [R("rwelton@welton-estates.example", "5.2.2")], d, note="vpopmail quota (#5.2.2)")

    d = next_date("us-e")
    o = Original("EN4", "Sam Obisanya", "sam.obisanya@obisanya-trading.example", sent_before(d),
                 company="Obisanya Trading")
    qmail("failure-notice-connection-refused", o, "mail.obisanya-trading.example",
          ["<sam.obisanya@obisanya-trading.example>:\nConnection refused"],
          [R("sam.obisanya@obisanya-trading.example")], d,
          intro="Hi. This is the qmail-send program at mail.obisanya-trading.example.\n"
                "I'm afraid I wasn't able to deliver your message to the following addresses.\n",
          note="AMBIGUOUS 'failure notice' whose only reason is 'Connection refused': no action")

    # Yahoo "Failure Notice" (qmail-derived)
    d = next_date("us-w")
    o = Original("EN4", "Gina Lopez", "gina.lopez74@yahoo.com", sent_before(d), company="Lopez Catering")
    text = ("Sorry, we were unable to deliver your message to the following address.\n\n"
            "<gina.lopez74@yahoo.com>:\n554: delivery error: dd This user doesn't have a yahoo.com account "
            f"(gina.lopez74@yahoo.com) [0] - mta{RNG.randint(1000, 9999)}.mail.bf1.yahoo.com\n\n"
            "--- Below this line is a copy of the message.\n\n" + orig_text(o, cte="quoted-printable"))
    h = [f"From: MAILER-DAEMON@yahoo.com", f"To: {o.verp}", "Subject: Failure Notice",
         f"Date: {rfc_date(d)}", f"Message-ID: <{RNG.randint(10 ** 9, 10 ** 10)}.{RNG.randint(10 ** 5, 10 ** 6)}"
                                 f".{RNG.randint(10 ** 12, 10 ** 13)}@mail.yahoo.com>"]
    plain("yahoo-failure-notice-noaccount", h, text, [R("gina.lopez74@yahoo.com", hard="5.0.0")],
          note="Yahoo plain 'Failure Notice', no enhanced status: 'doesn't have a yahoo.com account' -> "
               "hard bounce, status 5.0.0 (generic: none carried)")

    # ---- older Exim without DSN
    d = next_date("uk")
    o = Original("EN1", "Colin Hughes", "colin@hughes-bakery.example", sent_before(d))
    exim_plain("exim-plain-no-such-user-here", o, "host42.sharedweb.example",
               ["  colin@hughes-bakery.example\n    No Such User Here"],
               [R("colin@hughes-bakery.example", hard="5.0.0")], d,
               note="old Exim/cPanel local 'No Such User Here' (no status) -> hard bounce, status 5.0.0")

    d = next_date("uk")
    o = Original("EN2", "Ted Lasso", "ted.lasso@lasso-coaching.example", sent_before(d))
    ip = mx_ip()
    exim_plain("exim-plain-remote-unknown-user", o, "mail.ukhosting.example",
               [f"  ted.lasso@lasso-coaching.example\n    SMTP error from remote mail server after RCPT "
                f"TO:<ted.lasso@lasso-coaching.example>:\n    host mx.lasso-coaching.example [{ip}]: 550 5.1.1 "
                f"<ted.lasso@lasso-coaching.example>: unknown user"],
               [R("ted.lasso@lasso-coaching.example", "5.1.1", hard="5.1.1")], d,
               note="old Exim, remote 550 5.1.1 unknown user")

    d = next_date("uk")
    o = Original("EN3", "Jamie Tartt", "jamie@tartt-motors.example", sent_before(d))
    exim_plain("exim-plain-unrouteable", o, "mail.ukhosting.example",
               ["  jamie@tartt-motors.example\n    Unrouteable address"],
               [R("jamie@tartt-motors.example")], d,
               note="Exim 'Unrouteable address' is a DNS/routing problem: no action per spec")

    d = next_date("uk")
    o = Original("EN5", "Leslie Higgins", "leslie.higgins@higgins-print.example", sent_before(d))
    exim_plain("exim-plain-mailbox-full", o, "mx.higgins-print.example",
               ["  leslie.higgins@higgins-print.example\n    mailbox is full: retry timeout exceeded"],
               [R("leslie.higgins@higgins-print.example")], d, note="Exim local mailbox full")

    # ---- Postfix < 2.3 (multipart/mixed, no delivery-status)
    d = next_date("us-e")
    o = Original("EN1", "Dale Cooper", "dale.cooper@twin-peaks-lumber.example", sent_before(d))
    host = "mail.twin-peaks-lumber.example"
    qid = pqid_short()
    ip = mx_ip()
    note_txt = (f"This is the Postfix program at host {host}.\n\n"
                "I'm sorry to have to inform you that the message returned\n"
                "below could not be delivered to one or more destinations.\n\n"
                "For further assistance, please send mail to <postmaster>\n\n"
                "If you do so, please include this problem report. You can\n"
                "delete your own text from the message returned below.\n\n"
                "\t\t\tThe Postfix program\n\n"
                + wrap(f"<dale.cooper@twin-peaks-lumber.example>: host mailstore.twin-peaks-lumber.example[{ip}] said: "
                       "550 5.1.1 <dale.cooper@twin-peaks-lumber.example>: Recipient address rejected: User unknown "
                       "in local recipient table (in reply to RCPT TO command)", width=75) + "\n")
    b = f"{qid}.{int(d.timestamp())}/{host}"
    body = MP('Content-Type: multipart/mixed; boundary="{b}"', [
        P(["Content-Description: Notification", "Content-Type: text/plain"], note_txt),
        P(["Content-Description: Undelivered Message", "Content-Type: message/rfc822"],
          orig_text(o, [rcv_postfix(host, "out1.acme-mail.example", "198.51.100.23", qid,
                                    "dale.cooper@twin-peaks-lumber.example", o.date, tls=False)]))], b,
        preamble="This is a MIME-encapsulated message.")
    h = [f"Date: {rfc_date(d)}", f"From: MAILER-DAEMON@{host} (Mail Delivery System)",
         "Subject: Undelivered Mail Returned to Sender", f"To: {o.verp}", f"Message-Id: <{d:%Y%m%d%H%M%S}.{qid}@{host}>"]
    plain("postfix-old-user-unknown", h, body,
          [R("dale.cooper@twin-peaks-lumber.example", "5.1.1", hard="5.1.1")],
          note="Postfix 2.2-style bounce: multipart/mixed, no message/delivery-status")

    d = next_date("us-e")
    o = Original("EN2", "Audrey Horne", "audrey@horne-hotels.example", sent_before(d))
    ip = mx_ip()
    text = (f"This is the mail system at host relay.horne-hotels.example.\n\n"
            "I'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients. "
            "It's attached below.\n\nFor further assistance, please send mail to postmaster.\n\n"
            "                   The mail system\n\n"
            + wrap(f"<audrey@horne-hotels.example>: host mbox.horne-hotels.example[{ip}] said: 552 5.2.2 "
                   "<audrey@horne-hotels.example>: Recipient address rejected: Mailbox is full (in reply to RCPT "
                   "TO command)", width=75)
            + "\n\n--- Original message headers ---\n\n" + orig_text(o, headers_only=True))
    h = [f"Date: {rfc_date(d)}", "From: MAILER-DAEMON@relay.horne-hotels.example (Mail Delivery System)",
         "Subject: Undelivered Mail Returned to Sender", f"To: {o.verp}",
         f"Message-Id: <{d:%Y%m%d%H%M%S}.{pqid_short()}@relay.horne-hotels.example>"]
    plain("postfix-plain-mailbox-full", h, text, [R("audrey@horne-hotels.example", "5.2.2")],
          note="plain-text Postfix-style bounce (converted to text by a gateway): mailbox full")

    # ---- Sendmail without DSN
    d = next_date("us-w")
    o = Original("EN3", "Bill Lumbergh", "blumbergh@initech-systems.example", sent_before(d))
    host = "mail.initech-systems.example"
    text = (f"The original message was received at {rfc_date(o.date.astimezone(d.tzinfo))}\n"
            "from out1.acme-mail.example [198.51.100.23]\n\n"
            "   ----- The following addresses had permanent fatal errors -----\n"
            "<blumbergh@initech-systems.example>\n\n"
            "   ----- Transcript of session follows -----\n"
            "... while talking to mailhost.initech-systems.example.:\n"
            ">>> RCPT To:<blumbergh@initech-systems.example>\n"
            "<<< 550 5.1.1 <blumbergh@initech-systems.example>... User unknown\n"
            "550 5.1.1 <blumbergh@initech-systems.example>... User unknown\n\n"
            "   ----- Original message follows -----\n\n" + orig_text(o, cte="quoted-printable"))
    h = ["Return-Path: <>", f"Date: {rfc_date(d)}", f"From: Mail Delivery Subsystem <MAILER-DAEMON@{host}>",
         f"Message-Id: <{d:%Y%m%d%H%M}.{ralnum(14)}@{host}>", f"To: <{o.verp}>",
         "Subject: Returned mail: see transcript for details", "Auto-Submitted: auto-generated (failure)"]
    plain("sendmail-plain-user-unknown", h, text, [R("blumbergh@initech-systems.example", "5.1.1", hard="5.1.1")],
          note="Sendmail without MIME: 'The following addresses had permanent fatal errors'")

    d = next_date("us-w")
    o = Original("EN1", "Milton Waddams", "milton@waddams-storage.example", sent_before(d, 4, 5, "hours"))
    host = "relay.waddams-storage.example"
    text = ("    **********************************************\n"
            "    **      THIS IS A WARNING MESSAGE ONLY      **\n"
            "    **  YOU DO NOT NEED TO RESEND YOUR MESSAGE  **\n"
            "    **********************************************\n\n"
            f"The original message was received at {rfc_date(o.date.astimezone(d.tzinfo))}\n"
            "from out2.acme-mail.example [198.51.100.24]\n\n"
            "   ----- Transcript of session follows -----\n"
            "<milton@waddams-storage.example>... Deferred: Connection timed out with mx.waddams-storage.example.\n"
            "Warning: message still undelivered after 4 hours\n"
            "Will keep trying until message is 5 days old\n\n"
            "   ----- Original message headers follow -----\n\n" + orig_text(o, headers_only=True))
    h = ["Return-Path: <>", f"Date: {rfc_date(d)}", f"From: Mail Delivery Subsystem <MAILER-DAEMON@{host}>",
         f"Message-Id: <{d:%Y%m%d%H%M}.{ralnum(14)}@{host}>", f"To: <{o.verp}>",
         "Subject: Warning: could not send message for past 4 hours", "Auto-Submitted: auto-generated (warning-timeout)"]
    plain("sendmail-plain-warning-delayed", h, text, [R("milton@waddams-storage.example")],
          note="Sendmail delay warning without DSN: transient")

    # ---- Lotus Domino
    d = next_date("de")
    o = Original("EN2", "Klaus Becker", "klaus.becker@becker-maschinenbau.example", sent_before(d))
    text = (f"Your message\n\n  Subject: {o.subject}\n\nwas not delivered to:\n\n  klaus.becker@becker-maschinenbau.example\n\n"
            "because:\n\n  User klaus.becker (klaus.becker@becker-maschinenbau.example) not listed in Domino Directory\n")
    b = f"=_mixed {rHEX(8)}C1258B{RNG.randint(10, 99)}_="
    body = MP('Content-Type: multipart/mixed; boundary="{b}"', [
        P(['Content-Type: text/plain; charset="US-ASCII"'], text),
        P(["Content-Type: message/rfc822"], orig_text(o, [f"Received: from out3.acme-mail.example ([198.51.100.25])"
                                                          f"\n          by DOMINO01.becker-maschinenbau.example (Lotus "
                                                          f"Domino Release 9.0.1FP10)\n          with ESMTP id "
                                                          f"{d:%Y%m%d%H%M%S}-{RNG.randint(10000, 99999)} ;\n"
                                                          f"          {rfc_date(o.date.astimezone(d.tzinfo))}"]))],
        b)
    h = [f"From: Postmaster@becker-maschinenbau.example", f"To: {o.verp}", f"Date: {rfc_date(d)}",
         "Subject: DELIVERY FAILURE: User klaus.becker (klaus.becker@becker-maschinenbau.example) not listed in\n"
         " Domino Directory", f"Message-ID: <OF{rHEX(8)}.{rHEX(8)}-ON{rHEX(8)}.{rHEX(8)}@becker-maschinenbau.example>",
         "X-MIMETrack: Serialize by Router on DOMINO01/Becker(Release 9.0.1FP10|January 11, 2018) at\n "
         f"{d:%d.%m.%Y %H:%M:%S}", "Auto-Submitted: auto-replied"]
    plain("domino-not-listed", h, body, [R("klaus.becker@becker-maschinenbau.example", hard="5.0.0")],
          note="Lotus Domino 'not listed in Domino Directory' (no status anywhere) -> hard bounce, status 5.0.0")

    # ---- MDaemon
    d = next_date("us-c")
    o = Original("EN1", "Ruth Baxter", "rbaxter@baxter-law.example", sent_before(d, 2, 4, "hours"))
    host = "mail.baxter-law.example"
    ip = mx_ip()
    ts = d - timedelta(minutes=3)
    tline = f"{DAYS_EN[ts.weekday()][:3]} {ts:%Y-%m-%d %H:%M:%S}"
    text = ("The attached message had PERMANENT fatal delivery errors!\n\n"
            "After one or more unsuccessful delivery attempts the attached message has\n"
            "been removed from the mail queue on this server.  The number and frequency\n"
            "of delivery attempts are determined by local configuration parameters.\n\n"
            "YOUR MESSAGE WAS NOT DELIVERED TO ANY OF IT'S RECIPIENTS!\n\n"
            "--- Session Transcript ---\n"
            f" {tline}: Parsing message <{host}\\pd{RNG.randint(10 ** 9, 10 ** 10)}.msg>\n"
            f" {tline}: *  From: {o.verp}\n"
            f" {tline}: *  To: rbaxter@baxter-law.example\n"
            f" {tline}: Attempting SMTP connection to [{ip}:25]\n"
            f" {tline}: Connection established ({ip}:25)\n"
            f" {tline}: --> RCPT To:<rbaxter@baxter-law.example>\n"
            f" {tline}: <-- 550 5.1.1 <rbaxter@baxter-law.example>... User unknown\n"
            "--- End Transcript ---\n")
    b = f"----=_NextPart_{rhex(3)}_{rhex(4)}_{rHEX(8)}.{rHEX(8)}"
    body = MP('Content-Type: multipart/mixed;\n\tboundary="{b}"', [
        P(["Content-Type: text/plain; charset=us-ascii", "Content-Transfer-Encoding: 7bit"], text),
        P(["Content-Type: message/rfc822", "Content-Disposition: attachment"], orig_text(o))], b,
        preamble="This is a multi-part message in MIME format.")
    h = [f"From: MDaemon@{host}", f"To: {o.verp}", "Subject: Permanent Delivery Failure", f"Date: {rfc_date(d)}",
         f"Message-ID: <MDAEMON-F{d:%Y%m%d%H%M}.{rHEX(12)}@{host}>", "X-MDDSN-Message: Yes",
         "X-Mailer: MDaemon Email Server v23.5.2", "Auto-Submitted: auto-replied"]
    plain("mdaemon-permanent-failure", h, body, [R("rbaxter@baxter-law.example", "5.1.1", hard="5.1.1")],
          note="MDaemon 'PERMANENT fatal delivery errors' (sender MDaemon@, not MAILER-DAEMON): transcript shows "
               "550 5.1.1 User unknown")

    d = next_date("us-c")
    o = Original("EN3", "Otto Klein", "otto.klein@klein-bakery.example", sent_before(d, 12, 13, "hours"))
    host = "mail.klein-bakery.example"
    text = ("The attached message has not yet been delivered!\n\n"
            "This message is only a warning.  Delivery attempts will continue for a while.\n"
            "You do not need to resend your message.\n\n"
            "--- Session Transcript ---\n"
            f" Attempting SMTP connection to [mx.klein-bakery.example : 25]\n"
            " Resolving MX records for [mx.klein-bakery.example] (DNS Server: 127.0.0.1)...\n"
            " *** Error: connection to [mx.klein-bakery.example : 25] timed out\n"
            "--- End Transcript ---\n")
    b = f"----=_NextPart_{rhex(3)}_{rhex(4)}_{rHEX(8)}.{rHEX(8)}"
    body = MP('Content-Type: multipart/mixed;\n\tboundary="{b}"', [
        P(["Content-Type: text/plain; charset=us-ascii", "Content-Transfer-Encoding: 7bit"], text),
        P(["Content-Type: text/rfc822-headers"], orig_text(o, headers_only=True))], b)
    h = [f"From: MDaemon@{host}", f"To: {o.verp}", "Subject: Warning: Message Delivery Delayed",
         f"Date: {rfc_date(d)}", f"Message-ID: <MDAEMON-W{d:%Y%m%d%H%M}.{rHEX(12)}@{host}>",
         "X-MDDSN-Message: Yes", "Auto-Submitted: auto-replied"]
    plain("mdaemon-warning-delayed", h, body, [R("otto.klein@klein-bakery.example")],
          note="MDaemon delay warning: transient")

    # ---- Exchange 2003-style text-only NDR
    d = next_date("us-e")
    o = Original("EN2", "Jerry Gergich", "jgergich@pawnee-parks.example", sent_before(d))
    sent = o.date.astimezone(d.tzinfo)
    text = ("Your message did not reach some or all of the intended recipients.\n\n"
            f"      Subject:\t{o.subject}\n      Sent:\t{ms_date(sent)[:-6] + ms_date(sent)[-3:]}\n\n"
            "The following recipient(s) cannot be reached:\n\n"
            f"      jgergich@pawnee-parks.example on {ms_date(d)[:-6] + ms_date(d)[-3:]}\n"
            "            The e-mail account does not exist at the organization this message was sent to.  Check the "
            "e-mail address, or contact the recipient directly to find out the correct address.\n"
            "            <EXCH2K3.pawnee-parks.example #5.1.1>\n")
    h = [f"From: System Administrator <postmaster@pawnee-parks.example>", f"To: {o.verp}",
         f"Subject: Undeliverable: {o.subject}", f"Date: {rfc_date(d)}",
         f"Message-ID: <{rHEX(8)}{rHEX(8)}@EXCH2K3.pawnee-parks.example>", "MIME-Version: 1.0",
         'Content-Type: text/plain; charset="us-ascii"', "Content-Transfer-Encoding: 7bit",
         "X-MS-Embedded-Report: "]
    plain("exchange2003-text-ndr", h, text, [R("jgergich@pawnee-parks.example", "5.1.1", hard="5.1.1")],
          note="Exchange 2003 text NDR: 'The e-mail account does not exist' + #5.1.1")

    # ---- Orange plain French
    d = next_date("fr")
    o = Original("FR1", "Michel Roux", "michel.roux@wanadoo.fr", sent_before(d), company="Roux Plomberie")
    text = ("Bonjour,\n\nCeci est un message automatique du serveur de messagerie Orange.\n\n"
            "Votre message n'a pas pu être remis au destinataire suivant :\n\n  michel.roux@wanadoo.fr\n\n"
            "Motif : Adresse introuvable. L'adresse e-mail de votre correspondant n'existe pas. Vérifiez "
            "l'orthographe de l'adresse puis renvoyez votre message.\n\n"
            "Réponse du serveur : 550 5.1.1 Adresse d au moins un destinataire invalide. Invalid recipient. "
            "OFR_416 [416]\n\n"
            "---- En-têtes du message d'origine ----\n\n" + orig_text(o, headers_only=True))
    h = [f"From: Mail Delivery System <MAILER-DAEMON@wanadoo.fr>", f"To: {o.verp}",
         f"Subject: {subj('Message non remis : ' + o.subject)}", f"Date: {rfc_date(d)}",
         f"Message-ID: <{rhex(10)}.{RNG.randint(1000, 9999)}@mwinf{RNG.randint(5000, 5999)}.me-wanadoo.net>",
         "MIME-Version: 1.0", "Content-Type: text/plain; charset=UTF-8",
         "Content-Transfer-Encoding: quoted-printable"]
    text_enc = encode_body(text, "quoted-printable")
    plain("wanadoo-plain-adresse-introuvable", h, text_enc, [R("michel.roux@wanadoo.fr", "5.1.1", hard="5.1.1")],
          lang="fr", note="French plain-text bounce 'Adresse introuvable' + 550 5.1.1, quoted-printable")

    d = next_date("fr")
    o = Original("FR2", "Claire Fontaine", "claire.fontaine@laposte.net", sent_before(d), company="Fontaine Déco")
    text = ("Votre message n'a pas pu être remis à :\n\n  claire.fontaine@laposte.net\n\n"
            "La boîte aux lettres de ce destinataire est pleine (quota dépassé). Le message n'a pas été distribué.\n"
            "Mailbox full / quota exceeded.\n\n"
            "---- Copie des en-têtes du message ----\n\n" + orig_text(o, headers_only=True))
    h = [f"From: MAILER-DAEMON@laposte.net", f"To: {o.verp}", f"Subject: {subj('Échec de distribution du message')}",
         f"Date: {rfc_date(d)}", f"Message-ID: <{rhex(16)}@lpn-prd-mail{RNG.randint(10, 40)}.laposte.net>",
         "MIME-Version: 1.0", "Content-Type: text/plain; charset=UTF-8", "Content-Transfer-Encoding: 8bit"]
    plain("laposte-plain-quota", h, text, [R("claire.fontaine@laposte.net")], lang="fr",
          note="French plain-text bounce: mailbox full / quota exceeded")

    # ---- ambiguous / provider texts
    d = next_date("us-e")
    o = Original("EN4", "Will Foster", "will@foster-signs.example", sent_before(d), company="Foster Signs")
    text = ("Your message could not be delivered.\n\n"
            "Original message follows.\n\n" + orig_text(o, cte="quoted-printable"))
    h = [f"From: MAILER-DAEMON@mail.foster-signs.example", f"To: {o.verp}", "Subject: failure notice",
         f"Date: {rfc_date(d)}", f"Message-ID: <{rhex(12)}@mail.foster-signs.example>"]
    plain("failure-notice-no-reason", h, text, [R("will@foster-signs.example")],
          note="AMBIGUOUS 'failure notice' saying only 'could not be delivered', no reason, recipient only in "
               "the quoted original: no action")

    d = next_date("us-e")
    o = Original("EN6", "Nancy Drew", "nancy.drew@drew-investigations.example", sent_before(d))
    sent = o.date.astimezone(d.tzinfo)
    ip = mx_ip()
    text = ("Your message did not reach some or all of the intended recipients.\n\n"
            f"   Sent: {rfc_date(sent)}\n   Subject: {o.subject}\n\n"
            "The following recipient(s) could not be reached:\n\n"
            "nancy.drew@drew-investigations.example\n   Error Type: SMTP\n"
            f"   Remote server ({ip}) issued an error.\n"
            "   hMailServer sent: RCPT TO:<nancy.drew@drew-investigations.example>\n"
            "   Remote server replied: 554 delivery error\n")
    h = [f"From: MAILER-DAEMON@mail.drew-hosting.example", f"To: {o.verp}",
         f"Subject: Message undeliverable: {o.subject}", f"Date: {rfc_date(d)}",
         f"Message-ID: <{rHEX(8)}-{rHEX(4)}@mail.drew-hosting.example>"]
    plain("hmailserver-554-delivery-error", h, text, [R("nancy.drew@drew-investigations.example")],
          note="AMBIGUOUS hMailServer text, remote said only '554 delivery error': no action")

    d = next_date("us-e")
    o = Original("EN1", "Phil Dunphy", "phil@dunphy-realty.example", sent_before(d))
    text = ("Delivery has failed to these recipients or groups:\n\n"
            "phil@dunphy-realty.example\n"
            "Your message was rejected by the recipient's mail server because it looks like spam.\n\n"
            "Diagnostic information for administrators:\n\n"
            "Remote Server returned '550 5.7.1 Message rejected as spam by Content Filtering.'\n\n"
            "Original message headers:\n\n" + orig_text(o, headers_only=True))
    h = [f"From: postmaster@dunphy-realty.example", f"To: {o.verp}", f"Subject: Undeliverable: {o.subject}",
         f"Date: {rfc_date(d)}", f"Message-ID: <{ruuid()}@mail.dunphy-realty.example>"]
    plain("undeliverable-plain-spam-571", h, text, [R("phil@dunphy-realty.example", "5.7.1")],
          note="text-only Exchange-style NDR, 5.7.1 rejected as spam")


# ================================================================== other servers (Kerio-, SmarterMail-style)

def build_misc():
    # Kerio Connect-style: Final-Recipient in angle brackets and upper case
    d = next_date("us-e")
    o = Original("EN1", "Olivia Benson", "Olivia.Benson@svu-legal.example", sent_before(d))
    host = "mail.svu-legal.example"
    up = "OLIVIA.BENSON@SVU-LEGAL.EXAMPLE"
    r = R(up, "5.0.0", "550 Requested action not taken: mailbox unavailable - the user does not exist",
          orig="Olivia.Benson@svu-legal.example", hard="5.0.0")
    human = (f"This is a delivery status notification from {host}, running Kerio Connect.\n\n"
             f"Your message with subject \"{o.subject}\" could not be delivered to the\nfollowing recipient(s):\n\n"
             f"  <{up}>\n    Reason: {r.diag}\n\nThis is a permanent error. The message will not be retried.\n")
    ds = [f"Reporting-MTA: dns; {host}", f"Arrival-Date: {rfc_date(o.date.astimezone(d.tzinfo))}", "",
          f"Original-Recipient: rfc822; <{r.orig}>", f"Final-Recipient: rfc822; <{up}>", "Action: failed",
          f"Status: {r.status}", f"Diagnostic-Code: smtp; {r.diag}", ""]
    b = f"------------{ralnum(24, '0123456789')}"
    body = MP(report_ct(b_first=True), [
        P(["Content-Type: text/plain; charset=UTF-8", "Content-Transfer-Encoding: quoted-printable"], human,
          "quoted-printable"),
        P(["Content-Type: message/delivery-status"], "\n".join(ds)),
        headers_part(o, [f"Received: from out1.acme-mail.example ([198.51.100.23])\n\tby {host} (Kerio Connect "
                         f"10.0.4) with ESMTPS\n\tfor {up};\n\t{rfc_date(o.date.astimezone(d.tzinfo))}"])], b)
    h = [f"From: Mail Delivery Subsystem <MAILER-DAEMON@{host}>", f"To: <{o.verp}>",
         "Subject: Delivery Status Notification (Failure)", f"Date: {rfc_date(d)}",
         f"Message-ID: <dsn-{rhex(8)}-{RNG.randint(1000, 9999)}@{host}>", "Auto-Submitted: auto-replied"]
    finish(fid("kerio-mailbox-does-not-exist"), h, body, [r], "en",
           "Final/Original-Recipient in <angle brackets>, Final upper-case; Status 5.0.0, diagnostic 'mailbox "
           "unavailable - the user does not exist' -> hard bounce, status 5.0.0")

    # SmarterMail-style: base64 human part, 'No such user'
    d = next_date("us-c")
    o = Original("EN2", "Earl Hickey", "earl@hickey-auto.example", sent_before(d))
    host = "mail.hickey-auto.example"
    r = R("earl@hickey-auto.example", "5.0.0", "550 No such user (earl@hickey-auto.example)", hard="5.0.0")
    human = (f"Delivery to the following recipients failed permanently:\n\n    earl@hickey-auto.example\n\n"
             f"Technical details of permanent failure:\n{r.diag}\n\n"
             f"----- Original message -----\nSubject: {o.subject}\nSent: {rfc_date(o.date.astimezone(d.tzinfo))}\n")
    ds = [f"Reporting-MTA: dns; {host}", f"Received-From-MTA: dns; out2.acme-mail.example",
          f"Arrival-Date: {rfc_date(o.date.astimezone(d.tzinfo))}", "", f"Final-Recipient: rfc822; {r.addr}",
          "Action: failed", f"Status: {r.status}", f"Diagnostic-Code: smtp; {r.diag}", ""]
    b = "=====SmarterMail_" + rhex(16)
    body = MP(report_ct(fold=False), [
        P(["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: base64"], human, "base64"),
        P(["Content-Type: message/delivery-status"], "\n".join(ds)),
        rfc822_part(o, [f"Received: from out2.acme-mail.example (out2.acme-mail.example [198.51.100.24]) by "
                        f"{host} with SMTP;\n   {rfc_date(o.date.astimezone(d.tzinfo))}"])], b)
    h = [f"From: postmaster@{host}", f"To: {o.verp}", "Subject: Undeliverable: " + o.subject,
         f"Date: {rfc_date(d)}", f"Message-ID: <{ruuid()}@{host}>", "Auto-Submitted: auto-replied",
         "X-SmarterMail-Spam: BypassedByWhitelist"]
    finish(fid("smartermail-no-such-user"), h, body, [r], "en",
           "base64 human part; Status 5.0.0 with '550 No such user' -> hard bounce, status 5.0.0")


# ================================================================== entry point

def build():
    build_postfix()
    build_exim_dsn()
    build_sendmail_dsn()
    build_exchange()
    build_o365()
    build_gmail()
    build_esp()
    build_courier()
    build_fr()
    build_misc()
    build_plain()
