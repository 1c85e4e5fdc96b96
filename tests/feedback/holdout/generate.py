#!/usr/bin/env python3
# -*- coding: utf-8 -*-
"""Hold-out test set for the relay's feedback classifier.

Written independently of the classifier rules and of tests/feedback/corpus/.

    python3 generate.py          # (re)writes everything next to this file

Deterministic: no randomness and no clock.  Writes
    replies/*.eml auto/*.eml dsn/*.eml arf/*.eml   (RFC 5322, CRLF)
    labels.jsonl                                  (one JSON object per .eml)
    relay.toml                                    ([feedback] internal_domains)
then re-parses every file with email.policy.default and checks that nothing
has a defect, every line ends in CRLF, and labels and files match one-to-one.

Scenario: Northwind sends from northwind.example and northwind-mail.example;
replies come back to r-<token>@fb.northwind.example and bounces to
bounces+<token>@fb.northwind.example.  Documentation IP ranges only.
"""
import base64
import hashlib
import html as htmlmod
import json
import os
import quopri
import sys

import email
import email.parser
from email import policy
from email.header import Header
from email.utils import formataddr

OUT = os.path.dirname(os.path.abspath(__file__))
SUBDIRS = ("replies", "auto", "dsn", "arf")
KINDS = {"dsn", "arf", "auto-reply", "reply", "unknown"}
CLASSES = {"unsubscribe", "unsubscribe-company", "legal", "not-interested",
           "positive", "redirect", "unclear"}
REASONS = {"hard-bounce", "complaint", "unsubscribe", "legal"}

LABELS = []      # label dicts, in generation order
FILES = {}       # relpath -> bytes


# --------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------

def hid(*parts, n=16):
    """Deterministic hex id derived from the arguments."""
    return hashlib.sha1("|".join(str(p) for p in parts).encode()).hexdigest()[:n]


def h(value, charset="utf-8"):
    """RFC 2047-encode a header value when it is not plain ASCII."""
    if value.isascii():
        return value
    return Header(value, charset, maxlinelen=74).encode(linesep="\n")


def a(name, addr, charset="utf-8"):
    """Mailbox 'Name <addr>' with RFC 2047 display name when needed."""
    if not name:
        return addr
    return formataddr((name, addr), charset=charset)


def S(target, reason, status=None):
    d = {"target": target.lower(), "action": "suppress", "reason": reason}
    if status:
        d["status"] = status
    return d


def R(target, reason):
    return {"target": target.lower(), "action": "review", "reason": reason}


def q(text, prefix="> "):
    """Quote every line of text the way most MUAs do."""
    out = []
    for line in text.split("\n"):
        if line == "":
            out.append(prefix.rstrip())
        elif line.startswith(">"):
            out.append(prefix.rstrip() + line)
        else:
            out.append(prefix + line)
    return "\n".join(out)


def esc(s):
    return htmlmod.escape(s, quote=False)


def html_lines(text):
    """Plain text -> HTML with <br> line breaks (escaped)."""
    return "<br>\n".join(esc(l) for l in text.split("\n"))


def html_paras(text, cls=None):
    """Plain text -> one <p> per line, Outlook style."""
    c = ' class="%s"' % cls if cls else ""
    out = []
    for line in text.split("\n"):
        out.append("<p%s>%s</p>" % (c, esc(line) if line else "&nbsp;"))
    return "\n".join(out)


# --------------------------------------------------------------------------
# MIME building.  Everything is assembled as a str that is a latin-1 view of
# the final bytes, with "\n" line ends; emit() converts to CRLF at the end.
# --------------------------------------------------------------------------

class Part:
    def __init__(self, headers, body):
        self.headers = list(headers)
        self.body = body

    def render(self):
        return "".join("%s: %s\n" % kv for kv in self.headers) + "\n" + self.body


def _encode_body(s, charset, cte):
    if cte in ("7bit", "8bit"):
        data = s.encode(charset)
        if cte == "7bit":
            assert data.isascii(), "7bit body with 8-bit data"
        return data.decode("latin-1")
    if cte == "quoted-printable":
        return quopri.encodestring(s.encode(charset)).decode("ascii")
    if cte == "base64":
        return base64.encodebytes(s.replace("\n", "\r\n").encode(charset)).decode("ascii")
    raise ValueError(cte)


def text(s, subtype="plain", charset="utf-8", cte=None, params="", extra=()):
    if cte is None:
        cte = "7bit" if s.isascii() else "quoted-printable"
    body = _encode_body(s, charset, cte)
    if not body.endswith("\n"):
        body += "\n"
    cs = charset if charset.lower() != "utf-8" else "UTF-8"
    hdrs = [("Content-Type", 'text/%s; charset="%s"%s' % (subtype, cs, params)),
            ("Content-Transfer-Encoding", cte)]
    return Part(hdrs + list(extra), body)


def html(s, charset="utf-8", cte="quoted-printable", extra=()):
    return text(s, "html", charset, cte, extra=extra)


def multipart(subtype, parts, boundary, params="", preamble=None):
    ct = "multipart/%s;%s\n\tboundary=\"%s\"" % (subtype, params, boundary)
    body = ""
    if preamble:
        body += preamble + "\n\n"
    for p in parts:
        r = p.render()
        if not r.endswith("\n"):
            r += "\n"
        body += "--%s\n%s\n" % (boundary, r)
    body += "--%s--\n" % boundary
    return Part([("Content-Type", ct)], body)


def alt(plain, rich, boundary):
    return multipart("alternative", [plain, rich], boundary)


def rfc822(msg, desc=None):
    hdrs = [("Content-Type", "message/rfc822")]
    if desc:
        hdrs.append(("Content-Description", desc))
    return Part(hdrs, msg if msg.endswith("\n") else msg + "\n")


def rfc822_headers(msg, desc=None):
    head = msg.split("\n\n", 1)[0] + "\n"
    hdrs = [("Content-Type", "text/rfc822-headers")]
    if desc:
        hdrs.append(("Content-Description", desc))
    return Part(hdrs, head)


def render_message(headers, part):
    hs = [(k, v) for k, v in headers if v is not None]
    hs.append(("MIME-Version", "1.0"))
    return Part(hs + part.headers, part.body).render()


def emit(rel, msg, kind, cls, actions, lang, note):
    assert rel not in FILES, rel
    assert not msg.count("\r"), rel
    data = msg.replace("\n", "\r\n").encode("latin-1")
    FILES[rel] = data
    LABELS.append({"file": rel, "kind": kind, "class": cls, "actions": actions,
                   "lang": lang, "note": note})


# --------------------------------------------------------------------------
# Northwind side: people, outbound mails that replies quote and bounces carry
# --------------------------------------------------------------------------

MARCUS = ("Marcus Oyelaran", "marcus.oyelaran@northwind.example")
HANNAH = ("Hannah Kowalczyk", "hannah.kowalczyk@northwind.example")
CLAIRE = ("Claire Dubreuil", "claire.dubreuil@northwind.example")
ROMAIN = ("Romain Teyssier", "romain.teyssier@northwind.example")
NEWS_EN = ("Northwind Insights", "insights@northwind-mail.example")
NEWS_FR = ("La lettre Northwind", "lettre@northwind-mail.example")

FREEMAIL_MX = {
    "gmail.com": ("mail-ej1-f49.google.com", "209.85.218.49"),
    "googlemail.com": ("mail-wm1-f44.google.com", "209.85.128.44"),
    "outlook.com": ("mail-db8eur05olkn2104.outbound.protection.outlook.com", "40.92.89.104"),
    "hotmail.com": ("mail-am6eur05olkn2031.outbound.protection.outlook.com", "40.92.91.31"),
    "hotmail.fr": ("mail-vi1eur05olkn2092.outbound.protection.outlook.com", "40.92.90.92"),
    "yahoo.com": ("sonic305-20.consmr.mail.ir2.yahoo.com", "77.238.176.83"),
    "yahoo.fr": ("sonic316-12.consmr.mail.ir2.yahoo.com", "77.238.177.146"),
    "orange.fr": ("smtp-12.smtpout.orange.fr", "80.12.242.12"),
    "wanadoo.fr": ("smtp-23.smtpout.orange.fr", "80.12.242.23"),
    "free.fr": ("smtp4-g21.free.fr", "212.27.42.4"),
    "laposte.net": ("smtp-out.laposte.net", "160.92.124.66"),
    "icloud.com": ("qs51p00im-qukt01071502.me.com", "17.57.155.23"),
    "sfr.fr": ("smtp-out.sfr.fr", "93.17.128.25"),
}


def sender_host(addr):
    dom = addr.rsplit("@", 1)[1].lower()
    if dom in FREEMAIL_MX:
        return FREEMAIL_MX[dom]
    n = int(hid(dom, n=2), 16) % 200 + 20
    return ("mail.%s" % dom, "203.0.113.%d" % n)


def reply_addr(tok):
    return "r-%s@fb.northwind.example" % tok


def bounce_addr(tok):
    return "bounces+%s@fb.northwind.example" % tok


def nw_msgid(seed):
    return "<%s.%s@northwind.example>" % (hid("nw", seed, n=12), hid("nw2", seed, n=8))


FOOTER_EN = ("Northwind Ltd, 4 Wharf Lane, London SE1 9XX\n"
             "Don't want to hear from us? Unsubscribe: "
             "https://northwind-mail.example/u/%s")
FOOTER_FR = ("Northwind SAS - 12 rue des Haudriettes, 75003 Paris\n"
             "Vous ne souhaitez plus recevoir nos e-mails ? Désinscription :\n"
             "https://northwind-mail.example/d/%s")


def pitch_en(first, company, city, tok):
    return ("Hi %s,\n\n"
            "I noticed %s runs refrigerated storage out of %s. We help food\n"
            "distributors catch temperature excursions before they turn into\n"
            "write-offs: wireless probes in every cold room, SMS alerts the\n"
            "moment something drifts, and HACCP logs your auditor will like.\n\n"
            "Would 20 minutes next week be worth it? Tuesday or Thursday\n"
            "afternoon work on my side.\n\n"
            "Best,\nMarcus\n\n"
            "Marcus Oyelaran\nAccount Executive, Northwind\n"
            "+44 20 7946 0321 | northwind.example\n\n" % (first, company, city)
            + FOOTER_EN % tok)


def followup_en(first, tok):
    return ("Hi %s,\n\n"
            "Floating this back to the top of your inbox in case it got buried.\n"
            "If a call is too much, I'm happy to send a two-page overview and a\n"
            "price sheet instead - just say the word.\n\n"
            "Cheers,\nMarcus\n\n"
            "Marcus Oyelaran\nAccount Executive, Northwind\n"
            "+44 20 7946 0321\n\n" % first + FOOTER_EN % tok)


def invite_en(first, tok):
    return ("Hi %s,\n\n"
            "We're hosting a small breakfast roundtable for cold-chain and\n"
            "warehouse leads in Manchester on Thursday 20 March, 8:00-9:30, at\n"
            "the Whitworth Hotel. No slides, just twelve people comparing notes\n"
            "on audits, energy costs and sensor headaches.\n\n"
            "Would you like a seat? Colleagues welcome.\n\n"
            "Hannah Kowalczyk\nEvents & Partnerships, Northwind\n"
            "+44 161 496 0902\n\n" % first + FOOTER_EN % tok)


def newsletter_en(tok):
    return ("NORTHWIND INSIGHTS - March 2025\n\n"
            "In this issue\n"
            "* What the new chilled-storage guidance means for small sites\n"
            "* Case study: how Brae & Sons cut spoilage by 31%% in six months\n"
            "* Webinar, 18 March: sensor placement 101 (free, 40 min)\n\n"
            "Read online: https://northwind.example/insights/2025-03\n\n"
            "You are receiving this because you signed up at northwind.example.\n"
            "Unsubscribe: https://northwind-mail.example/u/%s\n"
            "Manage preferences: https://northwind-mail.example/p/%s\n" % (tok, tok))


def pitch_fr(prenom, societe, ville, tok, rep=CLAIRE):
    return ("Bonjour %s,\n\n"
            "Je me permets de vous écrire car %s exploite des chambres froides\n"
            "à %s. Chez Northwind, nous installons des sondes sans fil qui vous\n"
            "alertent par SMS dès qu'une température dérive, avec un registre\n"
            "HACCP prêt pour les contrôles sanitaires.\n\n"
            "Auriez-vous 20 minutes la semaine prochaine pour en parler ?\n\n"
            "Bien cordialement,\n\n"
            "%s\nResponsable commerciale Grand Ouest - Northwind\n"
            "06 12 34 56 78\n\n" % (prenom, societe, ville, rep[0])
            + FOOTER_FR % tok)


def relance_fr(prenom, tok):
    return ("Bonjour %s,\n\n"
            "Je me permets de revenir vers vous suite à mon message de la\n"
            "semaine dernière. Plusieurs de vos confrères de la région nous ont\n"
            "rejoints cet hiver ; je peux vous montrer en 15 minutes ce que cela\n"
            "donnerait chez vous.\n\n"
            "Belle journée,\n\n"
            "Romain Teyssier\nChargé d'affaires - Northwind\n"
            "07 81 22 40 19\n\n" % prenom + FOOTER_FR % tok)


def newsletter_fr(tok):
    return ("LA LETTRE NORTHWIND - mars 2025\n\n"
            "Au sommaire\n"
            "- Contrôles DDPP : ce qui change en 2025\n"
            "- Témoignage : la Fromagerie Auclair divise ses pertes par trois\n"
            "- Webinaire le 18 mars : bien placer ses sondes\n\n"
            "Lire en ligne : https://northwind.example/lettre/2025-03\n\n"
            "Vous recevez cette lettre car vous êtes inscrit sur northwind.example.\n"
            "Se désinscrire : https://northwind-mail.example/d/%s\n"
            "Gérer mes préférences : https://northwind-mail.example/p/%s\n" % (tok, tok))


def salon_fr(prenom, tok):
    return ("Bonjour %s,\n\n"
            "Northwind sera au salon Serbotel à Nantes du 16 au 19 mars\n"
            "(hall 2, stand B42). Si vous passez, venez tester nos sondes en\n"
            "conditions réelles : nous avons une vitrine réfrigérée sur le stand.\n\n"
            "Je vous envoie un badge gratuit si vous le souhaitez.\n\n"
            "Claire Dubreuil\nNorthwind\n06 12 34 56 78\n\n" % prenom
            + FOOTER_FR % tok)


def outbound(rep, to, subject, body, date, seed, tok, list_mail=False,
             reply_name=None):
    """The message Northwind sent (used inside bounces and ARF reports)."""
    frm = a(*rep)
    hdrs = [
        ("Return-Path", "<%s>" % bounce_addr(tok)),
        ("DKIM-Signature", "v=1; a=rsa-sha256; c=relaxed/relaxed;\n"
         "\td=northwind-mail.example; s=nw2024; t=1741000000;\n"
         "\th=from:to:subject:date:message-id:list-unsubscribe;\n"
         "\tbh=%s=;\n\tb=%s" % (hid("bh", seed, n=42), hid("b", seed, n=40) + hid("b2", seed, n=40))),
        ("From", frm),
        ("Reply-To", a(reply_name or rep[0], reply_addr(tok))),
        ("To", to),
        ("Subject", h(subject)),
        ("Date", date),
        ("Message-ID", nw_msgid(seed)),
    ]
    if list_mail:
        hdrs += [("List-Unsubscribe", "<https://northwind-mail.example/u/%s>,\n"
                  " <mailto:unsub-%s@fb.northwind.example>" % (tok, tok)),
                 ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")]
    hdrs += [("X-NW-Campaign", hid("camp", seed, n=8))]
    return render_message(hdrs, text(body))


# --------------------------------------------------------------------------
# replies
# --------------------------------------------------------------------------

def _mid_for(client, seed, dom):
    x = hid("mid", seed, n=40)
    if client in ("gmail", "gmail-android"):
        return "<CA%s%s@mail.gmail.com>" % (x[:20].upper(), x[20:36])
    if client in ("iphone", "ipad", "applemail"):
        u = x.upper()
        return "<%s-%s-%s-%s-%s@%s>" % (u[:8], u[8:12], u[12:16], u[16:20], u[20:32], dom)
    if client in ("outlook", "owa", "outlook-android"):
        box = "DB9PR0%sMB%s" % (x[0:1], x[1:5].upper())
        return "<%s%s@%s.eurprd0%s.prod.outlook.com>" % (box, x[5:29].upper(), box, x[0:1])
    if client == "yahoo":
        return "<%d.%d.%d@mail.yahoo.com>" % (int(x[:6], 16), int(x[6:11], 16), 1741000000000 + int(x[11:16], 16))
    if client == "thunderbird":
        return "<%s-%s-%s@%s>" % (x[:8], x[8:12], x[12:20], dom)
    return "<%s.%s@%s>" % (x[:14], x[14:22], dom)


CLIENT_HEADERS = {
    "gmail": [],
    "gmail-android": [],
    "iphone": [("X-Mailer", "iPhone Mail (22D82)")],
    "ipad": [("X-Mailer", "iPad Mail (22C161)")],
    "applemail": [("X-Mailer", "Apple Mail (2.3826.400.131.1.6)")],
    "outlook": [("X-MS-Has-Attach", ""), ("X-MS-TNEF-Correlator", "")],
    "owa": [("X-MS-Has-Attach", ""), ("X-MS-TNEF-Correlator", "")],
    "outlook-android": [("X-MS-Has-Attach", "")],
    "thunderbird": [("User-Agent", "Mozilla Thunderbird")],
    "yahoo": [("X-Mailer", "WebService/1.1.23369 YMailNorrin")],
    "roundcube": [("User-Agent", "Roundcube Webmail/1.6.9")],
    "plain": [],
}


def reply(rel, *, frm, to, subject, date, body, lang, cls, actions, note,
          client="plain", irt_seed=None, cc=None, extra=(), hcharset="utf-8"):
    fname, faddr = frm if isinstance(frm, tuple) else (None, frm)
    dom = faddr.rsplit("@", 1)[1]
    host, ip = sender_host(faddr)
    to_addr = to[1]
    qid = hid("q", rel, n=11).upper()
    hdrs = [
        ("Return-Path", "<%s>" % faddr),
        ("Received", "from %s (%s [%s])\n\tby mx1.fb.northwind.example (Postfix) "
         "with ESMTPS id 4Z%s\n\tfor <%s>; %s" % (host, host, ip, qid, to_addr, date)),
    ]
    if client in ("outlook", "owa", "outlook-android"):
        hdrs.append(("Thread-Topic", h(subject.split(": ", 1)[-1], hcharset)))
        hdrs.append(("Thread-Index", "AQH" + base64.b64encode(bytes.fromhex(hid("ti", rel, n=32))).decode()))
    hdrs += [
        ("From", a(fname, faddr, hcharset)),
        ("To", a(*to, charset=hcharset)),
    ]
    if cc:
        hdrs.append(("Cc", cc))
    hdrs += [
        ("Subject", h(subject, hcharset)),
        ("Date", date),
        ("Message-ID", _mid_for(client, rel, dom)),
    ]
    if irt_seed:
        hdrs += [("In-Reply-To", nw_msgid(irt_seed)), ("References", nw_msgid(irt_seed))]
    hdrs += CLIENT_HEADERS[client]
    if client in ("outlook", "owa"):
        hdrs.append(("Content-Language", "fr-FR" if lang == "fr" else "en-GB"))
    hdrs += list(extra)
    emit("replies/%s.eml" % rel, render_message(hdrs, body), "reply", cls,
         actions, lang, note)


# ---- HTML bodies of the usual clients -------------------------------------

def gmail_html(new, attr, quoted, lang="en"):
    return ('<div dir="ltr">%s</div><br><div class="gmail_quote gmail_quote_container">'
            '<div dir="ltr" class="gmail_attr">%s<br></div>'
            '<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;'
            'border-left:1px solid rgb(204,204,204);padding-left:1ex">%s</blockquote></div>\n'
            % (html_lines(new), attr, html_lines(quoted)))


OUTLOOK_HEAD = """<html xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" xmlns:w="urn:schemas-microsoft-com:office:word" xmlns:m="http://schemas.microsoft.com/office/2004/12/omml" xmlns="http://www.w3.org/TR/REC-html40">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<meta name="Generator" content="Microsoft Word 15 (filtered medium)">
<style><!--
/* Font Definitions */
@font-face
	{font-family:"Cambria Math";
	panose-1:2 4 5 3 5 4 6 3 2 4;}
@font-face
	{font-family:Aptos;}
/* Style Definitions */
p.MsoNormal, li.MsoNormal, div.MsoNormal
	{margin:0cm;
	font-size:12.0pt;
	font-family:"Aptos",sans-serif;
	mso-ligatures:standardcontextual;}
a:link, span.MsoHyperlink
	{mso-style-priority:99;
	color:#467886;
	text-decoration:underline;}
span.EmailStyle19
	{mso-style-type:personal-reply;
	font-family:"Aptos",sans-serif;
	color:windowtext;}
.MsoChpDefault
	{mso-style-type:export-only;
	font-size:10.0pt;
	mso-ligatures:none;}
@page WordSection1
	{size:612.0pt 792.0pt;
	margin:72.0pt 72.0pt 72.0pt 72.0pt;}
div.WordSection1
	{page:WordSection1;}
--></style>
</head>
"""


def outlook_html(new, hdr_pairs, quoted, lang="en"):
    """Outlook desktop: no blockquote, a bordered header block."""
    blk = "<br>\n".join("<b>%s</b> %s" % (esc(k), esc(v)) for k, v in hdr_pairs)
    return (OUTLOOK_HEAD +
            '<body lang="%s" link="#467886" vlink="#96607D" style="word-wrap:break-word">\n'
            '<div class="WordSection1">\n%s\n<p class="MsoNormal">&nbsp;</p>\n'
            '<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm">\n'
            '<p class="MsoNormal">%s</p>\n</div>\n<p class="MsoNormal">&nbsp;</p>\n%s\n'
            '</div>\n</body>\n</html>\n'
            % ("FR" if lang == "fr" else "EN-GB", html_paras(new, "MsoNormal"), blk,
               html_paras(quoted, "MsoNormal")))


def owa_html(new, hdr_pairs, quoted):
    """Outlook on the web / new Outlook: divRplyFwdMsg + hr."""
    blk = "<br>\n".join("<b>%s</b> %s" % (esc(k), esc(v)) for k, v in hdr_pairs)
    return ('<html>\n<head>\n<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\n'
            '<style type="text/css" style="display:none;"> P {margin-top:0;margin-bottom:0;} </style>\n'
            '</head>\n<body dir="ltr">\n'
            '<div class="elementToProof" style="font-family: Aptos, Aptos_EmbeddedFont, '
            'Aptos_MSFontService, Calibri, Helvetica, sans-serif; font-size: 12pt; color: rgb(0, 0, 0);">\n'
            '%s</div>\n<div id="appendonsend"></div>\n<hr style="display:inline-block;width:98%%" tabindex="-1">\n'
            '<div id="divRplyFwdMsg" dir="ltr"><font face="Calibri, sans-serif" style="font-size:11pt" '
            'color="#000000">%s</font>\n<div>&nbsp;</div>\n</div>\n<div>%s</div>\n</body>\n</html>\n'
            % (html_lines(new), blk, html_lines(quoted)))


def apple_html(new, attr, quoted):
    return ('<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8"></head>'
            '<body dir="auto"><div dir="ltr">%s</div><div dir="ltr"><br><blockquote type="cite">%s</blockquote></div>'
            '<blockquote type="cite"><div dir="ltr">%s</div></blockquote></body></html>\n'
            % (html_lines(new), esc(attr), html_lines(quoted)))


def thunderbird_html(new, attr, quoted):
    return ('<!DOCTYPE html>\n<html>\n  <head>\n    <meta http-equiv="Content-Type" '
            'content="text/html; charset=UTF-8">\n  </head>\n  <body>\n    <p>%s</p>\n'
            '    <div class="moz-cite-prefix">%s<br>\n    </div>\n'
            '    <blockquote type="cite" cite="mid:x">%s</blockquote>\n  </body>\n</html>\n'
            % (html_lines(new), esc(attr), html_lines(quoted)))


def gm_attr_en(day, hhmm, ampm, who):
    # Gmail puts a narrow no-break space before AM/PM since 2023.
    return "On %s at %s\u202f%s %s <%s> wrote:" % (day, hhmm, ampm, who[0], who[1])


def gm_attr_fr(day, hhmm, who):
    return "Le %s à %s, %s <%s> a écrit :" % (day, hhmm, who[0], who[1])


def gm_attr_html(attr_plain):
    # Gmail HTML: mailto link around the address.
    import re
    m = re.search(r"<([^>]+)>", attr_plain)
    s = esc(attr_plain)
    if m:
        ad = m.group(1)
        s = s.replace("&lt;%s&gt;" % ad,
                      '&lt;<a href="mailto:%s">%s</a>&gt;' % (ad, ad))
    return s.replace(" a écrit :", "&nbsp;a écrit&nbsp;:")


def gmb(seed):
    return "000000000000" + hid("gb", seed, n=16)


def mkb(seed, style="apple"):
    x = hid("b", seed, n=32).upper()
    if style == "apple":
        return "Apple-Mail-%s-%s-%s-%s-%s" % (x[:8], x[8:12], x[12:16], x[16:20], x[20:32])
    if style == "outlook":
        return "_000_%s%s_" % ("DB9PR02MB7225", x[:24])
    if style == "tb":
        return "------------%s" % x[:24]
    return "=_%s" % x[:20].lower()


def gmail_reply_body(new, attr, orig):
    plain = new + "\n\n" + attr + "\n\n" + q(orig) + "\n"
    return plain, gmail_html(new, gm_attr_html(attr), orig)


def outlook_plain(new, pairs, orig, sep="________________________________"):
    blk = "\n".join("%s %s" % kv for kv in pairs)
    return new + "\n\n" + (sep + "\n" if sep else "") + blk + "\n\n" + orig + "\n"


# ======================================================================
# English replies
# ======================================================================

def replies_en():
    # EN01 unsubscribe, Gmail (Workspace), multipart/alternative, top-posted
    t = hid("tok", "en01", n=10)
    orig = pitch_en("Derek", "Hollisbrook Foods", "Leicester", t)
    new = ("Hi Marcus,\n\nPlease take me off your mailing list, thanks.\n\n"
           "Derek Whitlow\nGoods-in & Cold Store Supervisor\nHollisbrook Foods\n0116 496 0118")
    attr = gm_attr_en("Mon, Mar 3, 2025", "8:15", "AM", MARCUS)
    p, hh = gmail_reply_body(new, attr, orig)
    reply("en01-take-me-off-gmail", frm=("Derek Whitlow", "dwhitlow@hollisbrookfoods.example"),
          to=(MARCUS[0], reply_addr(t)), subject="Re: Temperature excursions at Hollisbrook Foods",
          date="Tue, 4 Mar 2025 09:02:41 +0000", client="gmail", irt_seed="en01",
          body=alt(text(p), html(hh), gmb("en01")), lang="en", cls="unsubscribe",
          actions=[S("dwhitlow@hollisbrookfoods.example", "unsubscribe")],
          note="Plain polite opt-out, Gmail top-post; quoted pitch footer also says unsubscribe.")

    # EN02 unsubscribe, iPhone, Apple quote, angry and short
    t = hid("tok", "en02", n=10)
    orig = followup_en("Kyle", t)
    new = "Stop emailing me. I never signed up for any of this.\n\nSent from my iPhone"
    attr = "On 3 Mar 2025, at 14:27, Marcus Oyelaran <marcus.oyelaran@northwind.example> wrote:"
    plain = new + "\n\n> " + attr + "\n> \n" + q(orig) + "\n"
    reply("en02-stop-emailing-iphone", frm=("Kyle Ferreira", "kferreira.82@gmail.com"),
          to=(MARCUS[0], reply_addr(t)), subject="Re: Following up",
          date="Tue, 4 Mar 2025 07:48:09 -0500", client="iphone", irt_seed="en02",
          body=text(plain, params="; format=flowed", cte="7bit"),
          lang="en", cls="unsubscribe", actions=[S("kferreira.82@gmail.com", "unsubscribe")],
          note="Terse opt-out from iPhone; Apple '> On ..., at ..., X wrote:' quote header.")

    # EN03 unsubscribe, Outlook plain text; quoted To shows another address of the same person
    t = hid("tok", "en03", n=10)
    orig = pitch_en("Priya", "Kestrel Foods", "Stockport", t)
    new = ("Hi Marcus,\n\nPlease remove me from your distribution list. This is the fourth\n"
           "one of these I've had since January.\n\nRegards,\nPriya\n\n"
           "Priya Natarajan | Operations Manager\nKestrel Foods Ltd\nT: 0161 496 0734  M: 07700 900 412")
    pairs = [("From:", "Marcus Oyelaran <marcus.oyelaran@northwind.example>"),
             ("Sent:", "03 March 2025 10:12"),
             ("To:", "Natarajan, Priya <p.natarajan@kestrelfoods.example>"),
             ("Subject:", "Temperature excursions at Kestrel Foods")]
    reply("en03-same-person-other-address", frm=("Priya Natarajan", "priya.natarajan@kestrelfoods.example"),
          to=(MARCUS[0], reply_addr(t)), subject="RE: Temperature excursions at Kestrel Foods",
          date="Mon, 3 Mar 2025 16:40:55 +0000", client="outlook", irt_seed="en03",
          body=text(outlook_plain(new, pairs, orig, sep="-----Original Message-----"), cte="7bit"),
          lang="en", cls="unsubscribe",
          actions=[S("priya.natarajan@kestrelfoods.example", "unsubscribe"),
                   S("p.natarajan@kestrelfoods.example", "unsubscribe")],
          note="Reply from priya.natarajan@ while the quoted To: was p.natarajan@ (alias of the same person): both suppressed.")

    # EN04 unsubscribe; text names 'my work address'
    t = hid("tok", "en04", n=10)
    orig = followup_en("Chidi", t)
    new = ("Hi,\n\nYou've been emailing my work address c.okafor@brightwell-eng.example for a\n"
           "few weeks now and it forwards to this account. Please unsubscribe me, I'm\n"
           "not the person who buys this kind of thing anyway.\n\nThanks\nChidi")
    attr = gm_attr_en("Wed, Mar 5, 2025", "11:03", "AM", MARCUS)
    p, hh = gmail_reply_body(new, attr, orig)
    reply("en04-work-address-in-text", frm=("Chidi Okafor", "chidiokafor88@gmail.com"),
          to=(MARCUS[0], reply_addr(t)), subject="Re: Following up",
          date="Wed, 5 Mar 2025 19:22:14 +0000", client="gmail", irt_seed="en04",
          body=alt(text(p), html(hh), gmb("en04")), lang="en", cls="unsubscribe",
          actions=[S("chidiokafor88@gmail.com", "unsubscribe"),
                   S("c.okafor@brightwell-eng.example", "unsubscribe")],
          note="Personal Gmail reply; the text names the work address that was mailed: suppress both.")

    # EN05 unsubscribe, HTML-only, Outlook on the web, quoted-printable
    t = hid("tok", "en05", n=10)
    orig = pitch_en("Gemma", "Pennant Civil", "Swindon", t)
    new = "Please unsubscribe me from these emails.\n\nGemma Rourke\nSite Services Coordinator | Pennant Civil"
    pairs = [("From:", "Marcus Oyelaran <marcus.oyelaran@northwind.example>"),
             ("Sent:", "Monday, March 3, 2025 10:12 AM"),
             ("To:", "Gemma Rourke <grourke@pennantcivil.example>"),
             ("Subject:", "Quick question about your cold rooms")]
    reply("en05-html-only-owa", frm=("Gemma Rourke", "grourke@pennantcivil.example"),
          to=(MARCUS[0], reply_addr(t)), subject="Re: Quick question about your cold rooms",
          date="Mon, 3 Mar 2025 13:05:36 +0000", client="owa", irt_seed="en05",
          body=html(owa_html(new, pairs, orig)), lang="en", cls="unsubscribe",
          actions=[S("grourke@pennantcivil.example", "unsubscribe")],
          note="HTML-only body (Outlook on the web, divRplyFwdMsg), QP encoded.")

    # EN06 subject-only UNSUBSCRIBE, empty body
    t = hid("tok", "en06", n=10)
    reply("en06-subject-unsubscribe-empty", frm=(None, "ted.marchetti@yahoo.com"),
          to=(NEWS_EN[0], reply_addr(t)), subject="UNSUBSCRIBE",
          date="Thu, 6 Mar 2025 21:14:50 +0000 (UTC)", client="yahoo", irt_seed="en06",
          body=text(""), lang="en", cls="unsubscribe",
          actions=[S("ted.marchetti@yahoo.com", "unsubscribe")],
          note="Subject-only opt-out, empty body, newsletter reply.")

    # EN07 subject-only STOP, body = signature only
    t = hid("tok", "en07", n=10)
    reply("en07-subject-stop-signature", frm=("Ron Castellano", "ron@castellanoplumbing.example"),
          to=(MARCUS[0], reply_addr(t)), subject="STOP",
          date="Tue, 4 Mar 2025 06:31:02 -0600", client="thunderbird", irt_seed="en07",
          body=text("\n-- \nRon Castellano\nCastellano Plumbing & Heating\n(555) 014-2231\n"
                    "www.castellanoplumbing.example\n", cte="7bit"),
          lang="en", cls="unsubscribe", actions=[S("ron@castellanoplumbing.example", "unsubscribe")],
          note="Subject 'STOP'; body holds only a '-- ' signature.")

    # EN08 unsubscribe-company, company domain
    t = hid("tok", "en08", n=10)
    orig = invite_en("Alison", t)
    new = ("Hi Hannah,\n\nCan you please remove everyone at Fenwick Dairy from your lists? Three\n"
           "of us have had this invite now. None of us will be coming and we'd rather\n"
           "nobody here was contacted again.\n\nThanks,\nAlison\n\n"
           "Alison Fenwick\nDirector, Fenwick Dairy Ltd\nLow Farm, Hexham NE46 0XX")
    attr = "On 04/03/2025 08:30, Hannah Kowalczyk wrote:"
    plain = new + "\n\n" + attr + "\n" + q(orig) + "\n"
    reply("en08-everyone-at-company", frm=("Alison Fenwick", "alison@fenwickdairy.example"),
          to=(HANNAH[0], reply_addr(t)), subject="Re: Breakfast roundtable, Manchester 20 March",
          date="Tue, 4 Mar 2025 12:19:27 +0000", client="thunderbird", irt_seed="en08",
          body=alt(text(plain, cte="7bit", params="; format=flowed"),
                   html(thunderbird_html(new, attr, orig)), mkb("en08", "tb")),
          lang="en", cls="unsubscribe-company",
          actions=[S("alison@fenwickdairy.example", "unsubscribe"),
                   S("@fenwickdairy.example", "unsubscribe")],
          note="Asks that nobody at the company be contacted; company domain.")

    # EN09 unsubscribe-company from a free-mail address -> review the domain
    t = hid("tok", "en09", n=10)
    orig = pitch_en("Bob", "Szymanski Auto Body", "Toledo", t)
    new = ("this is a small family business. please stop emailing me and anybody else at\n"
           "our company, we dont store food and we dont need sensors\n\nBob")
    attr = gm_attr_en("Mon, Mar 3, 2025", "5:12", "AM", MARCUS)
    p, hh = gmail_reply_body(new, attr, orig)
    reply("en09-company-freemail", frm=("Bob Szymanski", "bobs.autobody@gmail.com"),
          to=(MARCUS[0], reply_addr(t)), subject="Re: Quick question about your cold rooms",
          date="Mon, 3 Mar 2025 09:55:03 -0500", client="gmail", irt_seed="en09",
          body=alt(text(p), html(hh), gmb("en09")), lang="en", cls="unsubscribe-company",
          actions=[S("bobs.autobody@gmail.com", "unsubscribe"), R("@gmail.com", "unsubscribe")],
          note="Company-wide stop from a gmail.com address: domain goes to review, not suppress.")

    # EN10 legal, formal Article 17 erasure request
    t = hid("tok", "en10", n=10)
    orig = pitch_en("Eleanor", "Pryce & Lowe", "Bristol", t)
    new = ("Dear Sir or Madam,\n\n"
           "I am writing to request the erasure of my personal data under Article 17\n"
           "of the UK GDPR. I have no relationship with Northwind and have never\n"
           "consented to receive marketing from you.\n\n"
           "Please delete all personal data you hold about me, confirm in writing\n"
           "within one month that this has been done, and tell me where you\n"
           "obtained my details.\n\nYours faithfully,\n\nEleanor Pryce\nPartner, Pryce & Lowe LLP")
    pairs = [("From:", "Marcus Oyelaran <marcus.oyelaran@northwind.example>"),
             ("Sent:", "Monday, March 3, 2025 9:40 AM"),
             ("To:", "Eleanor Pryce <e.pryce@pryceandlowe.example>"),
             ("Subject:", "Temperature excursions at Pryce & Lowe")]
    txt = outlook_plain(new, pairs, orig)
    reply("en10-gdpr-art17", frm=("Eleanor Pryce", "e.pryce@pryceandlowe.example"),
          to=(MARCUS[0], reply_addr(t)), subject="RE: Temperature excursions at Pryce & Lowe",
          date="Mon, 3 Mar 2025 15:02:48 +0000", client="outlook", irt_seed="en10",
          body=alt(text(txt, cte="quoted-printable"),
                   html(outlook_html(new, pairs, orig)), mkb("en10", "outlook")),
          lang="en", cls="legal", actions=[S("e.pryce@pryceandlowe.example", "legal")],
          note="Formal UK GDPR Art. 17 erasure request.")

    # EN11 legal, angry, regulator threat, Outlook for Android
    t = hid("tok", "en11", n=10)
    orig = followup_en("Graham", t)
    new = ("I have never given you permission to email me. Delete my personal data now.\n"
           "One more of these and I'm reporting you to the ICO.\n\nGet Outlook for Android")
    pairs = [("From:", "Marcus Oyelaran <marcus.oyelaran@northwind.example>"),
             ("Sent:", "Tuesday, March 4, 2025 2:01:17 PM"),
             ("To:", "graham.abernethy@outlook.com <graham.abernethy@outlook.com>"),
             ("Subject:", "Following up")]
    reply("en11-delete-my-data-ico", frm=("Graham Abernethy", "graham.abernethy@outlook.com"),
          to=(MARCUS[0], reply_addr(t)), subject="Re: Following up",
          date="Tue, 4 Mar 2025 18:44:30 +0000", client="outlook-android", irt_seed="en11",
          body=text(outlook_plain(new, pairs, orig), cte="7bit"),
          lang="en", cls="legal", actions=[S("graham.abernethy@outlook.com", "legal")],
          note="'Delete my personal data' + regulator (ICO) threat -> legal.")

    # EN12 not-interested; campaign subject itself starts with 'Stop'
    t = hid("tok", "en12", n=10)
    orig = pitch_en("Lindsay", "Tideway Hotels", "Plymouth", t)
    new = ("Thanks Marcus but we're all set on this front - we put a monitoring system\n"
           "in last year. Not something we need.\n\nLindsay\n\n"
           "Lindsay Okonkwo\nHead of Facilities, Tideway Hotels")
    attr = gm_attr_en("Tue, Mar 4, 2025", "10:05", "AM", MARCUS)
    p, hh = gmail_reply_body(new, attr, orig)
    reply("en12-not-interested-stop-subject", frm=("Lindsay Okonkwo", "lokonkwo@tidewayhotels.example"),
          to=(MARCUS[0], reply_addr(t)), subject="Re: Stop losing stock to warm fridges",
          date="Tue, 4 Mar 2025 11:31:19 +0000", client="gmail", irt_seed="en12",
          body=alt(text(p), html(hh), gmb("en12")), lang="en", cls="not-interested", actions=[],
          note="Trap: campaign subject 'Stop losing stock...' is not a subject-only STOP.")

    # EN13 not-interested: not now, maybe next year
    t = hid("tok", "en13", n=10)
    orig = followup_en("Fergus", t)
    new = ("Not now, maybe next year. Budget for this year is already spoken for.\n"
           "Feel free to check back around January.\n\nFergus")
    attr = "On 4 Mar 2025, at 09:12, Marcus Oyelaran <marcus.oyelaran@northwind.example> wrote:"
    plain = new + "\n\nSent from my iPhone\n\n> " + attr + "\n> \n" + q(orig) + "\n"
    reply("en13-not-now-next-year", frm=("Fergus McAllister", "fergus@mcallister-wholesale.example"),
          to=(MARCUS[0], reply_addr(t)), subject="Re: Following up",
          date="Tue, 4 Mar 2025 13:20:44 +0000", client="iphone", irt_seed="en13",
          body=text(plain, cte="7bit"), lang="en", cls="not-interested", actions=[],
          note="Trap: 'not now, maybe next year' is not a stop request.")

    # EN14 positive, quoted pitch footer says Unsubscribe
    t = hid("tok", "en14", n=10)
    orig = pitch_en("Dana", "Whitcombe Cellars", "Bath", t)
    new = ("Sounds good, let's talk. Thursday after 2pm works for me, my mobile is\n"
           "07700 900 188.\n\nDana")
    attr = gm_attr_en("Mon, Mar 3, 2025", "9:40", "AM", MARCUS)
    p, hh = gmail_reply_body(new, attr, orig)
    reply("en14-positive-quoted-unsubscribe", frm=("Dana Whitcombe", "dana@whitcombecellars.example"),
          to=(MARCUS[0], reply_addr(t)), subject="Re: Temperature excursions at Whitcombe Cellars",
          date="Mon, 3 Mar 2025 17:08:12 +0000", client="gmail", irt_seed="en14",
          body=alt(text(p), html(hh), gmb("en14")), lang="en", cls="positive", actions=[],
          note="Trap: 'Unsubscribe' appears only in the quoted sales footer.")

    # EN15 positive: "can't stop thinking about your demo"
    t = hid("tok", "en15", n=10)
    orig = pitch_en("Sergio", "Paredes Fresh Produce", "Wisbech", t)
    new = ("Marcus,\n\nHonestly I can't stop thinking about the demo you guys did at the\n"
           "Cold Chain Expo. Can you send pricing for roughly 40 probes across two\n"
           "sites? If it's in the right ballpark I'll get you in front of our MD.\n\n"
           "Sergio Paredes\nOperations, Paredes Fresh Produce")
    pairs = [("From:", "Marcus Oyelaran <marcus.oyelaran@northwind.example>"),
             ("Sent:", "Wednesday, March 5, 2025 8:55 AM"),
             ("To:", "Sergio Paredes <sergio@paredesfresh.example>"),
             ("Subject:", "Temperature excursions at Paredes Fresh Produce")]
    reply("en15-cant-stop-thinking", frm=("Sergio Paredes", "sergio@paredesfresh.example"),
          to=(MARCUS[0], reply_addr(t)), subject="RE: Temperature excursions at Paredes Fresh Produce",
          date="Wed, 5 Mar 2025 10:17:03 +0000", client="outlook", irt_seed="en15",
          body=alt(text(outlook_plain(new, pairs, orig)), html(outlook_html(new, pairs, orig)),
                   mkb("en15", "outlook")),
          lang="en", cls="positive", actions=[],
          note="Trap: 'stop' inside 'can't stop thinking'.")

    # EN16 positive: "don't stop sending me these"
    t = hid("tok", "en16", n=10)
    orig = newsletter_en(t)
    new = ("Don't stop sending me these - it's the only newsletter I actually read.\n"
           "Quick q: will the 18 March webinar be recorded? I'm on shift that morning.\n\n"
           "Cheers,\nMo")
    attr = gm_attr_en("Thu, Mar 6, 2025", "7:00", "AM", NEWS_EN)
    p, hh = gmail_reply_body(new, attr, orig)
    reply("en16-dont-stop-sending", frm=("Mo Farouk", "mo.farouk@gmail.com"),
          to=(NEWS_EN[0], reply_addr(t)), subject="Re: Northwind Insights - March 2025",
          date="Thu, 6 Mar 2025 07:41:55 +0000", client="gmail", irt_seed="en16",
          body=alt(text(p), html(hh), gmb("en16")), lang="en", cls="positive", actions=[],
          note="Trap: \"don't stop sending me these\" (negated stop).")

    # EN17 redirect to a colleague
    t = hid("tok", "en17", n=10)
    orig = pitch_en("Joe", "Tarn Hollow Foods", "Kendal", t)
    new = ("Hi Marcus,\n\nI moved into a finance role in January so this isn't really mine any\n"
           "more. Please contact my colleague Maria Lindqvist\n"
           "(maria.lindqvist@tarnhollow.example), she runs both warehouses now.\n\n"
           "All the best,\nJoe Haworth")
    attr = "On 03/03/2025 11:26, Marcus Oyelaran wrote:"
    plain = new + "\n\n" + attr + "\n" + q(orig) + "\n"
    reply("en17-redirect-colleague", frm=("Joe Haworth", "joe.haworth@tarnhollow.example"),
          to=(MARCUS[0], reply_addr(t)), subject="Re: Temperature excursions at Tarn Hollow Foods",
          date="Mon, 3 Mar 2025 14:09:38 +0000", client="thunderbird", irt_seed="en17",
          body=text(plain, cte="7bit", params="; format=flowed"),
          lang="en", cls="redirect", actions=[],
          note="Points to a colleague; no stop request.")

    # EN18 redirect with Cc to procurement
    t = hid("tok", "en18", n=10)
    orig = followup_en("Aisha", t)
    new = ("Not my area I'm afraid. Our procurement lead is Sam Beaumont\n"
           "(s.beaumont@corrigan-group.example) - I've cc'd him so you can pick it up\n"
           "with him directly.\n\nAisha\n\nAisha Rahman | Corrigan Group | Quality & Compliance")
    pairs = [("From:", "Marcus Oyelaran <marcus.oyelaran@northwind.example>"),
             ("Sent:", "Tuesday, March 4, 2025 9:03 AM"),
             ("To:", "Aisha Rahman <a.rahman@corrigan-group.example>"),
             ("Subject:", "Following up")]
    reply("en18-redirect-procurement", frm=("Aisha Rahman", "a.rahman@corrigan-group.example"),
          to=(MARCUS[0], reply_addr(t)), cc=a("Sam Beaumont", "s.beaumont@corrigan-group.example"),
          subject="RE: Following up", date="Tue, 4 Mar 2025 09:47:11 +0000",
          client="outlook", irt_seed="en18",
          body=alt(text(outlook_plain(new, pairs, orig)), html(outlook_html(new, pairs, orig)),
                   mkb("en18", "outlook")),
          lang="en", cls="redirect", actions=[],
          note="Redirect to procurement with Cc; nothing to change.")

    # EN19 unclear, mentions unsubscribing as a question -> review
    t = hid("tok", "en19", n=10)
    orig = newsletter_en(t)
    new = ("Should I unsubscribe? Not sure why I'm getting these, I don't think\n"
           "we've ever spoken.\n\nKaren")
    reply("en19-should-i-unsubscribe", frm=("Karen Lusk", "karen.lusk@lusk-catering.example"),
          to=(NEWS_EN[0], reply_addr(t)), subject="Re: Northwind Insights - March 2025",
          date="Thu, 6 Mar 2025 12:02:33 -0500", client="applemail", irt_seed="en19",
          body=text(new + "\n\n> On 6 Mar 2025, at 07:00, Northwind Insights <insights@northwind-mail.example> wrote:\n>\n"
                    + q(orig) + "\n", cte="7bit"),
          lang="en", cls="unclear", actions=[R("karen.lusk@lusk-catering.example", "unsubscribe")],
          note="Ambiguous: asks whether she should unsubscribe -> review.")

    # EN20 unclear, 'maybe stop for now? not sure' -> review
    t = hid("tok", "en20", n=10)
    orig = followup_en("Pete", t)
    new = ("hmm maybe stop for now? not sure. let me check with Tom when he's back\n"
           "and I'll get back to you\n\nPete")
    attr = gm_attr_en("Tue, Mar 4, 2025", "2:10", "PM", MARCUS)
    p, hh = gmail_reply_body(new, attr, orig)
    reply("en20-maybe-stop-not-sure", frm=("Pete Arkwright", "pete@arkwright-meats.example"),
          to=(MARCUS[0], reply_addr(t)), subject="Re: Following up",
          date="Tue, 4 Mar 2025 16:55:21 +0000", client="gmail", irt_seed="en20",
          body=alt(text(p), html(hh), gmb("en20")), lang="en", cls="unclear",
          actions=[R("pete@arkwright-meats.example", "unsubscribe")],
          note="Hesitant 'maybe stop for now? not sure' -> review, not suppress.")

    # EN21 unclear, "Who is this?" from Yahoo mobile
    t = hid("tok", "en21", n=10)
    orig = pitch_en("Wendy", "Marsh Lane Bakery", "Ipswich", t)
    new = "Who is this?\n\nSent from Yahoo Mail for iPhone"
    plain = (new + "\n\nOn Monday, March 3, 2025, 10:12 AM, Marcus Oyelaran "
             "<marcus.oyelaran@northwind.example> wrote:\n\n" + orig + "\n")
    reply("en21-who-is-this", frm=("Wendy Clarke", "wendyclarke61@yahoo.com"),
          to=(MARCUS[0], reply_addr(t)), subject="Re: Temperature excursions at Marsh Lane Bakery",
          date="Mon, 3 Mar 2025 20:33:47 +0000 (UTC)", client="yahoo", irt_seed="en21",
          body=text(plain, cte="7bit"), lang="en", cls="unclear", actions=[],
          note="Yahoo mobile, original pasted below without '>' quoting.")

    # EN22 unclear, thinks it's about an invoice
    t = hid("tok", "en22", n=10)
    orig = followup_en("Nigel", t)
    new = ("Hello,\n\nIs this about the invoice from February? I passed that to accounts\n"
           "last week.\n\nNigel Pratt\nPratt & Daughters Butchers")
    pairs = [("From:", "Marcus Oyelaran <marcus.oyelaran@northwind.example>"),
             ("Sent:", "04 March 2025 09:03"),
             ("To:", "Nigel Pratt <nigel@prattbutchers.example>"),
             ("Subject:", "Following up")]
    reply("en22-invoice-confusion", frm=("Nigel Pratt", "nigel@prattbutchers.example"),
          to=(MARCUS[0], reply_addr(t)), subject="RE: Following up",
          date="Tue, 4 Mar 2025 10:28:00 +0000", client="outlook", irt_seed="en22",
          body=text(outlook_plain(new, pairs, orig, sep="-----Original Message-----"), cte="7bit"),
          lang="en", cls="unclear", actions=[],
          note="Confused reply, no stop wording.")

    # EN23 positive, HTML-only Gmail, base64
    t = hid("tok", "en23", n=10)
    orig = invite_en("Ollie", t)
    new = ("Hi Hannah,\n\nYes please - put me down for two seats, I'll bring our night\n"
           "shift manager as well.\n\nCheers,\nOllie")
    attr = gm_attr_en("Tue, Mar 4, 2025", "8:30", "AM", HANNAH)
    reply("en23-html-only-gmail-b64", frm=("Oliver Grant", "ollie.grant@grantbrothers.example"),
          to=(HANNAH[0], reply_addr(t)), subject="Re: Breakfast roundtable, Manchester 20 March",
          date="Tue, 4 Mar 2025 10:51:26 +0000", client="gmail", irt_seed="en23",
          body=html(gmail_html(new, gm_attr_html(attr), orig), cte="base64"),
          lang="en", cls="positive", actions=[],
          note="HTML-only base64 Gmail body; gmail_quote holds the invite and its unsubscribe footer.")

    # EN24 positive: bus stop
    t = hid("tok", "en24", n=10)
    orig = pitch_en("Yusuf", "Kaya Wholesale", "Birmingham", t)
    new = ("Ha - I think we chatted at the bus stop outside the NEC after day two?\n"
           "Either way, yes, send me the pricing sheet and I'll take a look.\n\n"
           "Yusuf Kaya\nKaya Wholesale Ltd")
    attr = gm_attr_en("Mon, Mar 3, 2025", "10:12", "AM", MARCUS)
    p, hh = gmail_reply_body(new, attr, orig)
    reply("en24-bus-stop", frm=("Yusuf Kaya", "yusuf@kayawholesale.example"),
          to=(MARCUS[0], reply_addr(t)), subject="Re: Temperature excursions at Kaya Wholesale",
          date="Mon, 3 Mar 2025 12:40:06 +0000", client="gmail", irt_seed="en24",
          body=alt(text(p), html(hh), gmb("en24")), lang="en", cls="positive", actions=[],
          note="Trap: 'bus stop'.")

    # EN25 positive: non-stop
    t = hid("tok", "en25", n=10)
    orig = followup_en("Bronwen", t)
    new = ("Sorry for the slow reply, it's been non-stop since the audit. Yes, we're\n"
           "interested - could we do a call in the first week of April?\n\n"
           "Bronwen Pugh\nTechnical Manager, Teifi Valley Creamery")
    attr = "On 4 Mar 2025, at 09:12, Marcus Oyelaran <marcus.oyelaran@northwind.example> wrote:"
    plain = new + "\n\n" + attr + "\n\n" + q(orig) + "\n"
    reply("en25-non-stop", frm=("Bronwen Pugh", "bronwen.pugh@teifivalley.example"),
          to=(MARCUS[0], reply_addr(t)), subject="Re: Following up",
          date="Fri, 7 Mar 2025 15:12:58 +0000", client="applemail", irt_seed="en25",
          body=alt(text(plain, cte="7bit"), html(apple_html(new, attr, orig)), mkb("en25")),
          lang="en", cls="positive", actions=[],
          note="Trap: 'non-stop'.")

    # EN26 positive, corporate signature/disclaimer mentions delete + unsubscribe
    t = hid("tok", "en26", n=10)
    orig = pitch_en("Imogen", "Hartwell Group", "Leeds", t)
    new = ("Thanks Marcus, please send the brochure and a quote for the Leeds site\n"
           "(6 cold rooms, 2 blast chillers).\n\nKind regards\nImogen")
    sig = ("Imogen Slater\nProcurement Officer | Hartwell Group plc\nT +44 113 496 0555\n\n"
           "CONFIDENTIALITY NOTICE: This email and any attachments are confidential and\n"
           "intended solely for the addressee. If you are not the intended recipient,\n"
           "please notify the sender immediately and delete this message from your\n"
           "system. Hartwell Group plc, registered in England No. 01234567.\n"
           "To stop receiving marketing emails from Hartwell Group, unsubscribe at\n"
           "https://hartwellgroup.example/preferences\n"
           "Please consider the environment before printing this email.")
    pairs = [("From:", "Marcus Oyelaran <marcus.oyelaran@northwind.example>"),
             ("Sent:", "Monday, March 3, 2025 10:12 AM"),
             ("To:", "Imogen Slater <imogen.slater@hartwellgroup.example>"),
             ("Subject:", "Temperature excursions at Hartwell Group")]
    reply("en26-positive-disclaimer-sig", frm=("Imogen Slater", "imogen.slater@hartwellgroup.example"),
          to=(MARCUS[0], reply_addr(t)), subject="RE: Temperature excursions at Hartwell Group",
          date="Wed, 5 Mar 2025 11:45:09 +0000", client="outlook", irt_seed="en26",
          body=alt(text(outlook_plain(new + "\n\n" + sig, pairs, orig)),
                   html(outlook_html(new + "\n\n" + sig, pairs, orig)), mkb("en26", "outlook")),
          lang="en", cls="positive", actions=[],
          note="Trap: company disclaimer signature says 'delete this message', 'stop receiving', 'unsubscribe'.")

    # EN27 unsubscribe, bottom-posted
    t = hid("tok", "en27", n=10)
    orig = pitch_en("Niall", "Devereux Seafoods", "Grimsby", t)
    plain = ("On 03/03/2025 10:12, Marcus Oyelaran wrote:\n" + q(orig) + "\n\n"
             "Please remove me from this list.\n\nNiall Devereux\n")
    reply("en27-bottom-posted", frm=("Niall Devereux", "niall@devereuxseafoods.example"),
          to=(MARCUS[0], reply_addr(t)), subject="Re: Temperature excursions at Devereux Seafoods",
          date="Mon, 3 Mar 2025 11:03:19 +0000", client="thunderbird", irt_seed="en27",
          body=text(plain, cte="7bit", params="; format=flowed"),
          lang="en", cls="unsubscribe", actions=[S("niall@devereuxseafoods.example", "unsubscribe")],
          note="Bottom-posted: new text after the quote.")

    # EN28 unsubscribe, typos, Samsung mobile
    t = hid("tok", "en28", n=10)
    orig = newsletter_en(t)
    new = "pls remove me from ur list thx\n\n\n\nSent from my Galaxy"
    plain = (new + "\n\n\n-------- Original message --------\nFrom: Northwind Insights "
             "<insights@northwind-mail.example> \nDate: 06/03/2025 07:00 (GMT+00:00) \n"
             "To: jaz.k@hotmail.com \nSubject: Northwind Insights - March 2025 \n\n" + orig)
    reply("en28-pls-remove-galaxy", frm=("Jaz K", "jaz.k@hotmail.com"),
          to=(NEWS_EN[0], reply_addr(t)), subject="RE: Northwind Insights - March 2025",
          date="Thu, 6 Mar 2025 08:12:40 +0000", client="plain", irt_seed="en28",
          body=text(plain, cte="quoted-printable"),
          lang="en", cls="unsubscribe", actions=[S("jaz.k@hotmail.com", "unsubscribe")],
          note="Typos and text-speak; Samsung '-------- Original message --------' header with trailing spaces.")

    # EN29 not-interested, HTML-only Outlook desktop
    t = hid("tok", "en29", n=10)
    orig = followup_en("Rachel", t)
    new = ("Hi Marcus,\n\nWe signed with another provider last autumn and we're happy with them,\n"
           "so we'll pass. Best of luck.\n\nRachel\n\nRachel Amos | Site Manager | Oakridge Cold Storage")
    pairs = [("From:", "Marcus Oyelaran <marcus.oyelaran@northwind.example>"),
             ("Sent:", "Tuesday, March 4, 2025 9:03 AM"),
             ("To:", "Rachel Amos <ramos@oakridgecold.example>"),
             ("Subject:", "Following up")]
    reply("en29-html-only-not-interested", frm=("Rachel Amos", "ramos@oakridgecold.example"),
          to=(MARCUS[0], reply_addr(t)), subject="RE: Following up",
          date="Tue, 4 Mar 2025 14:36:52 +0000", client="outlook", irt_seed="en29",
          body=html(outlook_html(new, pairs, orig)), lang="en", cls="not-interested", actions=[],
          note="HTML-only Outlook desktop body (border-top header block, no blockquote).")

    # EN30 unsubscribe-company, all addresses at the domain, QP
    t = hid("tok", "en30", n=10)
    orig = pitch_en("team", "Harrowgate Cold Stores", "Harrogate", t)
    new = ("Hello,\n\nPlease remove all @harrowgatecold.example addresses from your mailing lists.\n"
           "We have had several complaints from staff about these emails. Nobody at\n"
           "Harrowgate wishes to be contacted by Northwind.\n\n"
           "Regards,\nIT Service Desk\nHarrowgate Cold Stores Ltd \u2013 ext. 4400")
    reply("en30-all-addresses-domain", frm=("IT Service Desk", "it-servicedesk@harrowgatecold.example"),
          to=(MARCUS[0], reply_addr(t)), subject="Re: Temperature excursions at Harrowgate Cold Stores",
          date="Wed, 5 Mar 2025 08:20:00 +0000", client="plain", irt_seed="en30",
          body=text(new + "\n\n-----Original Message-----\nFrom: Marcus Oyelaran\nSent: 05 March 2025 07:58\n\n" + q(orig) + "\n", cte="quoted-printable"),
          lang="en", cls="unsubscribe-company",
          actions=[S("it-servicedesk@harrowgatecold.example", "unsubscribe"),
                   S("@harrowgatecold.example", "unsubscribe")],
          note="Role mailbox asks for the whole domain to be removed; QP with an en dash.")

    # EN31 subject-only 'Remove me', body only an iPhone footer
    t = hid("tok", "en31", n=10)
    reply("en31-subject-remove-me-iphone", frm=("Gail Somers", "gail.somers@icloud.com"),
          to=(MARCUS[0], reply_addr(t)), subject="Remove me",
          date="Fri, 7 Mar 2025 06:02:12 -0800", client="iphone", irt_seed="en31",
          body=text("\n\nSent from my iPhone\n", cte="7bit"),
          lang="en", cls="unsubscribe", actions=[S("gail.somers@icloud.com", "unsubscribe")],
          note="Subject-only opt-out; body is just the iPhone footer.")


# ======================================================================
# French replies
# ======================================================================

def fr_pairs(rep, sent, to, subject):
    return [("De :", "%s <%s>" % rep), ("Envoyé :", sent), ("À :", to), ("Objet :", subject)]


def replies_fr():
    L1 = "iso-8859-1"

    # FR01 unsubscribe, Thunderbird, ISO-8859-1 quoted-printable
    t = hid("tok", "fr01", n=10)
    orig = pitch_fr("Hélène", "la Fromagerie Vasseur", "Arras", t)
    new = ("Bonjour,\n\nMerci de me retirer de votre liste de diffusion.\n\nCordialement,\n\n"
           "-- \nHélène Vasseur\nFromagerie Vasseur - Affinage & vente en gros\n03 21 55 42 10")
    plain = new + "\n\nLe 03/03/2025 à 10:12, Claire Dubreuil a écrit :\n" + q(orig) + "\n"
    reply("fr01-retirer-liste-latin1", frm=("Hélène Vasseur", "helene.vasseur@fromagerie-vasseur.example"),
          to=(CLAIRE[0], reply_addr(t)), subject="Re: Vos chambres froides à Arras",
          date="Mon, 3 Mar 2025 11:47:02 +0100", client="thunderbird", irt_seed="fr01",
          body=text(plain, charset=L1, cte="quoted-printable", params="; format=flowed"),
          lang="fr", cls="unsubscribe", actions=[S("helene.vasseur@fromagerie-vasseur.example", "unsubscribe")],
          note="ISO-8859-1 QP, Thunderbird 'Le ... a écrit :' attribution.", hcharset=L1)

    # FR02 unsubscribe, no accents, iPhone
    t = hid("tok", "fr02", n=10)
    orig = relance_fr("Jean-Pierre", t)
    new = "desinscrivez moi svp\n\nEnvoyé de mon iPhone"
    attr = "Le 4 mars 2025 à 09:30, Romain Teyssier <romain.teyssier@northwind.example> a écrit :"
    plain = new + "\n\n> " + attr + "\n> \n" + q(orig) + "\n"
    reply("fr02-desinscrivez-moi-iphone", frm=("Jean-Pierre Lagarde", "jp.lagarde@orange.fr"),
          to=(ROMAIN[0], reply_addr(t)), subject="Re: Suite à mon précédent message",
          date="Tue, 4 Mar 2025 12:03:55 +0100", client="iphone", irt_seed="fr02",
          body=text(plain), lang="fr", cls="unsubscribe",
          actions=[S("jp.lagarde@orange.fr", "unsubscribe")],
          note="'desinscrivez moi svp' without accents; Apple quote header in French.")

    # FR03 subject-only 'désinscription', empty body
    t = hid("tok", "fr03", n=10)
    reply("fr03-subject-desinscription-empty", frm=(None, "contact@gite-les-tilleuls.example"),
          to=(NEWS_FR[0], reply_addr(t)), subject="désinscription",
          date="Thu, 6 Mar 2025 22:10:31 +0100", client="roundcube", irt_seed="fr03",
          body=text("", charset=L1, cte="7bit"), lang="fr", cls="unsubscribe",
          actions=[S("contact@gite-les-tilleuls.example", "unsubscribe")],
          note="Subject-only opt-out (RFC 2047 ISO-8859-1 subject), empty body.", hcharset=L1)

    # FR04 subject-only STOP, body only a signature
    t = hid("tok", "fr04", n=10)
    reply("fr04-subject-stop-signature", frm=("Jean-Marc Pelletier", "jm.pelletier@garage-pelletier.example"),
          to=(CLAIRE[0], reply_addr(t)), subject="STOP",
          date="Wed, 5 Mar 2025 08:14:40 +0100", client="outlook", irt_seed="fr04",
          body=text("\nCordialement,\n\nJean-Marc Pelletier\nGérant \u2013 Garage Pelletier\n"
                    "ZA des Landes, 44470 Carquefou\n02 40 12 34 56\n"),
          lang="fr", cls="unsubscribe", actions=[S("jm.pelletier@garage-pelletier.example", "unsubscribe")],
          note="Subject 'STOP', body holds only a sign-off and signature.")

    # FR05 unsubscribe; quoted 'À :' shows another address of the same person
    t = hid("tok", "fr05", n=10)
    orig = pitch_fr("Mathilde", "Boulangeries Lefèvre", "Rennes", t)
    new = ("Bonjour,\n\nJe ne souhaite plus recevoir vos mails, merci d'en prendre note.\n\n"
           "Mathilde Lefèvre\nAssistante de direction\nBoulangeries Lefèvre \u2013 02 99 30 11 45")
    pairs = fr_pairs(CLAIRE, "lundi 3 mars 2025 10:12",
                     "Mathilde Lefevre <m.lefevre@boulangeries-lefevre.example>",
                     "Vos chambres froides à Rennes")
    reply("fr05-meme-personne-autre-adresse",
          frm=("Mathilde Lefèvre", "mathilde.lefevre@boulangeries-lefevre.example"),
          to=(CLAIRE[0], reply_addr(t)), subject="RE : Vos chambres froides à Rennes",
          date="Mon, 3 Mar 2025 14:22:09 +0100", client="outlook", irt_seed="fr05",
          body=alt(text(outlook_plain(new, pairs, orig)),
                   html(outlook_html(new, pairs, orig, "fr")), mkb("fr05", "outlook")),
          lang="fr", cls="unsubscribe",
          actions=[S("mathilde.lefevre@boulangeries-lefevre.example", "unsubscribe"),
                   S("m.lefevre@boulangeries-lefevre.example", "unsubscribe")],
          note="Outlook 'De : / Envoyé : / À : / Objet :' block; reply from mathilde.lefevre@ while quoted À: is m.lefevre@ (same person).")

    # FR06 unsubscribe; text names 'mon adresse pro'
    t = hid("tok", "fr06", n=10)
    orig = pitch_fr("Stéphane", "le Cabinet Garnier", "Vannes", t)
    new = ("Bonjour,\n\nVous écrivez depuis plusieurs semaines sur mon adresse pro\n"
           "(s.garnier@cabinet-garnier-compta.example), qui est redirigée ici. Je ne suis\n"
           "pas concerné par vos produits, merci d'arrêter vos envois.\n\nS. Garnier")
    plain = (new + "\n\n> Message du 03/03/25 10:12\n> De : \"Claire Dubreuil\" <claire.dubreuil@northwind.example>\n"
             "> A : s.garnier@cabinet-garnier-compta.example\n> Copie à : \n> Objet : Vos chambres froides à Vannes\n>\n"
             + q(orig) + "\n")
    reply("fr06-adresse-pro-dans-le-texte", frm=("Stéphane Garnier", "sgarnier56@orange.fr"),
          to=(CLAIRE[0], reply_addr(t)), subject="Re: Vos chambres froides à Vannes",
          date="Wed, 5 Mar 2025 18:40:12 +0100 (CET)", client="plain", irt_seed="fr06",
          body=text(plain, cte="quoted-printable"), lang="fr", cls="unsubscribe",
          actions=[S("sgarnier56@orange.fr", "unsubscribe"),
                   S("s.garnier@cabinet-garnier-compta.example", "unsubscribe")],
          note="Orange webmail style quote; text names the professional address that was mailed: suppress both.")

    # FR07 unsubscribe-company, company domain
    t = hid("tok", "fr07", n=10)
    orig = relance_fr("Patrice", t)
    new = ("Bonjour,\n\nMerci de ne plus contacter personne chez Tissages Roux. Vous avez écrit\n"
           "à au moins quatre de mes collaborateurs cette semaine, ça suffit.\n\n"
           "P. Roux\nPDG \u2013 Tissages Roux SA")
    pairs = fr_pairs(ROMAIN, "mardi 4 mars 2025 09:30",
                     "Patrice Roux <p.roux@tissages-roux.example>", "Suite à mon précédent message")
    reply("fr07-personne-chez-nous", frm=("Patrice Roux", "p.roux@tissages-roux.example"),
          to=(ROMAIN[0], reply_addr(t)), subject="RE : Suite à mon précédent message",
          date="Tue, 4 Mar 2025 17:02:44 +0100", client="outlook", irt_seed="fr07",
          body=alt(text(outlook_plain(new, pairs, orig)),
                   html(outlook_html(new, pairs, orig, "fr")), mkb("fr07", "outlook")),
          lang="fr", cls="unsubscribe-company",
          actions=[S("p.roux@tissages-roux.example", "unsubscribe"),
                   S("@tissages-roux.example", "unsubscribe")],
          note="'ne plus contacter personne chez ...' on the company domain.")

    # FR08 unsubscribe-company from free.fr -> review the domain
    t = hid("tok", "fr08", n=10)
    orig = pitch_fr("Monsieur Da Costa", "la Menuiserie Da Costa", "Angers", t)
    new = ("Ne contactez plus personne de notre société svp, ni moi ni mes employés.\n"
           "Nous sommes menuisiers, pas traiteurs.\n\nA. Da Costa\nMenuiserie Da Costa")
    plain = new + "\n\nLe 2025-03-03 10:12, Claire Dubreuil a écrit :\n" + q(orig) + "\n"
    reply("fr08-societe-free-fr", frm=("Menuiserie Da Costa", "menuiserie.dacosta@free.fr"),
          to=(CLAIRE[0], reply_addr(t)), subject="Re: Vos chambres froides à Angers",
          date="Mon, 3 Mar 2025 19:15:27 +0100", client="roundcube", irt_seed="fr08",
          body=text(plain, params="; format=flowed"), lang="fr", cls="unsubscribe-company",
          actions=[S("menuiserie.dacosta@free.fr", "unsubscribe"), R("@free.fr", "unsubscribe")],
          note="Company-wide stop from a free.fr address: domain action is review.")

    # FR09 legal, formal RGPD article 17, ISO-8859-1 8bit
    t = hid("tok", "fr09", n=10)
    orig = newsletter_fr(t)
    new = ("Madame, Monsieur,\n\n"
           "Conformément à l'article 17 du Règlement général sur la protection des\n"
           "données (RGPD), je vous demande l'effacement de l'ensemble des données\n"
           "personnelles me concernant figurant dans vos fichiers, ainsi que la\n"
           "communication de la source de ces données.\n\n"
           "Je vous remercie de me confirmer cet effacement dans le délai d'un mois\n"
           "prévu à l'article 12 du règlement.\n\n"
           "Veuillez agréer, Madame, Monsieur, mes salutations distinguées.\n\nAnnick Morvan")
    plain = new + "\n\nLe 06/03/2025 à 07:00, La lettre Northwind a écrit :\n" + q(orig) + "\n"
    reply("fr09-rgpd-article-17-latin1", frm=("Annick Morvan", "annick.morvan@wanadoo.fr"),
          to=(NEWS_FR[0], reply_addr(t)), subject="Demande d'effacement - article 17 RGPD",
          date="Thu, 6 Mar 2025 09:31:48 +0100", client="thunderbird", irt_seed="fr09",
          body=text(plain, charset=L1, cte="8bit"), lang="fr", cls="legal",
          actions=[S("annick.morvan@wanadoo.fr", "legal")],
          note="Formal RGPD art. 17 erasure request, ISO-8859-1 8bit.", hcharset=L1)

    # FR10 legal, angry, CNIL threat, Gmail Android
    t = hid("tok", "fr10", n=10)
    orig = salon_fr("Lucas", t)
    new = ("D'où tenez-vous mon adresse ??? Je n'ai jamais donné mon accord.\n"
           "Supprimez mes données personnelles immédiatement, sinon je porte plainte\n"
           "auprès de la CNIL.")
    attr = gm_attr_fr("mer. 5 mars 2025", "08:45", CLAIRE)
    p, hh = gmail_reply_body(new, attr, orig)
    reply("fr10-cnil-supprimez-mes-donnees", frm=("Lucas Ferrand", "lucas.ferrand@gmail.com"),
          to=(CLAIRE[0], reply_addr(t)), subject="Re: Serbotel Nantes - stand B42",
          date="Wed, 5 Mar 2025 09:12:33 +0100", client="gmail-android", irt_seed="fr10",
          body=alt(text(p), html(hh), gmb("fr10")), lang="fr", cls="legal",
          actions=[S("lucas.ferrand@gmail.com", "legal")],
          note="'Supprimez mes données personnelles' + CNIL complaint threat.")

    # FR11 legal, HTML-only Outlook, base64
    t = hid("tok", "fr11", n=10)
    orig = pitch_fr("Véronique", "l'Étude Baudin", "Laval", t)
    new = ("Bonjour,\n\nJe vous demande d'exercer mon droit à l'effacement (art. 17 RGPD) :\n"
           "merci de supprimer toutes les données me concernant et de me confirmer la\n"
           "suppression par retour de mail.\n\nCordialement,\n\nVéronique Baudin\n"
           "Notaire associée \u2013 Étude Baudin & associés")
    pairs = fr_pairs(CLAIRE, "lundi 3 mars 2025 10:12",
                     "Véronique Baudin <v.baudin@etude-baudin.example>", "Vos chambres froides à Laval")
    reply("fr11-html-only-effacement-b64", frm=("Véronique Baudin", "v.baudin@etude-baudin.example"),
          to=(CLAIRE[0], reply_addr(t)), subject="RE : Vos chambres froides à Laval",
          date="Tue, 4 Mar 2025 10:05:17 +0100", client="outlook", irt_seed="fr11",
          body=html(outlook_html(new, pairs, orig, "fr"), cte="base64"),
          lang="fr", cls="legal", actions=[S("v.baudin@etude-baudin.example", "legal")],
          note="HTML-only Outlook body, base64; 'droit à l'effacement (art. 17 RGPD)'.")

    # FR12 not-interested, ISO-8859-1 8bit
    t = hid("tok", "fr12", n=10)
    orig = pitch_fr("Laurent", "la Cave Mercier", "Saumur", t)
    new = ("Bonjour Claire,\n\nMerci pour votre message mais ça ne nous intéresse pas, nous sommes\n"
           "déjà équipés depuis l'an dernier.\n\nBonne journée\nLaurent Mercier")
    plain = new + "\n\nLe 03/03/2025 à 10:12, Claire Dubreuil a écrit :\n" + q(orig) + "\n"
    reply("fr12-pas-interesse-latin1", frm=("Laurent Mercier", "laurent@cave-mercier.example"),
          to=(CLAIRE[0], reply_addr(t)), subject="Re: Vos chambres froides à Saumur",
          date="Mon, 3 Mar 2025 16:58:20 +0100", client="thunderbird", irt_seed="fr12",
          body=text(plain, charset=L1, cte="8bit"), lang="fr", cls="not-interested", actions=[],
          note="Polite no, ISO-8859-1 8bit; quoted footer has 'Désinscription'.", hcharset=L1)

    # FR13 not-interested: pas pour le moment, peut-être l'année prochaine
    t = hid("tok", "fr13", n=10)
    orig = relance_fr("Isabelle", t)
    new = ("Bonjour,\n\nPas pour le moment, peut-être l'année prochaine. Revenez vers moi en\n"
           "janvier si vous voulez.\n\nIsabelle Quéré\nResponsable qualité \u2013 Conserverie Quéré")
    attr = gm_attr_fr("mar. 4 mars 2025", "09:30", ROMAIN)
    p, hh = gmail_reply_body(new, attr, orig)
    reply("fr13-pas-maintenant-annee-prochaine", frm=("Isabelle Quéré", "isabelle@conserverie-quere.example"),
          to=(ROMAIN[0], reply_addr(t)), subject="Re: Suite à mon précédent message",
          date="Tue, 4 Mar 2025 14:41:06 +0100", client="gmail", irt_seed="fr13",
          body=alt(text(p), html(hh), gmb("fr13")), lang="fr", cls="not-interested", actions=[],
          note="Trap: 'pas pour le moment, peut-être l'année prochaine' is not a stop.")

    # FR14 positive; quoted pitch footer has 'Désinscription'
    t = hid("tok", "fr14", n=10)
    orig = pitch_fr("Sophie", "la Crêperie Tanguy", "Quimper", t)
    new = ("Ok pour un appel jeudi 14h. Appelez-moi plutôt sur le portable :\n06 98 76 54 32\n\n"
           "Sophie")
    attr = gm_attr_fr("lun. 3 mars 2025", "10:12", CLAIRE)
    p, hh = gmail_reply_body(new, attr, orig)
    reply("fr14-ok-appel-footer-desinscription", frm=("Sophie Tanguy", "sophie.tanguy@creperie-tanguy.example"),
          to=(CLAIRE[0], reply_addr(t)), subject="Re: Vos chambres froides à Quimper",
          date="Mon, 3 Mar 2025 12:20:51 +0100", client="gmail", irt_seed="fr14",
          body=alt(text(p), html(hh), gmb("fr14")), lang="fr", cls="positive", actions=[],
          note="Trap: 'Désinscription' only in the quoted sales footer.")

    # FR15 positive, HTML-only Gmail, QP
    t = hid("tok", "fr15", n=10)
    orig = pitch_fr("Karim", "Traiteur Haddad", "Tours", t)
    new = ("Bonjour Claire,\n\nOui ça m'intéresse. Vous pouvez m'envoyer une proposition pour\n"
           "3 chambres froides + 1 cellule de refroidissement ?\n\nMerci\nKarim")
    attr = gm_attr_fr("lun. 3 mars 2025", "10:12", CLAIRE)
    reply("fr15-html-only-gmail-oui", frm=("Karim Haddad", "karim@traiteur-haddad.example"),
          to=(CLAIRE[0], reply_addr(t)), subject="Re: Vos chambres froides à Tours",
          date="Mon, 3 Mar 2025 21:07:44 +0100", client="gmail", irt_seed="fr15",
          body=html(gmail_html(new, gm_attr_html(attr), orig)),
          lang="fr", cls="positive", actions=[],
          note="HTML-only Gmail (gmail_quote), QP; the quote carries the Désinscription footer.")

    # FR16 positive; "On n'arrête pas d'en parler" + campaign subject 'Arrêtez ...'
    t = hid("tok", "fr16", n=10)
    orig = pitch_fr("Élodie", "la Biscuiterie Caradec", "Lorient", t)
    new = ("Bonjour Claire,\n\nOn n'arrête pas d'en parler au bureau depuis votre démo à Rennes !\n"
           "On peut caler un rendez-vous sur site la semaine du 17 ?\n\nÉlodie Caradec\n"
           "Directrice de production")
    attr = "Le 3 mars 2025 à 10:12, Claire Dubreuil <claire.dubreuil@northwind.example> a écrit :"
    plain = new + "\n\n" + attr + "\n\n" + q(orig) + "\n"
    reply("fr16-on-narrete-pas", frm=("Élodie Caradec", "e.caradec@biscuiterie-caradec.example"),
          to=(CLAIRE[0], reply_addr(t)), subject="Re: Arrêtez de perdre vos stocks",
          date="Wed, 5 Mar 2025 08:33:10 +0100", client="applemail", irt_seed="fr16",
          body=alt(text(plain), html(apple_html(new, attr, orig)), mkb("fr16")),
          lang="fr", cls="positive", actions=[],
          note="Traps: 'on n'arrête pas' and campaign subject 'Arrêtez de perdre vos stocks'.")

    # FR17 positive: "surtout n'arrêtez pas de m'envoyer votre lettre"
    t = hid("tok", "fr17", n=10)
    orig = newsletter_fr(t)
    new = ("Surtout n'arrêtez pas de m'envoyer votre lettre, elle est top.\n"
           "Petite question : le webinaire du 18 sera-t-il rediffusé ?\n\nBruno Leroux")
    plain = new + "\n\n----- Mail d'origine -----\nDe: La lettre Northwind <lettre@northwind-mail.example>\n" \
        "À: b.leroux@sfr.fr\nEnvoyé: Jeudi 6 Mars 2025 07:00:00\nObjet: La lettre Northwind - mars 2025\n\n" \
        + orig + "\n"
    reply("fr17-narretez-pas-la-lettre", frm=("Bruno Leroux", "b.leroux@sfr.fr"),
          to=(NEWS_FR[0], reply_addr(t)), subject="Re: La lettre Northwind - mars 2025",
          date="Thu, 6 Mar 2025 10:02:27 +0100 (CET)", client="plain", irt_seed="fr17",
          body=text(plain, cte="8bit"), lang="fr", cls="positive", actions=[],
          note="Trap: negated stop ('n'arrêtez pas de m'envoyer'); Zimbra-style '----- Mail d'origine -----'; 8bit UTF-8.")

    # FR18 positive: non-stop
    t = hid("tok", "fr18", n=10)
    orig = salon_fr("Thierry", t)
    new = ("Salut Claire,\nOn bosse non-stop sur le salon en ce moment, mais rappelez-moi la\n"
           "semaine prochaine, ça m'intéresse vraiment.\nThierry\n\n"
           "Thierry Gomes \u2013 Gomes Marée \u2013 06 22 18 40 03")
    attr = gm_attr_fr("mer. 5 mars 2025", "08:45", CLAIRE)
    p, hh = gmail_reply_body(new, attr, orig)
    reply("fr18-non-stop-rappelez-moi", frm=("Thierry Gomes", "thierry@gomes-maree.example"),
          to=(CLAIRE[0], reply_addr(t)), subject="Re: Serbotel Nantes - stand B42",
          date="Wed, 5 Mar 2025 23:16:02 +0100", client="gmail", irt_seed="fr18",
          body=alt(text(p), html(hh), gmb("fr18")), lang="fr", cls="positive", actions=[],
          note="Trap: 'non-stop'.")

    # FR19 redirect to a colleague
    t = hid("tok", "fr19", n=10)
    orig = relance_fr("Gilles", t)
    new = ("Bonjour,\n\nJe ne m'occupe plus de ce dossier depuis janvier. Contactez ma collègue\n"
           "Nadia Benali : n.benali@transports-giraud.example\n\nBonne journée\nGilles Perrin")
    pairs = fr_pairs(ROMAIN, "mardi 4 mars 2025 09:30",
                     "Gilles Perrin <g.perrin@transports-giraud.example>", "Suite à mon précédent message")
    reply("fr19-redirection-collegue", frm=("Gilles Perrin", "g.perrin@transports-giraud.example"),
          to=(ROMAIN[0], reply_addr(t)), subject="RE : Suite à mon précédent message",
          date="Tue, 4 Mar 2025 11:12:49 +0100", client="outlook", irt_seed="fr19",
          body=alt(text(outlook_plain(new, pairs, orig)),
                   html(outlook_html(new, pairs, orig, "fr")), mkb("fr19", "outlook")),
          lang="fr", cls="redirect", actions=[], note="Redirect to a colleague.")

    # FR20 redirect to the purchasing department
    t = hid("tok", "fr20", n=10)
    orig = pitch_fr("Docteur", "la Clinique Saint-Roch", "Cholet", t)
    new = ("Adressez-vous plutôt au service achats : achats@clinique-saint-roch.example,\n"
           "c'est eux qui gèrent les équipements de la pharmacie.\n\n"
           "Dr M. Lebrun\nPharmacien gérant")
    plain = new + "\n\n" + gm_attr_fr("lun. 3 mars 2025", "10:12", CLAIRE) + "\n\n" + q(orig) + "\n"
    reply("fr20-service-achats", frm=("Dr Marc Lebrun", "m.lebrun@clinique-saint-roch.example"),
          to=(CLAIRE[0], reply_addr(t)), subject="Re: Vos chambres froides à Cholet",
          date="Mon, 3 Mar 2025 13:30:00 +0100", client="gmail", irt_seed="fr20",
          body=text(plain), lang="fr", cls="redirect", actions=[],
          note="Redirect to a purchasing mailbox; text/plain only.")

    # FR21 unclear, "Je dois me désabonner ?" -> review
    t = hid("tok", "fr21", n=10)
    orig = newsletter_fr(t)
    new = "Je dois me désabonner ? je comprends pas pourquoi je reçois ça\n\nEnvoyé de mon iPhone"
    plain = (new + "\n\n> Le 6 mars 2025 à 07:00, La lettre Northwind <lettre@northwind-mail.example> a écrit :\n>\n"
             + q(orig) + "\n")
    reply("fr21-dois-je-me-desabonner", frm=("Nathalie Roussel", "nath.roussel@hotmail.fr"),
          to=(NEWS_FR[0], reply_addr(t)), subject="Re: La lettre Northwind - mars 2025",
          date="Thu, 6 Mar 2025 19:48:13 +0100", client="iphone", irt_seed="fr21",
          body=text(plain), lang="fr", cls="unclear",
          actions=[R("nath.roussel@hotmail.fr", "unsubscribe")],
          note="Question about unsubscribing, not a request -> review.")

    # FR22 unclear, "Peut-être arrêter pour l'instant ?" -> review
    t = hid("tok", "fr22", n=10)
    orig = relance_fr("Fabrice", t)
    new = ("Bonjour Romain\nPeut-être arrêter pour l'instant ? je sais pas trop, on a des travaux\n"
           "jusqu'en mai. Je vous redis.\nFabrice")
    attr = gm_attr_fr("mar. 4 mars 2025", "09:30", ROMAIN)
    p, hh = gmail_reply_body(new, attr, orig)
    reply("fr22-peut-etre-arreter", frm=("Fabrice Olivier", "fabrice.olivier@laiterie-olivier.example"),
          to=(ROMAIN[0], reply_addr(t)), subject="Re: Suite à mon précédent message",
          date="Tue, 4 Mar 2025 18:27:35 +0100", client="gmail", irt_seed="fr22",
          body=alt(text(p), html(hh), gmb("fr22")), lang="fr", cls="unclear",
          actions=[R("fabrice.olivier@laiterie-olivier.example", "unsubscribe")],
          note="Hesitant stop ('peut-être arrêter ? je sais pas trop') -> review.")

    # FR23 unclear, "C'est à quel sujet ?"
    t = hid("tok", "fr23", n=10)
    orig = pitch_fr("Yannick", "l'Épicerie du Port", "Concarneau", t)
    new = "C'est à quel sujet ?\n\nEnvoyé de mon iPhone"
    plain = (new + "\n\n> Le 3 mars 2025 à 10:12, Claire Dubreuil <claire.dubreuil@northwind.example> a écrit :\n>\n"
             + q(orig) + "\n")
    reply("fr23-a-quel-sujet", frm=("Yannick Le Goff", "yannick.legoff@epicerie-du-port.example"),
          to=(CLAIRE[0], reply_addr(t)), subject="Re: Vos chambres froides à Concarneau",
          date="Mon, 3 Mar 2025 18:02:11 +0100", client="iphone", irt_seed="fr23",
          body=text(plain), lang="fr", cls="unclear", actions=[], note="Short question, no stop wording.")

    # FR24 unclear, thinks it's an invoice
    t = hid("tok", "fr24", n=10)
    orig = relance_fr("Corinne", t)
    new = ("Bonjour,\n\nJe ne comprends pas, c'est au sujet de la facture de février ? Je l'ai\n"
           "transmise à la compta.\n\nCorinne Vidal\nSecrétariat \u2013 Vidal Primeurs")
    pairs = fr_pairs(ROMAIN, "mardi 4 mars 2025 09:30",
                     "Corinne Vidal <secretariat@vidal-primeurs.example>", "Suite à mon précédent message")
    reply("fr24-facture-fevrier", frm=("Corinne Vidal", "secretariat@vidal-primeurs.example"),
          to=(ROMAIN[0], reply_addr(t)), subject="RE : Suite à mon précédent message",
          date="Tue, 4 Mar 2025 10:44:21 +0100", client="outlook", irt_seed="fr24",
          body=text(outlook_plain(new, pairs, orig)), lang="fr", cls="unclear", actions=[],
          note="Confused reply; no stop wording.")

    # FR25 unsubscribe, bottom-posted
    t = hid("tok", "fr25", n=10)
    orig = pitch_fr("Gérard", "la Charcuterie Bescond", "Brest", t)
    plain = ("Le 03/03/2025 à 10:12, Claire Dubreuil a écrit :\n" + q(orig) + "\n\n"
             "Stop. Retirez-moi de vos listes svp.\n\nG. Bescond\n")
    reply("fr25-bas-de-message", frm=("Gérard Bescond", "gerard.bescond@charcuterie-bescond.example"),
          to=(CLAIRE[0], reply_addr(t)), subject="Re: Vos chambres froides à Brest",
          date="Mon, 3 Mar 2025 10:58:43 +0100", client="thunderbird", irt_seed="fr25",
          body=text(plain, charset=L1, cte="quoted-printable"), lang="fr", cls="unsubscribe",
          actions=[S("gerard.bescond@charcuterie-bescond.example", "unsubscribe")],
          note="Bottom-posted stop request after the quote; ISO-8859-1 QP.", hcharset=L1)

    # FR26 unsubscribe, iPad, Apple quote in French, HTML alternative
    t = hid("tok", "fr26", n=10)
    orig = pitch_fr("Anne", "les Vergers Le Bihan", "Morlaix", t)
    new = "Merci de ne plus m'écrire.\n\nEnvoyé de mon iPad"
    attr = "Le 3 mars 2025 à 10:12, Claire Dubreuil <claire.dubreuil@northwind.example> a écrit :"
    plain = new + "\n\n> " + attr + "\n> \n" + q(orig) + "\n"
    reply("fr26-ne-plus-mecrire-ipad", frm=("Anne Le Bihan", "anne.lebihan@icloud.com"),
          to=(CLAIRE[0], reply_addr(t)), subject="Re: Vos chambres froides à Morlaix",
          date="Tue, 4 Mar 2025 07:12:39 +0100", client="ipad", irt_seed="fr26",
          body=alt(text(plain), html(apple_html(new, attr, orig)), mkb("fr26")),
          lang="fr", cls="unsubscribe", actions=[S("anne.lebihan@icloud.com", "unsubscribe")],
          note="Apple Mail blockquote type=cite; 'merci de ne plus m'écrire'.")

    # FR27 unsubscribe-company, all @domain addresses
    t = hid("tok", "fr27", n=10)
    orig = salon_fr("Madame, Monsieur", t)
    new = ("Bonjour,\n\nVeuillez retirer toutes les adresses @bati-morel.example de vos listes\n"
           "d'envoi. Personne chez nous ne souhaite être démarché.\n\n"
           "La direction\nBâti Morel SARL")
    attr = gm_attr_fr("mer. 5 mars 2025", "08:45", CLAIRE)
    p, hh = gmail_reply_body(new, attr, orig)
    reply("fr27-toutes-les-adresses", frm=("Direction Bâti Morel", "direction@bati-morel.example"),
          to=(CLAIRE[0], reply_addr(t)), subject="Re: Serbotel Nantes - stand B42",
          date="Wed, 5 Mar 2025 09:58:00 +0100", client="gmail", irt_seed="fr27",
          body=alt(text(p), html(hh), gmb("fr27")), lang="fr", cls="unsubscribe-company",
          actions=[S("direction@bati-morel.example", "unsubscribe"),
                   S("@bati-morel.example", "unsubscribe")],
          note="All addresses of the company domain.")

    # FR28 not-interested, HTML-only Outlook, QP
    t = hid("tok", "fr28", n=10)
    orig = relance_fr("Olivier", t)
    new = ("Bonjour,\n\nNous avons déjà un prestataire pour ce type de matériel, merci.\n\n"
           "Cordialement,\nOlivier Jaouen\nResponsable maintenance \u2013 Abattoirs du Léon")
    pairs = fr_pairs(ROMAIN, "mardi 4 mars 2025 09:30",
                     "Olivier Jaouen <o.jaouen@abattoirs-du-leon.example>", "Suite à mon précédent message")
    reply("fr28-html-only-deja-prestataire", frm=("Olivier Jaouen", "o.jaouen@abattoirs-du-leon.example"),
          to=(ROMAIN[0], reply_addr(t)), subject="RE : Suite à mon précédent message",
          date="Wed, 5 Mar 2025 15:20:18 +0100", client="outlook", irt_seed="fr28",
          body=html(outlook_html(new, pairs, orig, "fr")), lang="fr", cls="not-interested", actions=[],
          note="HTML-only Outlook, QP.")

    # FR29 not-interested, "non merci", Samsung
    t = hid("tok", "fr29", n=10)
    orig = salon_fr("Agnès", t)
    new = "non merci\n\n\n\nEnvoyé de mon Galaxy"
    plain = (new + "\n\n\n-------- Message d'origine --------\nDe : Claire Dubreuil "
             "<claire.dubreuil@northwind.example> \nDate : 05/03/2025 08:45 (GMT+01:00) \n"
             "À : a.chevalier@fromages-chevalier.example \nObjet : Serbotel Nantes - stand B42 \n\n" + orig + "\n")
    reply("fr29-non-merci-galaxy", frm=("Agnès Chevalier", "a.chevalier@fromages-chevalier.example"),
          to=(CLAIRE[0], reply_addr(t)), subject="RE: Serbotel Nantes - stand B42",
          date="Wed, 5 Mar 2025 12:01:55 +0100", client="plain", irt_seed="fr29",
          body=text(plain, cte="base64"), lang="fr", cls="not-interested", actions=[],
          note="'non merci' from Samsung mail, base64 text/plain.")

    # FR30 unsubscribe, typos, no accents
    t = hid("tok", "fr30", n=10)
    orig = newsletter_fr(t)
    new = "arretez de m envoyer vos pubs svp. merci\n\nDédé"
    plain = new + "\n\n" + gm_attr_fr("jeu. 6 mars 2025", "07:00", NEWS_FR) + "\n\n" + q(orig) + "\n"
    reply("fr30-arretez-pubs-laposte", frm=("Andre Martin", "dede.martin@laposte.net"),
          to=(NEWS_FR[0], reply_addr(t)), subject="Re: La lettre Northwind - mars 2025",
          date="Fri, 7 Mar 2025 08:40:05 +0100", client="plain", irt_seed="fr30",
          body=text(plain, charset=L1, cte="quoted-printable"), lang="fr", cls="unsubscribe",
          actions=[S("dede.martin@laposte.net", "unsubscribe")],
          note="Typos, no accents ('arretez de m envoyer'); ISO-8859-1 QP.", hcharset=L1)


# ======================================================================
# Auto-replies (all: kind auto-reply, actions [])
# ======================================================================

def autoreply(rel, *, frm, to, subject, date, body, lang, note, extra=(),
              irt_seed=None, hcharset="utf-8", return_path=None):
    fname, faddr = frm
    dom = faddr.rsplit("@", 1)[1]
    host, ip = sender_host(faddr)
    rp = faddr if return_path is None else return_path
    hdrs = [
        ("Return-Path", "<%s>" % rp),
        ("Received", "from %s (%s [%s])\n\tby mx2.fb.northwind.example (Postfix) with ESMTPS id 4Z%s\n"
         "\tfor <%s>; %s" % (host, host, ip, hid("q", rel, n=11).upper(), to[1], date)),
        ("From", a(fname, faddr, hcharset)),
        ("To", a(*to, charset=hcharset)),
        ("Subject", h(subject, hcharset)),
        ("Date", date),
        ("Message-ID", "<%s@%s>" % (hid("mid", rel, n=24), dom)),
    ]
    if irt_seed:
        hdrs += [("In-Reply-To", nw_msgid(irt_seed)), ("References", nw_msgid(irt_seed))]
    hdrs += list(extra)
    emit("auto/%s.eml" % rel, render_message(hdrs, body), "auto-reply", None, [], lang, note)


def autos():
    # AU01 Exchange OOF, English, Auto-Submitted
    t = hid("tok", "au01", n=10)
    txt = ("Thank you for your email. I am out of the office until Monday 10 March with\n"
           "limited access to email. For anything urgent please contact the operations\n"
           "desk on 0113 496 0300 or ops@brayfield-logistics.example.\n\n"
           "Kind regards,\nSimon Ashworth\nBrayfield Logistics")
    autoreply("au01-exchange-oof-en", frm=("Simon Ashworth", "s.ashworth@brayfield-logistics.example"),
              to=(MARCUS[0], reply_addr(t)), subject="Automatic reply: Temperature excursions at Brayfield Logistics",
              date="Mon, 3 Mar 2025 10:12:31 +0000", irt_seed="au01",
              extra=[("Thread-Topic", "Temperature excursions at Brayfield Logistics"),
                     ("Auto-Submitted", "auto-replied"), ("X-Auto-Response-Suppress", "All"),
                     ("X-MS-Exchange-Inbox-Rules-Loop", "s.ashworth@brayfield-logistics.example"),
                     ("Content-Language", "en-GB")],
              body=alt(text(txt), html("<html><head></head><body><div>%s</div></body></html>\n" % html_lines(txt)),
                       mkb("au01", "outlook")),
              lang="en", note="Exchange 'Automatic reply:' with Auto-Submitted: auto-replied.")

    # AU02 Exchange OOF, French, ISO-8859-1 QP
    t = hid("tok", "au02", n=10)
    txt = ("Bonjour,\n\nJe suis absente du bureau jusqu'au vendredi 14 mars inclus.\n"
           "Pour toute demande urgente, merci de contacter Julien Hamon au\n02 97 46 12 80.\n\n"
           "Cordialement,\nMaëlle Guillou\nSalaisons Guillou")
    autoreply("au02-reponse-automatique-latin1", frm=("Maëlle Guillou", "m.guillou@salaisons-guillou.example"),
              to=(CLAIRE[0], reply_addr(t)), subject="Réponse automatique : Vos chambres froides à Pontivy",
              date="Mon, 3 Mar 2025 10:12:44 +0100", irt_seed="au02", hcharset="iso-8859-1",
              extra=[("Auto-Submitted", "auto-replied"), ("X-Auto-Response-Suppress", "All"),
                     ("Content-Language", "fr-FR")],
              body=text(txt, charset="iso-8859-1", cte="quoted-printable"),
              lang="fr", note="French Exchange OOF, ISO-8859-1 QP, Auto-Submitted: auto-replied.")

    # AU03 X-Autoreply; mailbox not monitored + 'please remove me'
    t = hid("tok", "au03", n=10)
    txt = ("This mailbox is no longer monitored.\n\n"
           "Please remove me from your distribution lists and send any future\n"
           "correspondence to accounts@greyfriars-provisions.example.\n\n"
           "Thank you,\nGreyfriars Provisions")
    autoreply("au03-x-autoreply-not-monitored", frm=("Purchasing", "purchasing@greyfriars-provisions.example"),
              to=(MARCUS[0], reply_addr(t)), subject="Re: Following up",
              date="Tue, 4 Mar 2025 09:03:20 +0000", irt_seed="au03",
              extra=[("X-Autoreply", "yes"), ("X-Mailer", "Zimbra 10.0.6_GA_4637")],
              body=text(txt), lang="en",
              note="X-Autoreply header; trap text 'please remove me' / 'no longer monitored'.")

    # AU04 X-Autorespond, "Do not reply to this message"
    t = hid("tok", "au04", n=10)
    txt = ("Thank you for contacting Pemberton Veterinary Group.\n\n"
           "This is an automated response. Do not reply to this message.\n"
           "We aim to answer all enquiries within two working days. For emergencies\n"
           "please call 01942 496 0990 (24h).\n")
    autoreply("au04-x-autorespond-do-not-reply", frm=("Pemberton Vets", "info@pembertonvets.example"),
              to=(None, bounce_addr(t)), subject="Auto: Temperature excursions at Pemberton Veterinary Group",
              date="Mon, 3 Mar 2025 10:13:02 +0000", return_path="",
              extra=[("X-Autorespond", "Temperature excursions at Pemberton Veterinary Group"),
                     ("X-Mailer", "cPanel autoresponder")],
              body=text(txt), lang="en",
              note="cPanel-style X-Autorespond header; 'Do not reply to this message'.")

    # AU05 Precedence: auto_reply, French
    t = hid("tok", "au05", n=10)
    txt = ("Merci pour votre message.\n\nJe suis en congés jusqu'au lundi 10 mars inclus et\n"
           "je traiterai votre demande à mon retour.\n\n"
           "Ceci est un message automatique, merci de ne pas y répondre.\n\n"
           "Thomas Riou\nBrasserie Riou")
    autoreply("au05-precedence-auto-reply-fr", frm=("Thomas Riou", "thomas@brasserie-riou.example"),
              to=(CLAIRE[0], reply_addr(t)), subject="Re: Arrêtez de perdre vos stocks",
              date="Wed, 5 Mar 2025 08:45:39 +0100", irt_seed="au05",
              extra=[("Precedence", "auto_reply")],
              body=text(txt), lang="fr",
              note="Precedence: auto_reply, no Auto-Submitted; subject is the 'Arrêtez' campaign subject.")

    # AU06 Precedence: bulk, helpdesk acknowledgment mentioning unsubscribe/STOP
    t = hid("tok", "au06", n=10)
    txt = ("Hello,\n\nThanks for getting in touch with Corbel Foods Customer Care. Your request\n"
           "has been logged as ticket #48211 and one of our team will reply within\n"
           "one business day.\n\n"
           "Please keep the ticket number in the subject line of any reply.\n\n"
           "To stop receiving updates about this ticket, unsubscribe here:\n"
           "https://support.corbelfoods.example/tickets/48211/unsubscribe\n\n"
           "Corbel Foods Customer Care\n")
    autoreply("au06-precedence-bulk-ticket", frm=("Corbel Foods Support", "support@corbelfoods.example"),
              to=(MARCUS[0], reply_addr(t)), subject="[#48211] Re: Temperature excursions at Corbel Foods",
              date="Mon, 3 Mar 2025 10:12:58 +0000", irt_seed="au06",
              extra=[("Precedence", "bulk"), ("X-Ticket-ID", "48211")],
              body=alt(text(txt), html("<html><body><p>%s</p></body></html>\n" % html_lines(txt)),
                       mkb("au06", "x")),
              lang="en", note="Helpdesk acknowledgment, Precedence: bulk; contains 'stop receiving' / 'unsubscribe'.")

    # AU07 Precedence: junk, classic vacation(1)
    t = hid("tok", "au07", n=10)
    txt = ("I will not be reading my mail for a while.\n"
           "Your mail concerning \"Following up\" will be read when I'm back on the 11th.\n\n"
           "-- Hamish\n")
    autoreply("au07-precedence-junk-vacation", frm=("Hamish Baird", "hamish@bairdsmokehouse.example"),
              to=(None, bounce_addr(t)), subject="away from my mail",
              date="Tue, 4 Mar 2025 09:03:41 +0000", return_path="",
              extra=[("Precedence", "junk"), ("X-Mailer", "vacation 1.2.8")],
              body=text(txt), lang="en",
              note="vacation(1) style, Precedence: junk, sent to the bounce address.")

    # AU08 no auto headers, subject 'Absence du bureau'
    t = hid("tok", "au08", n=10)
    txt = ("Bonjour,\n\nJe suis absent jusqu'au 17 mars. En cas d'urgence, contactez\n"
           "Mme Prigent au 02 98 44 12 30.\n\n"
           "Attention : cette adresse sera désactivée le 31 mars. Merci de ne plus\n"
           "m'écrire ici et de me retirer de vos listes, la nouvelle adresse vous\n"
           "sera communiquée prochainement.\n\nYves Kerjean\nKerjean Frères")
    autoreply("au08-absence-du-bureau-sans-entete", frm=("Yves Kerjean", "yves@kerjean-freres.example"),
              to=(CLAIRE[0], reply_addr(t)), subject="Absence du bureau",
              date="Mon, 3 Mar 2025 10:13:10 +0100",
              body=text(txt), lang="fr",
              note="No auto headers; subject 'Absence du bureau'; trap text 'merci de ne plus m'écrire ... me retirer de vos listes'.")

    # AU09 no auto headers, subject 'Out of Office: ...', asks to stop
    t = hid("tok", "au09", n=10)
    txt = ("Hi,\n\nI'm on parental leave until June and won't be checking email.\n\n"
           "If you're selling something, please stop emailing this address and contact\n"
           "purchasing@ridgewayfarms.example instead. For anything else, Tom Bell\n"
           "(tom.bell@ridgewayfarms.example) is covering.\n\nLaura")
    autoreply("au09-out-of-office-stop-text", frm=("Laura Penhaligon", "laura.p@ridgewayfarms.example"),
              to=(HANNAH[0], reply_addr(t)), subject="Out of Office: Re: Breakfast roundtable, Manchester 20 March",
              date="Tue, 4 Mar 2025 08:30:22 +0000", irt_seed="au09",
              body=text(txt), lang="en",
              note="No auto headers; subject 'Out of Office:'; text says 'please stop emailing this address'.")

    # AU10 Gmail vacation responder
    t = hid("tok", "au10", n=10)
    txt = ("Hi there,\n\nI'm travelling until 12 March with patchy signal and will reply when\n"
           "I'm back. If it's about an order, please ring the shop on 01225 496 0700.\n\n"
           "Thanks!\nPoppy")
    autoreply("au10-gmail-vacation", frm=("Poppy Lane", "poppy@lanesdeli.example"),
              to=(MARCUS[0], reply_addr(t)), subject="Re: Temperature excursions at Lane's Deli",
              date="Mon, 3 Mar 2025 10:14:02 +0000", irt_seed="au10",
              extra=[("Auto-Submitted", "auto-replied")],
              body=alt(text(txt), html('<div dir="ltr">%s</div>\n' % html_lines(txt)), gmb("au10")),
              lang="en", note="Google Workspace vacation responder (Auto-Submitted, subject is just 'Re: ...').")

    # AU11 'no longer works here', mailbox not monitored, remove this address
    t = hid("tok", "au11", n=10)
    txt = ("Jenny Tallis no longer works at Ashdown Brewing Co.\n\n"
           "This mailbox is not monitored. Please remove this address from your\n"
           "mailing list and send anything for the brewery to hello@ashdownbrewing.example.\n")
    autoreply("au11-left-company-not-monitored", frm=("Jenny Tallis", "jenny@ashdownbrewing.example"),
              to=(MARCUS[0], reply_addr(t)), subject="Automatic reply: Following up",
              date="Tue, 4 Mar 2025 09:03:50 +0000", irt_seed="au11",
              extra=[("Auto-Submitted", "auto-replied"), ("X-Autoreply", "yes")],
              body=text(txt), lang="en",
              note="Leaver notice; 'please remove this address from your mailing list' inside an auto-reply.")

    # AU12 French HTML-only OOF, base64, 'arrêt maladie'
    t = hid("tok", "au12", n=10)
    txt = ("Bonjour,\n\nJe suis en arrêt maladie jusqu'au 21 mars. Vos messages ne seront pas\n"
           "transférés. Pour toute question, écrivez à accueil@minoterie-prual.example.\n\n"
           "Bien cordialement,\nCécile Prual")
    autoreply("au12-html-only-arret-maladie-b64", frm=("Cécile Prual", "c.prual@minoterie-prual.example"),
              to=(CLAIRE[0], reply_addr(t)), subject="Réponse automatique : Vos chambres froides à Dinan",
              date="Mon, 3 Mar 2025 10:12:50 +0100", irt_seed="au12",
              extra=[("Auto-Submitted", "auto-replied"), ("Content-Language", "fr-FR")],
              body=html(OUTLOOK_HEAD + '<body lang="FR">\n<div class="WordSection1">\n%s\n</div>\n</body>\n</html>\n'
                        % html_paras(txt, "MsoNormal"), cte="base64"),
              lang="fr", note="HTML-only French OOF, base64; 'arrêt' inside 'arrêt maladie'.")


# ======================================================================
# Bounces
# ======================================================================

def ds_part(msg_fields, rcpts, desc=None):
    blocks = ["".join("%s: %s\n" % kv for kv in msg_fields)]
    for r in rcpts:
        blocks.append("".join("%s: %s\n" % kv for kv in r))
    hdrs = [("Content-Type", "message/delivery-status")]
    if desc:
        hdrs.append(("Content-Description", desc))
    return Part(hdrs, "\n".join(blocks))


def bounce(rel, *, frm, tok, subject, date, body, host, ip, lang, actions, note,
           extra=(), mime=True, hcharset="utf-8", to_display=None):
    dom = host.split(".", 1)[1]
    hdrs = [
        ("Return-Path", "<>"),
        ("Received", "from %s (%s [%s])\n\tby mx1.fb.northwind.example (Postfix) with ESMTPS id 4Z%s\n"
         "\tfor <%s>; %s" % (host, host, ip, hid("q", rel, n=11).upper(), bounce_addr(tok), date)),
        ("Date", date),
        ("From", frm),
        ("To", a(to_display, bounce_addr(tok)) if to_display else bounce_addr(tok)),
        ("Subject", h(subject, hcharset)),
        ("Message-ID", "<%s@%s>" % (hid("bmid", rel, n=20), host)),
    ] + list(extra)
    if mime:
        msg = render_message(hdrs, body)
    else:
        msg = "".join("%s: %s\n" % kv for kv in hdrs) + "\n" + body
    emit("dsn/%s.eml" % rel, msg, "dsn", None, actions, lang, note)


def report_mp(human, dsp, third, seed, style="postfix"):
    if style == "postfix":
        b = "%s.%d/%s" % (hid("pq", seed, n=11).upper(), 1741000000 + int(hid("t", seed, n=5), 16) % 900000, "mail")
    else:
        b = mkb(seed, style)
    return multipart("report", [human, dsp, third], b, params=" report-type=delivery-status;",
                     preamble="This is a MIME-encapsulated message." if style == "postfix" else None)


POSTFIX_HEAD = ("This is the mail system at host %s.\n\n"
                "I'm sorry to have to inform you that your message could not\n"
                "be delivered to one or more recipients. It's attached below.\n\n"
                "For further assistance, please send mail to postmaster.\n\n"
                "If you do so, please include this problem report. You can\n"
                "delete your own text from the attached returned message.\n\n"
                "                   The mail system\n\n")

SMARTHOST = ("smtp-out2.relayhub.example", "198.51.100.25")


def postfix_dsn(rel, *, host, ip, tok, date, arrival, human_lines, rcpts, enclosed,
                actions, note, headers_only=False, subject="Undelivered Mail Returned to Sender",
                head=POSTFIX_HEAD, sender=None, extra=()):
    qid = hid("pq", rel, n=11).upper()
    human = text(head % host + human_lines + "\n", cte="7bit",
                 extra=[("Content-Description", "Notification")])
    msgf = [("Reporting-MTA", "dns; %s" % host), ("X-Postfix-Queue-ID", qid),
            ("X-Postfix-Sender", "rfc822; %s" % (sender or bounce_addr(tok))),
            ("Arrival-Date", arrival)]
    dsp = ds_part(msgf, rcpts, "Delivery report")
    third = (rfc822_headers(enclosed, "Undelivered Message Headers") if headers_only
             else rfc822(enclosed, "Undelivered Message"))
    bounce(rel, frm="MAILER-DAEMON@%s (Mail Delivery System)" % host, tok=tok, subject=subject,
           date=date, host=host, ip=ip, body=report_mp(human, dsp, third, rel),
           extra=[("Auto-Submitted", "auto-replied")] + list(extra), lang="en",
           actions=actions, note=note)


def dsns_suppress():
    # D01 Postfix at the recipient site, local delivery: unknown user, 5.1.1
    t = hid("tok", "d01", n=10)
    rc = "benoit.lacroix@lacroix-traiteur.example"
    enc = outbound(CLAIRE, a("Benoît Lacroix", rc), "Vos chambres froides à Bordeaux",
                   pitch_fr("Benoît", "Lacroix Traiteur", "Bordeaux", t),
                   "Mon, 3 Mar 2025 10:12:04 +0100", "d01", t)
    postfix_dsn("d01-postfix-unknown-user-511", host="mx2.lacroix-traiteur.example", ip="203.0.113.61",
                tok=t, date="Mon, 3 Mar 2025 10:12:09 +0100 (CET)",
                arrival="Mon,  3 Mar 2025 10:12:07 +0100 (CET)",
                human_lines='<%s>: unknown user: "benoit.lacroix"' % rc,
                rcpts=[[("Final-Recipient", "rfc822; %s" % rc),
                        ("Original-Recipient", "rfc822;%s" % rc),
                        ("Action", "failed"), ("Status", "5.1.1"),
                        ("Diagnostic-Code", 'X-Postfix; unknown user: "benoit.lacroix"')]],
                enclosed=enc, actions=[S(rc, "hard-bounce", "5.1.1")],
                note="Postfix accept-then-bounce, local 'unknown user', 5.1.1; template says 'delete your own text'.")

    # D02 Exchange Online NDR, 5.1.10; Original-Recipient differs from Final-Recipient
    t = hid("tok", "d02", n=10)
    orig_rc, final_rc = "sales@quayside-marine.example", "j.mercer@quayside-marine.example"
    enc = outbound(MARCUS, a("Quayside Marine Sales", orig_rc), "Temperature excursions at Quayside Marine",
                   pitch_en("there", "Quayside Marine", "Falmouth", t), "Mon, 3 Mar 2025 10:12:00 +0000", "d02", t)
    gen = "AM8PR10MB4180.EURPRD10.PROD.OUTLOOK.COM"
    htxt = ("Your message to %s couldn't be delivered.\n\n"
            "j.mercer wasn't found at quayside-marine.example.\n\n"
            "marcus.oyelaran    Office 365    j.mercer\n"
            "Action Required                 Recipient\n\n"
            "Unknown To address\n\n"
            "How to Fix It\n"
            "The address may be misspelled or may not exist. Try one or more of the following:\n"
            "- Retype the recipient's address, then resend the message.\n"
            "- If you're using Outlook, open this message, then select Send Again.\n\n"
            "Was this helpful? Send feedback to Microsoft.\n\n"
            "________________________________\n\n"
            "Diagnostic information for administrators:\n\n"
            "Generating server: %s\n\n"
            "%s\nRemote server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient %s not found by SMTP address lookup'\n\n"
            "Original message headers:\n\n" % (orig_rc, gen, final_rc, final_rc)
            + enc.split("\n\n", 1)[0] + "\n")
    hhtml = ("<html>\n<head>\n<meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">\n</head>\n"
             "<body>\n<p><b><font color=\"#000000\" size=\"3\" face=\"Segoe UI\">Your message to "
             "<a href=\"mailto:%s\">%s</a> couldn't be delivered.</font></b></p>\n"
             "<p><font color=\"#000000\" size=\"3\" face=\"Segoe UI\">j.mercer wasn't found at "
             "quayside-marine.example.</font></p>\n<p><b>Unknown To address</b></p>\n"
             "<p>Diagnostic information for administrators:</p>\n<p>Generating server: %s</p>\n"
             "<p>%s<br>\nRemote server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; "
             "Recipient %s not found by SMTP address lookup'</p>\n</body>\n</html>\n"
             % (orig_rc, orig_rc, gen, final_rc, final_rc))
    human = alt(text(htxt, cte="quoted-printable"), html(hhtml), mkb("d02h", "outlook"))
    dsp = ds_part([("Reporting-MTA", "dns;%s" % gen),
                   ("Received-From-MTA", "dns;%s" % SMARTHOST[0]),
                   ("Arrival-Date", "Mon, 3 Mar 2025 10:12:03 +0000")],
                  [[("Original-Recipient", "rfc822;%s" % orig_rc),
                    ("Final-Recipient", "rfc822;%s" % final_rc),
                    ("Action", "failed"), ("Status", "5.1.10"),
                    ("Diagnostic-Code", "smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient\n"
                     " %s not found by SMTP address lookup" % final_rc)]])
    bounce("d02-exchange-online-5110-orig-rcpt",
           frm=a("Microsoft Outlook", "postmaster@quayside-marine.example"), tok=t,
           subject="Undeliverable: Temperature excursions at Quayside Marine",
           date="Mon, 3 Mar 2025 10:12:05 +0000", host="EUR05-AM6-obe.outbound.protection.outlook.com",
           ip="40.107.22.110",
           body=report_mp(human, dsp, rfc822_headers(enc), "d02", "outlook"),
           extra=[("Auto-Submitted", "auto-replied"), ("X-MS-Exchange-Message-Is-Ndr", ""),
                  ("Content-Language", "en-GB")],
           lang="en", actions=[S(orig_rc, "hard-bounce", "5.1.10")],
           note="Exchange Online NDR; Original-Recipient (sales@) differs from Final-Recipient (j.mercer@): suppress Original-Recipient.")

    # D03 smarthost bounce of a Gmail RCPT reject, 5.1.1, no Original-Recipient
    t = hid("tok", "d03", n=10)
    rc = "tom.brierley.77@gmail.com"
    enc = outbound(NEWS_EN, rc, "Northwind Insights - March 2025", newsletter_en(t),
                   "Thu, 6 Mar 2025 07:00:00 +0000", "d03", t, list_mail=True)
    diag = ("smtp; 550-5.1.1 The email account that you tried to reach does not exist.\n"
            "    Please try 550-5.1.1 double-checking the recipient's email address for\n"
            "    typos or 550-5.1.1 unnecessary spaces. For more information, go to\n"
            "    550 5.1.1  https://support.google.com/mail/?p=NoSuchUser\n"
            "    5b1f17b1804b1-43bd28e3a4esi1234567f9.112 - gsmtp")
    postfix_dsn("d03-smarthost-gmail-nosuchuser", host=SMARTHOST[0], ip=SMARTHOST[1], tok=t,
                date="Thu, 6 Mar 2025 07:00:41 +0000 (UTC)", arrival="Thu,  6 Mar 2025 07:00:38 +0000 (UTC)",
                human_lines=("<%s>: host gmail-smtp-in.l.google.com[142.250.153.27] said:\n"
                             "    550-5.1.1 The email account that you tried to reach does not exist.\n"
                             "    Please try 550-5.1.1 double-checking the recipient's email address for\n"
                             "    typos or 550-5.1.1 unnecessary spaces. For more information, go to\n"
                             "    550 5.1.1  https://support.google.com/mail/?p=NoSuchUser\n"
                             "    5b1f17b1804b1-43bd28e3a4esi1234567f9.112 - gsmtp (in reply to RCPT TO\n"
                             "    command)" % rc),
                rcpts=[[("Final-Recipient", "rfc822; %s" % rc), ("Action", "failed"), ("Status", "5.1.1"),
                        ("Remote-MTA", "dns; gmail-smtp-in.l.google.com"), ("Diagnostic-Code", diag)]],
                enclosed=enc, actions=[S(rc, "hard-bounce", "5.1.1")],
                note="No Original-Recipient: Final-Recipient is the target. Multi-line Diagnostic-Code.")

    # D04 5.1.2 bad destination system address
    t = hid("tok", "d04", n=10)
    rc = "orders@harborfresh.example"
    enc = outbound(MARCUS, rc, "Temperature excursions at Harbour Fresh",
                   pitch_en("there", "Harbour Fresh", "Newlyn", t), "Tue, 4 Mar 2025 09:15:00 +0000", "d04", t)
    postfix_dsn("d04-smarthost-512", host=SMARTHOST[0], ip=SMARTHOST[1], tok=t,
                date="Tue, 4 Mar 2025 09:15:07 +0000 (UTC)", arrival="Tue,  4 Mar 2025 09:15:05 +0000 (UTC)",
                human_lines=("<%s>: host mx.harborfresh-hosting.example[198.51.100.140]\n"
                             "    said: 550 5.1.2 <%s>: Recipient address rejected: Bad\n"
                             "    destination system address (in reply to RCPT TO command)" % (rc, rc)),
                rcpts=[[("Final-Recipient", "rfc822; %s" % rc), ("Original-Recipient", "rfc822;%s" % rc),
                        ("Action", "failed"), ("Status", "5.1.2"),
                        ("Remote-MTA", "dns; mx.harborfresh-hosting.example"),
                        ("Diagnostic-Code", "smtp; 550 5.1.2 <%s>: Recipient address rejected:\n"
                         "    Bad destination system address" % rc)]],
                enclosed=enc, actions=[S(rc, "hard-bounce", "5.1.2")],
                note="Status 5.1.2 (bad destination system address).")

    # D05 Sendmail multipart/report, 5.1.3
    t = hid("tok", "d05", n=10)
    rc = "accueil@hotel-les-alizes.example"
    enc = outbound(CLAIRE, rc, "Vos chambres froides à Royan",
                   pitch_fr("Madame, Monsieur", "l'Hôtel Les Alizés", "Royan", t),
                   "Mon, 3 Mar 2025 10:12:00 +0100", "d05", t)
    host = "relais.hotel-les-alizes.example"
    human = text("The original message was received at Mon, 3 Mar 2025 10:12:04 +0100\n"
                 "from smtp-out2.relayhub.example [198.51.100.25]\n\n"
                 "   ----- The following addresses had permanent fatal errors -----\n"
                 "<%s>\n    (reason: 553 5.1.3 <%s>... Invalid recipient address)\n\n"
                 "   ----- Transcript of session follows -----\n"
                 "... while talking to mail.hotel-les-alizes.example.:\n"
                 ">>> RCPT To:<%s>\n<<< 553 5.1.3 <%s>... Invalid recipient address\n"
                 "553 5.1.3 <%s>... Invalid recipient address\n" % ((rc,) * 5), cte="7bit")
    dsp = ds_part([("Reporting-MTA", "dns; %s" % host), ("Received-From-MTA", "DNS; smtp-out2.relayhub.example"),
                   ("Arrival-Date", "Mon, 3 Mar 2025 10:12:04 +0100")],
                  [[("Final-Recipient", "RFC822; %s" % rc), ("Action", "failed"), ("Status", "5.1.3"),
                    ("Remote-MTA", "DNS; mail.hotel-les-alizes.example"),
                    ("Diagnostic-Code", "SMTP; 553 5.1.3 <%s>... Invalid recipient address" % rc),
                    ("Last-Attempt-Date", "Mon, 3 Mar 2025 10:12:05 +0100")]])
    bounce("d05-sendmail-513", frm="Mail Delivery Subsystem <MAILER-DAEMON@%s>" % host, tok=t,
           subject="Returned mail: see transcript for details", date="Mon, 3 Mar 2025 10:12:05 +0100",
           host=host, ip="203.0.113.88",
           body=report_mp(human, dsp, rfc822(enc), "d05", "x"),
           extra=[("Auto-Submitted", "auto-generated (failure)")],
           lang="en", actions=[S(rc, "hard-bounce", "5.1.3")],
           note="Sendmail multipart/report, 5.1.3, upper-case 'RFC822;' address type.")

    # D06 5.1.6 mailbox moved, no forwarding address
    t = hid("tok", "d06", n=10)
    rc = "a.kaminski@velvetbean-roasters.example"
    enc = outbound(MARCUS, a("Adam Kaminski", rc), "Following up", followup_en("Adam", t),
                   "Tue, 4 Mar 2025 09:03:00 +0000", "d06", t)
    postfix_dsn("d06-smarthost-516-moved", host=SMARTHOST[0], ip=SMARTHOST[1], tok=t,
                date="Tue, 4 Mar 2025 09:03:12 +0000 (UTC)", arrival="Tue,  4 Mar 2025 09:03:09 +0000 (UTC)",
                human_lines=("<%s>: host mx1.velvetbean-roasters.example[198.51.100.93]\n"
                             "    said: 550 5.1.6 <%s>: Recipient has moved; no\n"
                             "    forwarding address (in reply to RCPT TO command)" % (rc, rc)),
                rcpts=[[("Final-Recipient", "rfc822; %s" % rc), ("Original-Recipient", "rfc822;%s" % rc),
                        ("Action", "failed"), ("Status", "5.1.6"),
                        ("Remote-MTA", "dns; mx1.velvetbean-roasters.example"),
                        ("Diagnostic-Code", "smtp; 550 5.1.6 <%s>: Recipient has moved; no\n"
                         "    forwarding address" % rc)]],
                enclosed=enc, headers_only=True, actions=[S(rc, "hard-bounce", "5.1.6")],
                note="5.1.6 moved/no forwarding address; text/rfc822-headers enclosure.")

    # D07 Exim multipart/report, Status 5.0.0 with 'No such user here'
    t = hid("tok", "d07", n=10)
    rc = "kev@marlow-butchers.example"
    enc = outbound(MARCUS, rc, "Quick question about your cold rooms",
                   pitch_en("Kev", "Marlow Butchers", "Marlow", t), "Mon, 3 Mar 2025 10:12:00 +0000", "d07", t)
    host = "mail.marlow-butchers.example"
    human = text("This message was created automatically by mail delivery software.\n\n"
                 "A message that you sent could not be delivered to one or more of its\n"
                 "recipients. This is a permanent error. The following address(es) failed:\n\n"
                 "  %s\n    host mailstore.marlow-butchers.example [10.20.0.5]\n"
                 "    SMTP error from remote mail server after RCPT TO:<%s>:\n"
                 "    550 No such user here\n" % (rc, rc), cte="7bit")
    dsp = ds_part([("Reporting-MTA", "dns; %s" % host)],
                  [[("Action", "failed"), ("Final-Recipient", "rfc822;%s" % rc), ("Status", "5.0.0"),
                    ("Remote-MTA", "dns; mailstore.marlow-butchers.example"),
                    ("Diagnostic-Code", "smtp; 550 No such user here")]])
    bounce("d07-exim-500-no-such-user", frm="Mail Delivery System <Mailer-Daemon@%s>" % host, tok=t,
           subject="Mail delivery failed: returning message to sender",
           date="Mon, 03 Mar 2025 10:12:06 +0000", host=host, ip="203.0.113.140",
           body=report_mp(human, dsp, rfc822(enc), "d07", "x"),
           extra=[("X-Failed-Recipients", rc), ("Auto-Submitted", "auto-replied")],
           lang="en", actions=[S(rc, "hard-bounce", "5.0.0")],
           note="Generic Status 5.0.0 but unambiguous 'No such user here'; Exim DSN with X-Failed-Recipients.")

    # D08 two recipients: 5.1.1 (suppress) + 5.2.2 mailbox full (keep)
    t = hid("tok", "d08", n=10)
    r1, r2 = "j.oduya@pemberley-farms.example", "r.harker@pemberley-farms.example"
    enc = outbound(HANNAH, "%s, %s" % (a("Joseph Oduya", r1), a("Ruth Harker", r2)),
                   "Breakfast roundtable, Manchester 20 March", invite_en("both", t),
                   "Tue, 4 Mar 2025 08:30:00 +0000", "d08", t)
    postfix_dsn("d08-multi-511-and-522", host="mx.pemberley-farms.example", ip="203.0.113.170", tok=t,
                date="Tue, 4 Mar 2025 08:30:19 +0000 (GMT)", arrival="Tue,  4 Mar 2025 08:30:14 +0000 (GMT)",
                human_lines=("<%s>: host mail.pemberley-farms.example[private/dovecot-lmtp]\n"
                             "    said: 550 5.1.1 <%s> User doesn't exist: %s (in reply to\n"
                             "    RCPT TO command)\n\n"
                             "<%s>: host mail.pemberley-farms.example[private/dovecot-lmtp]\n"
                             "    said: 552 5.2.2 <%s> Quota exceeded (mailbox for user is full)\n"
                             "    (in reply to end of DATA command)" % (r1, r1, r1, r2, r2)),
                rcpts=[[("Final-Recipient", "rfc822; %s" % r1), ("Original-Recipient", "rfc822;%s" % r1),
                        ("Action", "failed"), ("Status", "5.1.1"),
                        ("Remote-MTA", "dns; mail.pemberley-farms.example"),
                        ("Diagnostic-Code", "lmtp; 550 5.1.1 <%s> User doesn't exist: %s" % (r1, r1))],
                       [("Final-Recipient", "rfc822; %s" % r2), ("Original-Recipient", "rfc822;%s" % r2),
                        ("Action", "failed"), ("Status", "5.2.2"),
                        ("Remote-MTA", "dns; mail.pemberley-farms.example"),
                        ("Diagnostic-Code", "lmtp; 552 5.2.2 <%s> Quota exceeded (mailbox for user is\n"
                         "    full)" % r2)]],
                enclosed=enc, actions=[S(r1, "hard-bounce", "5.1.1")],
                note="Two recipients in one DSN: only the 5.1.1 one is suppressed, the 5.2.2 mailbox-full one is not.")

    # D09 French human-readable part, 5.1.1
    t = hid("tok", "d09", n=10)
    rc = "c.roussel@cabinet-roussel.example"
    enc = outbound(CLAIRE, a("Catherine Roussel", rc), "Vos chambres froides à Poitiers",
                   pitch_fr("Catherine", "le Cabinet Roussel", "Poitiers", t),
                   "Mon, 3 Mar 2025 10:12:00 +0100", "d09", t)
    host = "mx.cabinet-roussel.example"
    htxt = ("Ceci est le système de messagerie de %s.\n\n"
            "Nous sommes désolés de vous informer que votre message n'a pas pu\n"
            "être remis à un ou plusieurs destinataires. Il est joint ci-dessous.\n\n"
            "Pour obtenir de l'aide, veuillez écrire au postmaster.\n\n"
            "                   Le système de messagerie\n\n"
            "<%s> : l'adresse n'existe pas (550 5.1.1 Utilisateur inconnu)\n" % (host, rc))
    dsp = ds_part([("Reporting-MTA", "dns; %s" % host), ("Arrival-Date", "Mon,  3 Mar 2025 10:12:03 +0100 (CET)")],
                  [[("Final-Recipient", "rfc822; %s" % rc), ("Original-Recipient", "rfc822;%s" % rc),
                    ("Action", "failed"), ("Status", "5.1.1"),
                    ("Diagnostic-Code", "X-Postfix; l'adresse n'existe pas (550 5.1.1 Utilisateur\n    inconnu)")]],
                  "Delivery report")
    bounce("d09-rapport-francais-511", frm="MAILER-DAEMON@%s (=?utf-8?q?Syst=C3=A8me_de_messagerie?=)" % host, tok=t,
           subject="Message non remis : Vos chambres froides à Poitiers",
           date="Mon, 3 Mar 2025 10:12:06 +0100 (CET)", host=host, ip="203.0.113.201",
           body=report_mp(text(htxt, extra=[("Content-Description", "Notification")]), dsp,
                          rfc822(enc, "Undelivered Message"), "d09"),
           extra=[("Auto-Submitted", "auto-replied")], lang="fr",
           actions=[S(rc, "hard-bounce", "5.1.1")],
           note="Localised (French) human part, UTF-8 QP, RFC 2047 subject.")

    # D10 qmail plain text, no MIME at all
    t = hid("tok", "d10", n=10)
    rc = "gordon@sandhill-nursery.example"
    enc = outbound(MARCUS, a("Gordon Reid", rc), "Temperature excursions at Sandhill Nursery",
                   pitch_en("Gordon", "Sandhill Nursery", "Evesham", t), "Mon, 3 Mar 2025 10:12:00 +0000", "d10", t)
    host = "mail.sandhill-nursery.example"
    body = ("Hi. This is the qmail-send program at %s.\n"
            "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
            "This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
            "<%s>:\nSorry, no mailbox here by that name. (#5.1.1)\n\n"
            "--- Below this line is a copy of the message.\n\n"
            "Return-Path: <%s>\nReceived: (qmail 21877 invoked from network); 3 Mar 2025 10:12:03 -0000\n"
            "Received: from smtp-out2.relayhub.example (198.51.100.25)\n"
            "  by mail.sandhill-nursery.example with SMTP; 3 Mar 2025 10:12:03 -0000\n" % (host, rc, bounce_addr(t))
            + enc.split("\n", 1)[1])
    bounce("d10-qmail-no-mailbox", frm="MAILER-DAEMON@%s" % host, tok=t, subject="failure notice",
           date="3 Mar 2025 10:12:04 -0000", host=host, ip="203.0.113.33", body=body, mime=False,
           lang="en", actions=[S(rc, "hard-bounce", "5.1.1")],
           note="qmail plain-text bounce without MIME headers: 'Sorry, no mailbox here by that name. (#5.1.1)'.")

    # D11 Exim plain text, two unknown users
    t = hid("tok", "d11", n=10)
    r1, r2 = "kate@brockwell-farm.example", "orders@brockwell-farm.example"
    enc = outbound(MARCUS, "%s, %s" % (r1, r2), "Quick question about your cold rooms",
                   pitch_en("Kate", "Brockwell Farm Shop", "Tetbury", t), "Mon, 3 Mar 2025 10:12:00 +0000", "d11", t)
    host = "mx.brockwell-farm.example"
    body = ("This message was created automatically by mail delivery software.\n\n"
            "A message that you sent could not be delivered to one or more of its\n"
            "recipients. This is a permanent error. The following address(es) failed:\n\n"
            "  %s\n    host mailhost.brockwell-farm.example [10.0.0.12]\n"
            "    SMTP error from remote mail server after RCPT TO:<%s>:\n"
            "    550 5.1.1 <%s>: Recipient address rejected: User unknown in local recipient table\n"
            "  %s\n    unknown user\n\n"
            "------ This is a copy of the message, including all the headers. ------\n\n"
            "Return-path: <%s>\n"
            "Received: from smtp-out2.relayhub.example ([198.51.100.25])\n"
            "\tby mx.brockwell-farm.example with esmtps (TLS1.3) tls TLS_AES_256_GCM_SHA384\n"
            "\t(Exim 4.97.1)\n\t(envelope-from <%s>)\n\tid 1tp2Xk-0004Qa-0s;\n"
            "\tMon, 03 Mar 2025 10:12:03 +0000\n" % (r1, r1, r1, r2, bounce_addr(t), bounce_addr(t))
            + enc.split("\n", 1)[1])
    bounce("d11-exim-plain-two-unknown", frm="Mail Delivery System <Mailer-Daemon@%s>" % host, tok=t,
           subject="Mail delivery failed: returning message to sender",
           date="Mon, 03 Mar 2025 10:12:04 +0000", host=host, ip="203.0.113.52",
           body=text(body, cte="7bit"),
           extra=[("X-Failed-Recipients", "%s,\n  %s" % (r1, r2)), ("Auto-Submitted", "auto-replied")],
           lang="en", actions=[S(r1, "hard-bounce", "5.1.1"), S(r2, "hard-bounce", "5.0.0")],
           note="Exim plain text, two failed addresses: remote 5.1.1 'User unknown' and local 'unknown user' (no enhanced code, labelled 5.0.0).")

    # D12 Sendmail plain text, User unknown
    t = hid("tok", "d12", n=10)
    rc = "w.ashby@ashby-hardware.example"
    enc = outbound(MARCUS, a("Will Ashby", rc), "Following up", followup_en("Will", t),
                   "Tue, 4 Mar 2025 09:03:00 +0000", "d12", t)
    host = "gate.ashby-hardware.example"
    body = ("The original message was received at Tue, 4 Mar 2025 09:03:06 GMT\n"
            "from smtp-out2.relayhub.example [198.51.100.25]\n\n"
            "   ----- The following addresses had permanent fatal errors -----\n"
            "<%s>\n    (reason: 550 5.1.1 <%s>... User unknown)\n\n"
            "   ----- Transcript of session follows -----\n"
            "... while talking to mail.ashby-hardware.example.:\n"
            ">>> DATA\n<<< 550 5.1.1 <%s>... User unknown\n"
            "550 5.1.1 <%s>... User unknown\n<<< 503 5.0.0 Need RCPT (recipient)\n\n"
            "   ----- Original message follows -----\n\n" % (rc, rc, rc, rc)
            + enc)
    bounce("d12-sendmail-plain-user-unknown", frm="Mail Delivery Subsystem <MAILER-DAEMON@%s>" % host, tok=t,
           subject="Returned mail: User unknown", date="Tue, 4 Mar 2025 09:03:07 GMT",
           host=host, ip="203.0.113.99", body=text(body, cte="7bit"), lang="en",
           actions=[S(rc, "hard-bounce", "5.1.1")],
           note="Old Sendmail plain-text bounce (no multipart/report); transcript also shows 503 5.0.0.")


POSTFIX_DELAY_HEAD = ("This is the mail system at host %s.\n\n"
                      "####################################################################\n"
                      "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\n"
                      "####################################################################\n\n"
                      "Your message could not be delivered for more than 4 hour(s).\n"
                      "It will be retried until it is 5 day(s) old.\n\n"
                      "For further assistance, please send mail to postmaster.\n\n"
                      "If you do so, please include this problem report. You can\n"
                      "delete your own text from the attached returned message.\n\n"
                      "                   The mail system\n\n")

POSTFIX_SUCCESS_HEAD = ("This is the mail system at host %s.\n\n"
                        "Your message was successfully delivered to the destination(s)\n"
                        "listed below. If the message was delivered to mailbox you will\n"
                        "receive no further notifications. Otherwise you may still receive\n"
                        "notifications of mail delivery errors from other systems.\n\n"
                        "                   The mail system\n\n")


def dsns_keep():
    # N01 Exchange Online NDR, 5.2.2 mailbox full
    t = hid("tok", "n01", n=10)
    rc = "d.mensah@kingsbridge-catering.example"
    enc = outbound(MARCUS, a("Daniel Mensah", rc), "Following up", followup_en("Daniel", t),
                   "Tue, 4 Mar 2025 09:03:00 +0000", "n01", t)
    gen = "LO2P265MB5872.GBRP265.PROD.OUTLOOK.COM"
    htxt = ("Your message to %s couldn't be delivered.\n\n"
            "d.mensah's mailbox is full.\n\n"
            "marcus.oyelaran    Office 365    d.mensah\n"
            "Action Required                 Recipient\n\n"
            "Mailbox full\n\n"
            "How to Fix It\n"
            "The recipient's mailbox is full and can't accept messages now. Try resending\n"
            "the message later, or contact the recipient directly.\n\n"
            "________________________________\n\n"
            "Diagnostic information for administrators:\n\n"
            "Generating server: %s\n\n"
            "%s\nRemote server returned '554 5.2.2 mailbox full;\n"
            "STOREDRV.Deliver.Exception:QuotaExceededException.MapiExceptionShutoffQuotaExceeded'\n"
            % (rc, gen, rc))
    human = alt(text(htxt, cte="7bit"),
                html("<html><body><p><b>Your message to %s couldn't be delivered.</b></p>\n"
                     "<p>d.mensah's mailbox is full.</p>\n<p><b>Mailbox full</b></p>\n</body></html>\n" % rc),
                mkb("n01h", "outlook"))
    dsp = ds_part([("Reporting-MTA", "dns;%s" % gen), ("Received-From-MTA", "dns;%s" % SMARTHOST[0]),
                   ("Arrival-Date", "Tue, 4 Mar 2025 09:03:04 +0000")],
                  [[("Original-Recipient", "rfc822;%s" % rc), ("Final-Recipient", "rfc822;%s" % rc),
                    ("Action", "failed"), ("Status", "5.2.2"),
                    ("Diagnostic-Code", "smtp;554 5.2.2 mailbox full;\n"
                     " STOREDRV.Deliver.Exception:QuotaExceededException.MapiExceptionShutoffQuotaExceeded")]])
    bounce("n01-exchange-mailbox-full-522", frm=a("Microsoft Outlook", "postmaster@kingsbridge-catering.example"),
           tok=t, subject="Undeliverable: Following up", date="Tue, 4 Mar 2025 09:03:06 +0000",
           host="EUR03-VI1-obe.outbound.protection.outlook.com", ip="40.107.103.77",
           body=report_mp(human, dsp, rfc822_headers(enc), "n01", "outlook"),
           extra=[("Auto-Submitted", "auto-replied"), ("X-MS-Exchange-Message-Is-Ndr", "")],
           lang="en", actions=[], note="Permanent failure but 5.2.2 mailbox full: never suppress.")

    # N02 Postfix delay notice, two recipients, Action: delayed
    t = hid("tok", "n02", n=10)
    r1, r2 = "p.okoro@ferrybridge-foods.example", "stores@ferrybridge-foods.example"
    enc = outbound(MARCUS, "%s, %s" % (r1, r2), "Quick question about your cold rooms",
                   pitch_en("Peter", "Ferrybridge Foods", "Goole", t), "Mon, 3 Mar 2025 06:10:00 +0000", "n02", t)
    postfix_dsn("n02-delayed-two-recipients", host=SMARTHOST[0], ip=SMARTHOST[1], tok=t,
                date="Mon, 3 Mar 2025 10:14:51 +0000 (UTC)", arrival="Mon,  3 Mar 2025 06:10:02 +0000 (UTC)",
                subject="Delayed Mail (still being retried)", head=POSTFIX_DELAY_HEAD,
                human_lines=("<%s>: connect to mx.ferrybridge-foods.example[198.51.100.201]:25:\n"
                             "    Connection timed out\n\n"
                             "<%s>: host mx.ferrybridge-foods.example[198.51.100.201] said:\n"
                             "    452 4.2.2 <%s>: Mailbox full, try again later (in reply\n"
                             "    to RCPT TO command)" % (r1, r2, r2)),
                rcpts=[[("Final-Recipient", "rfc822; %s" % r1), ("Original-Recipient", "rfc822;%s" % r1),
                        ("Action", "delayed"), ("Status", "4.4.1"),
                        ("Diagnostic-Code", "X-Postfix; connect to mx.ferrybridge-foods.example[198.51.100.201]:25:\n"
                         "    Connection timed out"),
                        ("Will-Retry-Until", "Sat, 8 Mar 2025 06:10:02 +0000 (UTC)")],
                       [("Final-Recipient", "rfc822; %s" % r2), ("Original-Recipient", "rfc822;%s" % r2),
                        ("Action", "delayed"), ("Status", "4.2.2"),
                        ("Remote-MTA", "dns; mx.ferrybridge-foods.example"),
                        ("Diagnostic-Code", "smtp; 452 4.2.2 <%s>: Mailbox full, try again later" % r2),
                        ("Will-Retry-Until", "Sat, 8 Mar 2025 06:10:02 +0000 (UTC)")]],
                enclosed=enc, headers_only=True, actions=[],
                note="Action: delayed for both recipients (4.4.1, 4.2.2): nothing to change.")

    # N03 5.7.1 IP blocklisted (Spamhaus)
    t = hid("tok", "n03", n=10)
    rc = "info@wexcombe-orchards.example"
    enc = outbound(MARCUS, rc, "Temperature excursions at Wexcombe Orchards",
                   pitch_en("there", "Wexcombe Orchards", "Marlborough", t), "Mon, 3 Mar 2025 10:12:00 +0000", "n03", t)
    postfix_dsn("n03-571-spamhaus-block", host=SMARTHOST[0], ip=SMARTHOST[1], tok=t,
                date="Mon, 3 Mar 2025 10:12:06 +0000 (UTC)", arrival="Mon,  3 Mar 2025 10:12:04 +0000 (UTC)",
                human_lines=("<%s>: host mx.wexcombe-orchards.example[198.51.100.12] said:\n"
                             "    554 5.7.1 Service unavailable; Client host [198.51.100.25] blocked\n"
                             "    using zen.spamhaus.org; https://www.spamhaus.org/query/ip/198.51.100.25\n"
                             "    (in reply to RCPT TO command)" % rc),
                rcpts=[[("Final-Recipient", "rfc822; %s" % rc), ("Original-Recipient", "rfc822;%s" % rc),
                        ("Action", "failed"), ("Status", "5.7.1"),
                        ("Remote-MTA", "dns; mx.wexcombe-orchards.example"),
                        ("Diagnostic-Code", "smtp; 554 5.7.1 Service unavailable; Client host\n"
                         "    [198.51.100.25] blocked using zen.spamhaus.org;\n"
                         "    https://www.spamhaus.org/query/ip/198.51.100.25")]],
                enclosed=enc, actions=[], note="5.7.1 policy (IP on a blocklist): never suppress.")

    # N04 5.7.26 DMARC rejection by Gmail
    t = hid("tok", "n04", n=10)
    rc = "harriet.cole.bakes@gmail.com"
    enc = outbound(NEWS_EN, rc, "Northwind Insights - March 2025", newsletter_en(t),
                   "Thu, 6 Mar 2025 07:00:00 +0000", "n04", t, list_mail=True)
    postfix_dsn("n04-5726-dmarc-gmail", host=SMARTHOST[0], ip=SMARTHOST[1], tok=t,
                date="Thu, 6 Mar 2025 07:00:44 +0000 (UTC)", arrival="Thu,  6 Mar 2025 07:00:40 +0000 (UTC)",
                human_lines=("<%s>: host gmail-smtp-in.l.google.com[142.250.153.27] said:\n"
                             "    550-5.7.26 Unauthenticated email from northwind-mail.example is not\n"
                             "    accepted due 550-5.7.26 to domain's DMARC policy. Please contact the\n"
                             "    administrator of 550-5.7.26 northwind-mail.example domain if this was a\n"
                             "    legitimate mail. To learn 550-5.7.26 about the DMARC initiative, go to\n"
                             "    550 5.7.26  https://support.google.com/mail/?p=DmarcRejection\n"
                             "    ffacd0b85a97d-38f2b1f03a1si2345678f8f.305 - gsmtp (in reply to end of\n"
                             "    DATA command)" % rc),
                rcpts=[[("Final-Recipient", "rfc822; %s" % rc), ("Action", "failed"), ("Status", "5.7.26"),
                        ("Remote-MTA", "dns; gmail-smtp-in.l.google.com"),
                        ("Diagnostic-Code", "smtp; 550-5.7.26 Unauthenticated email from\n"
                         "    northwind-mail.example is not accepted due 550-5.7.26 to domain's DMARC\n"
                         "    policy. Please contact the administrator of 550-5.7.26\n"
                         "    northwind-mail.example domain if this was a legitimate mail. To learn\n"
                         "    550-5.7.26 about the DMARC initiative, go to 550 5.7.26\n"
                         "    https://support.google.com/mail/?p=DmarcRejection\n"
                         "    ffacd0b85a97d-38f2b1f03a1si2345678f8f.305 - gsmtp")]],
                enclosed=enc, actions=[], note="5.7.26 DMARC failure: sender-side problem, never suppress.")

    # N05 5.3.4 message too big
    t = hid("tok", "n05", n=10)
    rc = "bids@stourport-wholesale.example"
    enc = outbound(MARCUS, rc, "Northwind quote Q-2025-0312 (with drawings)",
                   "Hi,\n\nPlease find our quote and the site drawings attached.\n\nMarcus\n",
                   "Wed, 5 Mar 2025 14:20:00 +0000", "n05", t)
    postfix_dsn("n05-534-too-big", host=SMARTHOST[0], ip=SMARTHOST[1], tok=t,
                date="Wed, 5 Mar 2025 14:20:31 +0000 (UTC)", arrival="Wed,  5 Mar 2025 14:20:22 +0000 (UTC)",
                human_lines=("<%s>: host mx.stourport-wholesale.example[198.51.100.61]\n"
                             "    said: 552 5.3.4 Message size exceeds fixed maximum message size (in reply\n"
                             "    to end of DATA command)" % rc),
                rcpts=[[("Final-Recipient", "rfc822; %s" % rc), ("Original-Recipient", "rfc822;%s" % rc),
                        ("Action", "failed"), ("Status", "5.3.4"),
                        ("Remote-MTA", "dns; mx.stourport-wholesale.example"),
                        ("Diagnostic-Code", "smtp; 552 5.3.4 Message size exceeds fixed maximum message size")]],
                enclosed=enc, headers_only=True, actions=[], note="5.3.4 message too big: never suppress.")

    # N06 5.4.4 host or domain name not found
    t = hid("tok", "n06", n=10)
    rc = "contact@fromagerie-durand.example"
    enc = outbound(CLAIRE, rc, "Vos chambres froides à Chinon",
                   pitch_fr("Madame, Monsieur", "la Fromagerie Durand", "Chinon", t),
                   "Mon, 3 Mar 2025 10:12:00 +0100", "n06", t)
    postfix_dsn("n06-544-dns-not-found", host=SMARTHOST[0], ip=SMARTHOST[1], tok=t,
                date="Mon, 3 Mar 2025 09:12:02 +0000 (UTC)", arrival="Mon,  3 Mar 2025 09:12:01 +0000 (UTC)",
                human_lines=("<%s>: Host or domain name not found. Name service error\n"
                             "    for name=fromagerie-durand.example type=A: Host not found" % rc),
                rcpts=[[("Final-Recipient", "rfc822; %s" % rc), ("Original-Recipient", "rfc822;%s" % rc),
                        ("Action", "failed"), ("Status", "5.4.4"),
                        ("Diagnostic-Code", "X-Postfix; Host or domain name not found. Name service\n"
                         "    error for name=fromagerie-durand.example type=A: Host not found")]],
                enclosed=enc, actions=[], note="5.4.4 DNS / host not found: never suppress.")

    # N07 5.1.8 bad sender address
    t = hid("tok", "n07", n=10)
    rc = "martin.hale@halesofhexham.example"
    enc = outbound(MARCUS, a("Martin Hale", rc), "Following up", followup_en("Martin", t),
                   "Tue, 4 Mar 2025 09:03:00 +0000", "n07", t)
    postfix_dsn("n07-518-bad-sender", host=SMARTHOST[0], ip=SMARTHOST[1], tok=t,
                date="Tue, 4 Mar 2025 09:03:15 +0000 (UTC)", arrival="Tue,  4 Mar 2025 09:03:13 +0000 (UTC)",
                human_lines=("<%s>: host mail.halesofhexham.example[198.51.100.188] said:\n"
                             "    553 5.1.8 <%s>: Sender address rejected:\n"
                             "    Domain not found (in reply to RCPT TO command)" % (rc, bounce_addr(t))),
                rcpts=[[("Final-Recipient", "rfc822; %s" % rc), ("Original-Recipient", "rfc822;%s" % rc),
                        ("Action", "failed"), ("Status", "5.1.8"),
                        ("Remote-MTA", "dns; mail.halesofhexham.example"),
                        ("Diagnostic-Code", "smtp; 553 5.1.8 <%s>: Sender address\n"
                         "    rejected: Domain not found" % bounce_addr(t))]],
                enclosed=enc, actions=[],
                note="5.1.8 bad *sender* address (our return path): the recipient is fine, never suppress.")

    # N08 success DSN, Action: delivered
    t = hid("tok", "n08", n=10)
    rc = "tenders@northgate-council.example"
    enc = outbound(MARCUS, rc, "Tender NCC-2025-044: Northwind response",
                   "Dear Sir or Madam,\n\nPlease find our response to tender NCC-2025-044 attached.\n\n"
                   "Marcus Oyelaran\nNorthwind Ltd\n", "Wed, 5 Mar 2025 16:00:00 +0000", "n08", t)
    postfix_dsn("n08-delivered-success", host="mx.northgate-council.example", ip="203.0.113.230", tok=t,
                date="Wed, 5 Mar 2025 16:00:09 +0000 (GMT)", arrival="Wed,  5 Mar 2025 16:00:06 +0000 (GMT)",
                subject="Successful Mail Delivery Report", head=POSTFIX_SUCCESS_HEAD,
                human_lines="<%s>: delivery via private/dovecot-lmtp: 250 2.0.0 <%s>\n    kJ2fHbZ3yGcBxQAA0J78UA Saved" % (rc, rc),
                rcpts=[[("Final-Recipient", "rfc822; %s" % rc), ("Original-Recipient", "rfc822;%s" % rc),
                        ("Action", "delivered"), ("Status", "2.0.0"),
                        ("Remote-MTA", "dns; mx.northgate-council.example"),
                        ("Diagnostic-Code", "lmtp; 250 2.0.0 <%s> kJ2fHbZ3yGcBxQAA0J78UA Saved" % rc)]],
                enclosed=enc, headers_only=True, actions=[],
                note="Positive DSN (NOTIFY=SUCCESS), Action: delivered 2.0.0.")

    # N09 relayed to a non-DSN-aware system
    t = hid("tok", "n09", n=10)
    rc = "procurement@dunmore-hospitals.example"
    enc = outbound(MARCUS, rc, "Tender DH-0221: Northwind response",
                   "Hello,\n\nOur response to DH-0221 is attached.\n\nMarcus Oyelaran\nNorthwind Ltd\n",
                   "Wed, 5 Mar 2025 16:30:00 +0000", "n09", t)
    postfix_dsn("n09-relayed-non-dsn", host="gw.dunmore-hospitals.example", ip="203.0.113.231", tok=t,
                date="Wed, 5 Mar 2025 16:30:08 +0000 (GMT)", arrival="Wed,  5 Mar 2025 16:30:05 +0000 (GMT)",
                subject="Successful Mail Delivery Report",
                head=("This is the mail system at host %s.\n\n"
                      "Your message was successfully delivered to the destination(s)\n"
                      "listed below. If the message was delivered to mailbox you will\n"
                      "receive no further notifications. Otherwise you may still receive\n"
                      "notifications of mail delivery errors from other systems.\n\n"
                      "                   The mail system\n\n"),
                human_lines=("<%s>: delivery via exch01.dunmore-hospitals.example[10.1.4.20]:25:\n"
                             "    250 2.6.0 <%s> Queued mail for delivery" % (rc, nw_msgid("n09")[1:-1])),
                rcpts=[[("Final-Recipient", "rfc822; %s" % rc), ("Original-Recipient", "rfc822;%s" % rc),
                        ("Action", "relayed"), ("Status", "2.0.0"),
                        ("Remote-MTA", "dns; exch01.dunmore-hospitals.example"),
                        ("Diagnostic-Code", "smtp; 250 2.6.0 Queued mail for delivery")]],
                enclosed=enc, headers_only=True, actions=[],
                note="Action: relayed (next hop not DSN-aware).")

    # N10 qmail/vpopmail plain text, over quota 5.2.2
    t = hid("tok", "n10", n=10)
    rc = "bookings@fairweather-inn.example"
    enc = outbound(HANNAH, rc, "Breakfast roundtable, Manchester 20 March", invite_en("there", t),
                   "Tue, 4 Mar 2025 08:30:00 +0000", "n10", t)
    host = "mail.fairweather-inn.example"
    body = ("Hi. This is the qmail-send program at %s.\n"
            "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
            "This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
            "<%s>:\nThe users mailfolder is over the allowed quota (size). (#5.2.2)\n\n"
            "--- Below this line is a copy of the message.\n\n" % (host, rc) + enc)
    bounce("n10-qmail-over-quota", frm="MAILER-DAEMON@%s" % host, tok=t, subject="failure notice",
           date="4 Mar 2025 08:30:11 -0000", host=host, ip="203.0.113.44", body=body, mime=False,
           lang="en", actions=[], note="qmail/vpopmail plain text, over quota (#5.2.2) - 'permanent error' wording but mailbox full.")

    # N11 Exim plain text, bare 'Unrouteable address'
    t = hid("tok", "n11", n=10)
    rc = "info@oldmill-bakehouse.example"
    enc = outbound(MARCUS, rc, "Quick question about your cold rooms",
                   pitch_en("there", "The Old Mill Bakehouse", "Stroud", t), "Mon, 3 Mar 2025 10:12:00 +0000", "n11", t)
    host = "relay.oldmill-bakehouse.example"
    body = ("This message was created automatically by mail delivery software.\n\n"
            "A message that you sent could not be delivered to one or more of its\n"
            "recipients. This is a permanent error. The following address(es) failed:\n\n"
            "  %s\n    Unrouteable address\n\n"
            "------ This is a copy of the message, including all the headers. ------\n\n" % rc + enc)
    bounce("n11-exim-unrouteable", frm="Mail Delivery System <Mailer-Daemon@%s>" % host, tok=t,
           subject="Mail delivery failed: returning message to sender", date="Mon, 03 Mar 2025 10:12:05 +0000",
           host=host, ip="203.0.113.71", body=text(body, cte="7bit"),
           extra=[("X-Failed-Recipients", rc), ("Auto-Submitted", "auto-replied")],
           lang="en", actions=[],
           note="AMBIGUOUS by design: Exim 'Unrouteable address' with no code and no 'unknown user' text (routing/DNS or missing local part). Labelled no-suppress under 'suppress only when unambiguous'.")

    # N12 Exim plain text delay warning
    t = hid("tok", "n12", n=10)
    rc = "orders@mulberry-hall.example"
    enc = outbound(MARCUS, rc, "Following up", followup_en("there", t), "Tue, 4 Mar 2025 09:03:11 +0000", "n12", t)
    host = "gw.mulberry-hall.example"
    body = ("This message was created automatically by mail delivery software.\n"
            "A message that you sent has not yet been delivered to one or more of its\n"
            "recipients after more than 24 hours on the queue on %s.\n\n"
            "The message identifier is:     1tpQ3x-0007Lh-2F\n"
            "The subject of the message is: Following up\n"
            "The date of the message is:    Tue, 04 Mar 2025 09:03:11 +0000\n\n"
            "The address to which the message has not yet been delivered is:\n\n"
            "  %s\n    host exch01.mulberry-hall.example [10.8.0.14]\n"
            "    Delay reason: SMTP error from remote mail server after RCPT TO:<%s>:\n"
            "    451 4.7.1 Greylisting in action, please come back later\n\n"
            "No action is required on your part. Delivery attempts will continue for\n"
            "some time, and this warning may be repeated at intervals if the message\n"
            "remains undelivered. Eventually the mail delivery software will give up,\n"
            "and when that happens, the message will be returned to you.\n" % (host, rc, rc))
    bounce("n12-exim-delay-warning", frm="Mail Delivery System <Mailer-Daemon@%s>" % host, tok=t,
           subject="Warning: message 1tpQ3x-0007Lh-2F delayed 24 hours", date="Wed, 05 Mar 2025 09:15:40 +0000",
           host=host, ip="203.0.113.19", body=text(body, cte="7bit"),
           extra=[("Auto-Submitted", "auto-replied")], lang="en", actions=[],
           note="Exim delay warning (4.7.1 greylisting), plain text.")

    # N13 Sendmail plain text 4-hour warning
    t = hid("tok", "n13", n=10)
    rc = "k.o'brien@shannonside-dairy.example"
    enc = outbound(MARCUS, rc, "Following up", followup_en("Kieran", t), "Tue, 4 Mar 2025 09:03:00 +0000", "n13", t)
    host = "mailgw.shannonside-dairy.example"
    body = ("    **********************************************\n"
            "    **      THIS IS A WARNING MESSAGE ONLY      **\n"
            "    **  YOU DO NOT NEED TO RESEND YOUR MESSAGE  **\n"
            "    **********************************************\n\n"
            "The original message was received at Tue, 4 Mar 2025 09:03:05 GMT\n"
            "from smtp-out2.relayhub.example [198.51.100.25]\n\n"
            "   ----- Transcript of session follows -----\n"
            "<%s>... Deferred: Connection timed out with mail.shannonside-dairy.example.\n"
            "Warning: message still undelivered after 4 hours\n"
            "Will keep trying until message is 5 days old\n\n"
            "   ----- Original message follows -----\n\n" % rc + enc)
    bounce("n13-sendmail-4h-warning", frm="Mail Delivery Subsystem <MAILER-DAEMON@%s>" % host, tok=t,
           subject="Warning: could not send message for past 4 hours", date="Tue, 4 Mar 2025 13:05:22 GMT",
           host=host, ip="203.0.113.12", body=text(body, cte="7bit"), lang="en", actions=[],
           note="Sendmail 4-hour delay warning, plain text; apostrophe in the local part.")


# ======================================================================
# ARF (RFC 5965) feedback reports
# ======================================================================

def arf(rel, *, frm, host, ip, subject, date, human, fields, enclosed, actions, note,
        headers_only=False, lang="en", boundary_style="x", extra=()):
    fb = "".join("%s: %s\n" % kv for kv in fields)
    third = rfc822_headers(enclosed) if headers_only else rfc822(enclosed)
    third.headers.append(("Content-Disposition", "inline"))
    body = multipart("report", [human, Part([("Content-Type", "message/feedback-report")], fb), third],
                     mkb(rel, boundary_style), params=" report-type=feedback-report;")
    hdrs = [
        ("Return-Path", "<>" if "fraud" not in rel else "<%s>" % frm[1]),
        ("Received", "from %s (%s [%s])\n\tby mx1.fb.northwind.example (Postfix) with ESMTPS id 4Z%s\n"
         "\tfor <fbl@fb.northwind.example>; %s" % (host, host, ip, hid("q", rel, n=11).upper(), date)),
        ("Date", date),
        ("From", a(*frm)),
        ("To", "fbl@fb.northwind.example"),
        ("Subject", h(subject)),
        ("Message-ID", "<%s@%s>" % (hid("amid", rel, n=22), host)),
    ] + list(extra)
    emit("arf/%s.eml" % rel, render_message(hdrs, body), "arf", None, actions, lang, note)


def arf_fields(ftype, ua, mail_from, rcpt, arrival, src_ip, rep_mta, extra=()):
    f = [("Feedback-Type", ftype), ("User-Agent", ua), ("Version", "1"),
         ("Original-Mail-From", "<%s>" % mail_from)]
    if rcpt:
        f.append(("Original-Rcpt-To", "<%s>" % rcpt))
    f += [("Arrival-Date", arrival), ("Reporting-MTA", "dns; %s" % rep_mta), ("Source-IP", src_ip)]
    f += list(extra)
    return f


def arfs():
    src = SMARTHOST[1]

    # R01 abuse, Original-Rcpt-To present
    t = hid("tok", "r01", n=10)
    rc = "elodie.marchand@courrielia.example"
    enc = outbound(NEWS_FR, rc, "La lettre Northwind - mars 2025", newsletter_fr(t),
                   "Thu, 6 Mar 2025 07:00:00 +0100", "r01", t, list_mail=True)
    human = text("Ceci est un rapport de plainte (ARF) concernant un message reçu de\n"
                 "l'adresse IP %s le jeu. 6 mars 2025 07:00:05 +0100.\n"
                 "Un de nos abonnés a signalé ce message comme indésirable.\n\n"
                 "This is an email abuse report for an email message received from IP\n"
                 "%s on Thu, 06 Mar 2025 07:00:05 +0100.\n" % (src, src))
    arf("r01-abuse-original-rcpt-to", frm=("Courrielia FBL", "arf@fbl.courrielia.example"),
        host="fbl-out1.courrielia.example", ip="203.0.113.150",
        subject="Rapport de plainte / Abuse report", date="Fri, 7 Mar 2025 11:20:41 +0100",
        human=human,
        fields=arf_fields("abuse", "Courrielia-FBL/2.1", bounce_addr(t), rc,
                          "Thu, 06 Mar 2025 07:00:05 +0100", src, "mx3.courrielia.example",
                          [("Authentication-Results", "mx3.courrielia.example; dkim=pass\n"
                            "    header.d=northwind-mail.example; spf=pass\n"
                            "    smtp.mailfrom=fb.northwind.example"),
                           ("Reported-Domain", "northwind-mail.example")]),
        enclosed=enc, actions=[S(rc, "complaint")], lang="fr",
        note="Feedback-Type abuse with Original-Rcpt-To; bilingual French/English human part.")

    # R02 abuse, no Original-Rcpt-To: use the enclosed To
    t = hid("tok", "r02", n=10)
    rc = "greg.holloway@kelpmail.example"
    enc = outbound(NEWS_EN, a("Greg Holloway", rc), "Northwind Insights - March 2025", newsletter_en(t),
                   "Thu, 6 Mar 2025 07:00:00 +0000", "r02", t, list_mail=True)
    human = text("This is an email abuse report for an email message received from IP\n"
                 "%s on Thu, 06 Mar 2025 07:00:06 +0000.\n"
                 "For information, please review https://postmaster.kelpmail.example/fbl\n" % src)
    arf("r02-abuse-enclosed-to-only", frm=("Kelpmail Feedback Loop", "fbl-noreply@kelpmail.example"),
        host="fbl.kelpmail.example", ip="203.0.113.155",
        subject="Email Feedback Report for IP %s" % src, date="Thu, 6 Mar 2025 19:02:13 +0000",
        human=human,
        fields=arf_fields("abuse", "Kelpmail-ARF/1.0", bounce_addr(t), None,
                          "Thu, 06 Mar 2025 07:00:06 +0000", src, "mta7.kelpmail.example"),
        enclosed=enc, actions=[S(rc, "complaint")],
        note="No Original-Rcpt-To: the To of the enclosed message (with display name) is the target.")

    # R03 fraud, corporate security gateway
    t = hid("tok", "r03", n=10)
    rc = "accounts.payable@hollybush-inns.example"
    enc = outbound(MARCUS, rc, "Overdue: Northwind invoice NW-10482",
                   "Hello,\n\nOur records show invoice NW-10482 (GBP 1,284.00) is 14 days overdue.\n"
                   "You can view and pay it here: https://pay.northwind.example/i/NW-10482\n\n"
                   "Thanks,\nNorthwind Accounts\n", "Wed, 5 Mar 2025 08:00:00 +0000", "r03", t)
    human = text("A user at hollybush-inns.example reported the attached message as\n"
                 "phishing / fraud via the Report Message button.\n\n"
                 "Reporter comment: \"we have never bought anything from these people\"\n")
    arf("r03-fraud", frm=("Hollybush Inns Mail Security", "abuse-reports@secgw.hollybush-inns.example"),
        host="secgw.hollybush-inns.example", ip="203.0.113.158",
        subject="FW: [Reported as fraud] Overdue: Northwind invoice NW-10482", date="Wed, 5 Mar 2025 09:41:27 +0000",
        human=human,
        fields=arf_fields("fraud", "SecGW-Reporter/5.4", bounce_addr(t), rc,
                          "Wed, 05 Mar 2025 08:00:04 +0000", src, "secgw.hollybush-inns.example",
                          [("Reported-Domain", "northwind.example"),
                           ("Reported-Uri", "https://pay.northwind.example/i/NW-10482")]),
        enclosed=enc, actions=[S(rc, "complaint")], boundary_style="outlook",
        note="Feedback-Type fraud (phishing report of an invoice reminder).")

    # R04 virus, enclosed message carries an attachment
    t = hid("tok", "r04", n=10)
    rc = "s.patel@netvox.example"
    pdf = base64.encodebytes(b"%PDF-1.4\n% Northwind spec sheet\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n").decode()
    inner_body = multipart("mixed", [
        text("Hi Sunil,\n\nSpec sheet attached as promised.\n\nMarcus\n"),
        Part([("Content-Type", 'application/pdf; name="Northwind-Sense-spec.pdf"'),
              ("Content-Disposition", 'attachment; filename="Northwind-Sense-spec.pdf"'),
              ("Content-Transfer-Encoding", "base64")], pdf)], mkb("r04in", "x"))
    enc = render_message([("Return-Path", "<%s>" % bounce_addr(t)), ("From", a(*MARCUS)),
                          ("To", a("Sunil Patel", rc)), ("Subject", "Northwind Sense spec sheet"),
                          ("Date", "Tue, 4 Mar 2025 15:10:00 +0000"), ("Message-ID", nw_msgid("r04"))],
                         inner_body)
    human = text("This is a virus report for a message received from %s.\n"
                 "Scanner result: Heuristics.PDF.ObfuscatedJS (false positives possible).\n" % src)
    arf("r04-virus", frm=("Netvox Abuse Desk", "abuse-noreply@netvox.example"),
        host="arf.netvox.example", ip="203.0.113.160", subject="Virus report: Northwind Sense spec sheet",
        date="Tue, 4 Mar 2025 15:10:44 +0000", human=human,
        fields=arf_fields("virus", "Netvox-AV-ARF/0.9", bounce_addr(t), rc,
                          "Tue, 04 Mar 2025 15:10:03 +0000", src, "in2.netvox.example"),
        enclosed=enc, actions=[S(rc, "complaint")],
        note="Feedback-Type virus; enclosed message is multipart/mixed with a PDF.")

    # R05 not-spam
    t = hid("tok", "r05", n=10)
    rc = "moira.fitz@kelpmail.example"
    enc = outbound(NEWS_EN, rc, "Northwind Insights - March 2025", newsletter_en(t),
                   "Thu, 6 Mar 2025 07:00:00 +0000", "r05", t, list_mail=True)
    human = text("This is a not-spam report: the recipient moved the attached message\n"
                 "out of the Junk folder.\n")
    arf("r05-not-spam", frm=("Kelpmail Feedback Loop", "fbl-noreply@kelpmail.example"),
        host="fbl.kelpmail.example", ip="203.0.113.155",
        subject="Email Feedback Report (not-spam) for IP %s" % src, date="Fri, 7 Mar 2025 08:14:09 +0000",
        human=human,
        fields=arf_fields("not-spam", "Kelpmail-ARF/1.0", bounce_addr(t), rc,
                          "Thu, 06 Mar 2025 07:00:06 +0000", src, "mta7.kelpmail.example"),
        enclosed=enc, actions=[], note="Feedback-Type not-spam: nothing to change.")

    # R06 abuse with a redacted recipient
    t = hid("tok", "r06", n=10)
    enc = outbound(NEWS_EN, "redacted@skylark-isp.example", "Northwind Insights - March 2025",
                   newsletter_en(t).replace(t, "REDACTED"),
                   "Thu, 6 Mar 2025 07:00:00 +0000", "r06", "REDACTED", list_mail=True)
    human = text("This is an email abuse report for an email message received from IP\n"
                 "%s on Thu, 06 Mar 2025 07:00:07 +0000.\n\n"
                 "Recipient information in this report has been redacted in accordance\n"
                 "with the Skylark privacy policy.\n" % src)
    arf("r06-abuse-redacted-recipient", frm=("Skylark Postmaster", "complaints@feedback.skylark-isp.example"),
        host="feedback.skylark-isp.example", ip="203.0.113.166",
        subject="Skylark complaint report", date="Thu, 6 Mar 2025 21:40:02 +0000", human=human,
        fields=arf_fields("abuse", "Skylark-FBL/3", "redacted@fb.northwind.example", None,
                          "Thu, 06 Mar 2025 07:00:07 +0000", src, "mx1.skylark-isp.example"),
        enclosed=enc, actions=[],
        note="Recipient redacted (no Original-Rcpt-To, enclosed To 'redacted@', VERP token replaced): nothing to suppress.")

    # R07 abuse, text/rfc822-headers only, French reporter
    t = hid("tok", "r07", n=10)
    rc = "bernard.aubry@courrielia.example"
    enc = outbound(CLAIRE, a("Bernard Aubry", rc), "Serbotel Nantes - stand B42", salon_fr("Bernard", t),
                   "Wed, 5 Mar 2025 08:45:00 +0100", "r07", t)
    human = text("Ceci est un rapport de plainte pour un message reçu de l'adresse IP\n"
                 "%s le mer. 5 mars 2025 08:45:04 +0100.\n"
                 "Seuls les en-têtes du message sont joints.\n" % src)
    arf("r07-abuse-headers-only-fr", frm=("Courrielia FBL", "arf@fbl.courrielia.example"),
        host="fbl-out2.courrielia.example", ip="203.0.113.151",
        subject="Rapport de plainte", date="Wed, 5 Mar 2025 17:03:55 +0100", human=human,
        fields=arf_fields("abuse", "Courrielia-FBL/2.1", bounce_addr(t), rc,
                          "Wed, 05 Mar 2025 08:45:04 +0100", src, "mx1.courrielia.example"),
        enclosed=enc, headers_only=True, lang="fr", actions=[S(rc, "complaint")],
        note="Third part is text/rfc822-headers (no body); French human part.")

    # R08 abuse, Original-Rcpt-To while the enclosed To is 'undisclosed recipients'
    t = hid("tok", "r08", n=10)
    rc = "lena.varga@netvox.example"
    enc = outbound(HANNAH, "undisclosed-recipients:;", "Breakfast roundtable, Manchester 20 March",
                   invite_en("there", t), "Tue, 4 Mar 2025 08:30:00 +0000", "r08", t)
    human = text("Abuse report generated by Netvox for a message received from %s.\n"
                 "The recipient clicked \"This is spam\".\n" % src)
    arf("r08-abuse-undisclosed-to", frm=("Netvox Abuse Desk", "abuse-noreply@netvox.example"),
        host="arf.netvox.example", ip="203.0.113.160", subject="Abuse report: Breakfast roundtable, Manchester 20 March",
        date="Tue, 4 Mar 2025 12:01:30 +0000", human=human,
        fields=arf_fields("abuse", "Netvox-AV-ARF/0.9", bounce_addr(t), rc,
                          "Tue, 04 Mar 2025 08:30:04 +0000", src, "in1.netvox.example"),
        enclosed=enc, actions=[S(rc, "complaint")],
        note="Original-Rcpt-To wins over the enclosed 'undisclosed-recipients:;' To.")


# ======================================================================
# writing and checking
# ======================================================================

def write_all():
    for d in SUBDIRS:
        p = os.path.join(OUT, d)
        os.makedirs(p, exist_ok=True)
        for f in os.listdir(p):
            if f.endswith(".eml"):
                os.remove(os.path.join(p, f))
    for rel in sorted(FILES):
        with open(os.path.join(OUT, rel), "wb") as f:
            f.write(FILES[rel])
    with open(os.path.join(OUT, "labels.jsonl"), "w", encoding="utf-8", newline="\n") as f:
        for lab in sorted(LABELS, key=lambda l: l["file"]):
            f.write(json.dumps(lab, ensure_ascii=False) + "\n")
    with open(os.path.join(OUT, "relay.toml"), "w", encoding="utf-8", newline="\n") as f:
        f.write("[feedback]\n"
                'internal_domains = ["northwind.example", "northwind-mail.example"]\n')


def _all_text(msg):
    """Headers and decoded text of every part, lower-cased (for sanity checks)."""
    out = []
    for part in msg.walk():
        for k, v in part.items():
            out.append(str(v))
        if part.get_content_maintype() == "text":
            out.append(part.get_content())
    return "\n".join(out).lower()


def check():
    errors = []
    parser = email.parser.BytesParser(policy=policy.default)
    on_disk = set()
    for d in SUBDIRS:
        for f in os.listdir(os.path.join(OUT, d)):
            if f.endswith(".eml"):
                on_disk.add("%s/%s" % (d, f))
    labels = [json.loads(l) for l in open(os.path.join(OUT, "labels.jsonl"), encoding="utf-8")]
    names = [l["file"] for l in labels]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        errors.append("labelled more than once: %s" % sorted(dup))
    for n in sorted(set(names) - on_disk):
        errors.append("labelled but missing: %s" % n)
    for n in sorted(on_disk - set(names)):
        errors.append("file without label: %s" % n)

    for lab in labels:
        rel = lab["file"]
        if set(lab) != {"file", "kind", "class", "actions", "lang", "note"}:
            errors.append("%s: label keys %s" % (rel, sorted(lab)))
        if lab["kind"] not in KINDS:
            errors.append("%s: bad kind" % rel)
        if (lab["kind"] == "reply") != (lab["class"] is not None) or \
                (lab["class"] is not None and lab["class"] not in CLASSES):
            errors.append("%s: bad class" % rel)
        if rel.split("/")[0] != {"reply": "replies", "auto-reply": "auto", "dsn": "dsn", "arf": "arf"}[lab["kind"]]:
            errors.append("%s: kind/dir mismatch" % rel)
        for act in lab["actions"]:
            if act["action"] not in ("suppress", "review") or act["reason"] not in REASONS:
                errors.append("%s: bad action %r" % (rel, act))
            if ("status" in act) != (act["reason"] == "hard-bounce"):
                errors.append("%s: status only (and always) on hard bounces" % rel)
        if lab["kind"] == "auto-reply" and lab["actions"]:
            errors.append("%s: auto-reply with actions" % rel)
        path = os.path.join(OUT, rel)
        if not os.path.exists(path):
            continue
        data = open(path, "rb").read()
        if data.count(b"\n") != data.count(b"\r\n") or data.count(b"\r") != data.count(b"\r\n"):
            errors.append("%s: not pure CRLF" % rel)
        if any(len(l) > 998 for l in data.split(b"\r\n")):
            errors.append("%s: line longer than 998 octets" % rel)
        head = data.split(b"\r\n\r\n", 1)[0]
        if not head.isascii():
            errors.append("%s: 8-bit data in the top-level header" % rel)
        msg = parser.parsebytes(data)
        for part in msg.walk():
            for d in part.defects:
                errors.append("%s: defect %s in %s" % (rel, type(d).__name__, part.get_content_type()))
            for k, v in part.items():
                for d in getattr(v, "defects", ()):
                    errors.append("%s: header %s defect %s" % (rel, k, type(d).__name__))
            if part.get_content_maintype() == "text":
                try:
                    c = part.get_content()
                    if "\ufffd" in c:
                        errors.append("%s: undecodable text" % rel)
                except Exception as e:  # pragma: no cover
                    errors.append("%s: cannot decode text part: %s" % (rel, e))
        blob = _all_text(msg)
        for act in lab["actions"]:
            tgt = act["target"]
            if tgt.startswith("@"):
                if tgt[1:] not in blob:
                    errors.append("%s: domain %s not in message" % (rel, tgt))
            elif tgt not in blob:
                errors.append("%s: target %s not in message" % (rel, tgt))
        if lab["kind"] == "reply" and lab["class"] in ("unsubscribe", "unsubscribe-company", "legal", "unclear") \
                and lab["actions"]:
            sender = msg["From"].addresses[0].addr_spec.lower()
            if lab["actions"][0]["target"] != sender:
                errors.append("%s: first action is not the sender %s" % (rel, sender))
    return errors, labels


def summary(labels):
    from collections import Counter
    by_kind = Counter(l["kind"] for l in labels)
    by_class = Counter((l["lang"], l["class"]) for l in labels if l["kind"] == "reply")
    print("files: %d" % len(labels))
    for k, n in sorted(by_kind.items()):
        print("  %-11s %d" % (k, n))
    print("replies by class/lang:")
    for c in sorted(CLASSES):
        print("  %-20s en=%d fr=%d" % (c, by_class[("en", c)], by_class[("fr", c)]))
    dsn = [l for l in labels if l["kind"] == "dsn"]
    print("dsn suppressing: %d, not suppressing: %d" % (
        sum(1 for l in dsn if l["actions"]), sum(1 for l in dsn if not l["actions"])))
    print("arf suppressing: %d, not suppressing: %d" % (
        sum(1 for l in labels if l["kind"] == "arf" and l["actions"]),
        sum(1 for l in labels if l["kind"] == "arf" and not l["actions"])))


def main():
    replies_en()
    replies_fr()
    autos()
    dsns_suppress()
    dsns_keep()
    arfs()
    write_all()
    errors, labels = check()
    summary(labels)
    if errors:
        print("\n%d problem(s):" % len(errors))
        for e in errors:
            print("  " + e)
        return 1
    print("all files parse without defects; labels and files match one-to-one")
    return 0


if __name__ == "__main__":
    sys.exit(main())
