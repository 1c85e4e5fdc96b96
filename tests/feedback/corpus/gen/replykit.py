"""Builder for human replies (and auto-replies) to the sales mails."""
from datetime import timedelta

from .engine import (RNG, ACME_DOMAINS, FREEMAIL, DAYS_EN, MONTHS_EN, DAYS_FR, DAYS_FR_ABBR,
                     MONTHS_FR, MONTHS_FR_ABBR, Leaf, Multi, render_message, addr, subj, msgid,
                     rfc_date, h12, rhex, rHEX, ralnum, ruuid, esc, lines_html, linkify, is_ascii,
                     next_date, write, label, sup, rev, pick_eol)
from .sales import Original, REPS

# ------------------------------------------------------------------ attribution lines


def _ord(n):
    return f"{n}{'th' if 11 <= n % 100 <= 13 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def attribution(style, lang, o, nbsp=False):
    d, n, e = o.date, o.rep_name, o.rep_addr
    sp = "\u00a0" if nbsp else " "
    if style in ("gmail", "zoho-gm"):
        if lang == "fr":
            return (f"Le {DAYS_FR_ABBR[d.weekday()]} {d.day} {MONTHS_FR_ABBR[d.month - 1]} {d.year} à "
                    f"{d:%H:%M}, {n} <{e}> a écrit{sp}:")
        return f"On {DAYS_EN[d.weekday()][:3]}, {MONTHS_EN[d.month - 1][:3]} {d.day}, {d.year} at {h12(d)} {n} <{e}> wrote:"
    if style in ("apple", "iphone"):
        if lang == "fr":
            return f"Le {d.day} {MONTHS_FR[d.month - 1]} {d.year} à {d:%H:%M}, {n} <{e}> a écrit{sp}:"
        return f"On {MONTHS_EN[d.month - 1][:3]} {d.day}, {d.year}, at {h12(d)}, {n} <{e}> wrote:"
    if style == "tb":
        if lang == "fr":
            return f"Le {d:%d/%m/%Y} à {d:%H:%M}, {n} a écrit{sp}:"
        return f"On {d.month}/{d.day}/{d:%y} {h12(d)}, {n} wrote:"
    if style == "roundcube":
        if lang == "fr":
            return f"Le {d:%Y-%m-%d %H:%M}, {n} a écrit{sp}:"
        return f"On {d:%Y-%m-%d %H:%M}, {n} wrote:"
    if style == "yahoo":
        if lang == "fr":
            off = int(d.utcoffset().total_seconds() // 3600)
            return (f"Le {DAYS_FR[d.weekday()]} {d.day} {MONTHS_FR[d.month - 1]} {d.year} à {d:%H:%M:%S} "
                    f"UTC{off:+d}, {n} <{e}> a écrit{sp}:")
        return (f"On {DAYS_EN[d.weekday()]}, {MONTHS_EN[d.month - 1]} {d.day}, {d.year} at "
                f"{d.hour % 12 or 12}:{d:%M:%S} {'AM' if d.hour < 12 else 'PM'} {d.tzname()}, {n} <{e}> wrote:")
    if style == "proton":
        return f"On {DAYS_EN[d.weekday()]}, {MONTHS_EN[d.month - 1]} {_ord(d.day)}, {d.year} at {h12(d)}, {n} <{e}> wrote:"
    if style == "zoho":
        if lang == "fr":
            return (f"---- Le {DAYS_FR_ABBR[d.weekday()].rstrip('.')}., {d.day:02d} {MONTHS_FR_ABBR[d.month - 1]} "
                    f"{d.year} {d:%H:%M:%S} {d:%z} {n} <{e}> a écrit ---")
        return f"---- On {DAYS_EN[d.weekday()][:3]}, {d.day:02d} {MONTHS_EN[d.month - 1][:3]} {d.year} {d:%H:%M:%S} {d:%z} {n} <{e}> wrote ---"
    raise ValueError(style)


def outlook_fields(lang, o, to_line=None):
    d = o.date
    to = to_line or addr(o.to_name, o.to_addr).replace('"', "")
    if o.extra_to and not to_line:
        to = "; ".join([to] + [addr(nm, a).replace('"', "") for nm, a in o.extra_to])
    if lang == "fr":
        return [("De", f"{o.rep_name} <{o.rep_addr}>"),
                ("Envoyé", f"{DAYS_FR[d.weekday()]} {d.day} {MONTHS_FR[d.month - 1]} {d.year} {d:%H:%M}"),
                ("À", to), ("Objet", o.subject)]
    return [("From", f"{o.rep_name} <{o.rep_addr}>"),
            ("Sent", f"{DAYS_EN[d.weekday()]}, {MONTHS_EN[d.month - 1]} {d.day}, {d.year} {h12(d)}"),
            ("To", to), ("Subject", o.subject)]


def _sep(lang):
    return " : " if lang == "fr" else ": "


# ------------------------------------------------------------------ plain quote blocks

def gt(text, empty=">"):
    return "\n".join(("> " + l) if l.strip() else empty for l in text.rstrip("\n").split("\n"))


def quote_plain(style, lang, o, opts):
    body = o.full_body()
    nbsp = opts.get("nbsp", False)
    if style == "none":
        return ""
    if style == "gmail":
        a = attribution("gmail", lang, o, nbsp)
        if opts.get("wrap_attr") and len(a) > 76:
            cut = a.rfind(" ", 0, 76)
            a = a[:cut] + "\n" + a[cut + 1:]
        return a + "\n\n" + gt(body)
    if style == "apple":
        return attribution("apple", lang, o, nbsp) + "\n\n" + gt(body, "> ")
    if style == "iphone":
        return "> " + attribution("iphone", lang, o, nbsp) + "\n> \n" + gt(body, "> ")
    if style == "tb":
        return attribution("tb", lang, o, nbsp) + "\n" + gt(body)
    if style == "roundcube":
        return attribution("roundcube", lang, o, nbsp) + "\n\n" + gt(body)
    if style == "yahoo":
        return ("    " + attribution("yahoo", lang, o, nbsp) + "  \n \n" +
                "\n".join(" " + l for l in body.rstrip("\n").split("\n")))
    if style == "proton":
        return ("------- Original Message -------\n" + attribution("proton", lang, o) + "\n\n" + gt(body))
    if style == "zoho":
        return attribution("zoho", lang, o) + "\n\n" + gt(body)
    if style in ("outlook", "outlook-old", "owa"):
        f = outlook_fields(lang, o, opts.get("to_line"))
        block = "\n".join(f"{k}{_sep(lang)}{v}" for k, v in f)
        if style == "outlook":
            head = ""
        elif style == "owa":
            head = "________________________________\n"
        else:
            head = ("-----Message d'origine-----\n" if lang == "fr" else "-----Original Message-----\n")
        return head + block + "\n\n" + body.rstrip("\n")
    if style == "samsung":
        d = o.date
        to = opts.get("to_line") or o.to_addr
        if lang == "fr":
            off = int(d.utcoffset().total_seconds() // 3600)
            return ("-------- Message d'origine --------\n"
                    f"De : {o.rep_name} <{o.rep_addr}> \nDate : {d:%d/%m/%Y} {d:%H:%M}  (GMT{off:+03d}:00) \n"
                    f"À : {to} \nObjet : {o.subject} \n\n" + body.rstrip("\n"))
        off = int(d.utcoffset().total_seconds() // 3600)
        return ("-------- Original message --------\n"
                f"From: {o.rep_name} <{o.rep_addr}> \nDate: {d.month}/{d.day}/{d:%y} {h12(d)}  (GMT{off:+03d}:00) \n"
                f"To: {to} \nSubject: {o.subject} \n\n" + body.rstrip("\n"))
    if style == "orange":
        d = o.date
        to = opts.get("to_line") or o.to_addr
        head = (f"Message du {d:%d/%m/%y} {d:%H:%M}\nDe : \"{o.rep_name}\" <{o.rep_addr}>\nA : {to}\n"
                f"Copie à : \nObjet : {o.subject}\n\n")
        return gt(head + body, ">")
    raise ValueError(style)


# ------------------------------------------------------------------ html quote blocks

def quote_html(style, lang, o, opts):
    body = o.full_body()
    ob = lines_html(body, "br")
    if style == "none":
        return ""
    if style in ("gmail",):
        a = esc(attribution("gmail", lang, o, opts.get("nbsp", False))).replace(
            esc(f"<{o.rep_addr}>"), f'&lt;<a href="mailto:{o.rep_addr}">{o.rep_addr}</a>&gt;')
        return ('<div class="gmail_quote gmail_quote_container"><div dir="ltr" class="gmail_attr">' + a +
                '<br></div><blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;'
                'border-left:1px solid rgb(204,204,204);padding-left:1ex">' + ob + "</blockquote></div>")
    if style in ("apple", "iphone"):
        return ('<div><br><blockquote type="cite"><div>' + esc(attribution("apple", lang, o)) +
                '</div><br class="Apple-interchange-newline"><div><div>' + ob + "</div></div></blockquote></div>")
    if style in ("tb", "roundcube"):
        return ('<div class="moz-cite-prefix">' + esc(attribution(style, lang, o)) + "<br></div>\n"
                f'<blockquote type="cite" cite="mid:{o.mid[1:-1]}">' + ob + "</blockquote>")
    if style == "yahoo":
        return ('<div id="yahoo_quoted_' + str(RNG.randint(10**9, 10**10)) + '" class="yahoo_quoted">'
                '<div style="font-family:\'Helvetica Neue\', Helvetica, Arial, sans-serif;font-size:13px;color:#26282a;">'
                "<div>" + esc(attribution("yahoo", lang, o).strip()) + "</div><div><br></div><div><br></div>"
                '<div><div dir="ltr">' + ob + "</div></div></div></div>")
    if style == "proton":
        return ('<div class="protonmail_quote">------- Original Message -------<br>' + esc(attribution("proton", lang, o)) +
                '<br><br><blockquote class="protonmail_quote" type="cite">' + ob + "</blockquote><br></div>")
    if style in ("zoho",):
        return ('<div class="zmail_extra_hr" style="border-top: 1px solid rgb(204, 204, 204); height: 0px; '
                'margin-top: 10px; margin-bottom: 10px; line-height: 0px;"><br></div><div class="zmail_extra">'
                '<div id="Zm-_Id_-Sgn1">' + esc(attribution("zoho", lang, o)) + '<br></div><br>'
                '<blockquote style="margin: 0px;"><div>' + ob + "</div></blockquote></div>")
    if style in ("outlook", "outlook-old"):
        f = outlook_fields(lang, o, opts.get("to_line"))
        hdr = "<br>\n".join(f"<b>{k}{_sep(lang)}</b>{esc(v)}" for k, v in f)
        return ('<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm">\n'
                f'<p class="MsoNormal">{hdr}</p>\n</div>\n<p class="MsoNormal">&nbsp;</p>\n' + lines_html(body, "p"))
    if style == "owa":
        f = outlook_fields(lang, o, opts.get("to_line"))
        hdr = "<br>".join(f"<b>{k}{_sep(lang)}</b>{esc(v)}" for k, v in f)
        return ('<div id="appendonsend"></div><hr style="display:inline-block;width:98%" tabindex="-1">'
                '<div id="divRplyFwdMsg" dir="ltr"><font face="Calibri, sans-serif" style="font-size:11pt" '
                f'color="#000000">{hdr}</font><div>&nbsp;</div></div><div>' + ob + "</div>")
    if style == "orange":
        d = o.date
        return ('<blockquote style="margin-left: 0px; margin-right: 0px; padding-left: 10px; '
                'border-left: 2px solid #0066cc;"><div>' +
                esc(f"> Message du {d:%d/%m/%y} {d:%H:%M}") + "<br>" + esc(f"> De : \"{o.rep_name}\" <{o.rep_addr}>") +
                "<br>" + esc(f"> A : {o.to_addr}") + "<br>" + esc(f"> Objet : {o.subject}") + "<br></div>" + ob +
                "</blockquote>")
    if style == "samsung":
        return "<div>" + lines_html(quote_plain("samsung", lang, o, opts), "br") + "</div>"
    raise ValueError(style)


def new_html(text, client):
    if not text.strip():
        return ""
    if client in ("outlook", "outlook-desktop"):
        return lines_html(text, "p")
    if client == "owa":
        return ('<div class="elementToProof" style="font-family: Aptos, Aptos_EmbeddedFont, '
                'Aptos_MSFontService, Calibri, Helvetica, sans-serif; font-size: 12pt; color: rgb(0, 0, 0);">' +
                lines_html(text, "br") + "</div>")
    if client == "gmail":
        return '<div dir="ltr">' + lines_html(text, "div") + "</div><br>"
    if client in ("yahoo",):
        return ('<div class="ydp' + rhex(8) + 'yahoo-style-wrap" style="font-family:Helvetica Neue, Helvetica, '
                'Arial, sans-serif;font-size:13px;"><div dir="ltr" data-setdir="false">' + lines_html(text, "div") +
                "</div></div>")
    if client in ("thunderbird", "roundcube"):
        return "<p>" + lines_html(text, "br") + "</p>"
    return lines_html(text, "div")


def wrap_html_doc(inner, client, lang):
    if client in ("outlook", "outlook-desktop"):
        return ('<html xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
                'xmlns:w="urn:schemas-microsoft-com:office:word" xmlns:m="http://schemas.microsoft.com/office/2004/12/omml" '
                'xmlns="http://www.w3.org/TR/REC-html40">\n<head>\n'
                '<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\n'
                '<meta name="Generator" content="Microsoft Word 15 (filtered medium)">\n'
                '<style><!--\n/* Font Definitions */\n@font-face\n\t{font-family:"Cambria Math";}\n@font-face\n'
                '\t{font-family:Aptos;}\np.MsoNormal, li.MsoNormal, div.MsoNormal\n\t{margin:0cm;\n\tfont-size:12.0pt;\n'
                '\tfont-family:"Aptos",sans-serif;}\n--></style>\n</head>\n'
                f'<body lang="{"FR" if lang == "fr" else "EN-US"}" link="#467886" vlink="#96607D" style="word-wrap:break-word">\n'
                '<div class="WordSection1">\n' + inner + "\n</div>\n</body>\n</html>\n")
    if client == "apple" or client == "iphone":
        return ('<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8"></head>'
                '<body style="overflow-wrap: break-word; -webkit-nbsp-mode: space; line-break: after-white-space;">'
                + inner + "</body></html>\n")
    if client == "gmail":
        return inner + "\n"
    if client == "zoho":
        return ('<!DOCTYPE html><html><head><meta content="text/html;charset=UTF-8" http-equiv="Content-Type">'
                '</head><body><div style="font-family: Verdana, Arial, Helvetica, sans-serif; font-size: 10pt;">'
                + inner + "</div><br></body></html>\n")
    return ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=UTF-8"></head><body>'
            + inner + "</body></html>\n")


# ------------------------------------------------------------------ client profiles

def _bnd(client):
    if client == "gmail":
        return "0" * 12 + rhex(16)
    if client in ("outlook", "owa"):
        s = RNG.choice(["AM0PR02MB", "PA4PR08MB", "MR1P264MB", "BY5PR11MB"]) + str(RNG.randint(1000, 9999))
        return f"_000_{s}{rHEX(24)}{s}_"
    if client == "outlook-desktop":
        return f"----=_NextPart_000_00{rHEX(2)}_01DB{rHEX(4)}.{rHEX(8)}"
    if client in ("apple", "iphone"):
        return f"Apple-Mail={'_' if client == 'apple' else '-'}{ruuid(True)}"
    if client == "yahoo":
        return f"----=_Part_{RNG.randint(10**6, 10**7)}_{RNG.randint(10**8, 10**9)}.{RNG.randint(10**12, 10**13)}"
    if client == "thunderbird":
        return "------------" + ralnum(24)
    if client == "proton":
        return "b1=_" + ralnum(43)
    if client == "zoho":
        return "----=_Part_" + str(RNG.randint(10**5, 10**6)) + "_" + str(RNG.randint(10**8, 10**9)) + "." + str(RNG.randint(10**12, 10**13))
    return "=_" + rhex(32)


CLIENT_DEFAULTS = {
    # client: (fmt, quote_style, mid_kind, non-ascii cte)
    "gmail": ("alt", "gmail", "gmail", "quoted-printable"),
    "outlook": ("alt", "outlook", "outlook", "quoted-printable"),
    "outlook-desktop": ("alt", "outlook-old", "generic", "quoted-printable"),
    "owa": ("alt", "owa", "outlook", "quoted-printable"),
    "apple": ("alt", "apple", "apple", "quoted-printable"),
    "iphone": ("plain", "iphone", "apple", "quoted-printable"),
    "thunderbird": ("plain", "tb", "tb", "8bit"),
    "roundcube": ("plain", "roundcube", "roundcube", "quoted-printable"),
    "yahoo": ("alt", "yahoo", "yahoo", "quoted-printable"),
    "orange": ("plain", "orange", "orange", "quoted-printable"),
    "samsung": ("plain", "samsung", "generic", "base64"),
    "proton": ("alt", "proton", "proton", "quoted-printable"),
    "zoho": ("html", "zoho", "generic", "quoted-printable"),
    "plain": ("plain", "gmail", "generic", "8bit"),
}


def client_headers(client, lang, sender_dom, subject):
    h = []
    if client == "outlook-desktop":
        h += ["X-Mailer: Microsoft Outlook 16.0", f"Thread-Index: AQH{ralnum(26)}",
              f"Content-Language: {'fr' if lang == 'fr' else 'en-us'}"]
    elif client in ("outlook", "owa"):
        h += [f"Thread-Topic: {subj(subject)}", f"Thread-Index: AQH{ralnum(22)}==",
              "X-MS-Has-Attach: ", "X-MS-TNEF-Correlator: ",
              f"Content-Language: {'fr-FR' if lang == 'fr' else 'en-US'}"]
    elif client == "apple":
        h += ["X-Mailer: Apple Mail (2.3826.400.131.1.6)"]
    elif client == "iphone":
        h += ["X-Mailer: iPhone Mail (22D72)"]
    elif client == "thunderbird":
        h += ["User-Agent: Mozilla Thunderbird", f"Content-Language: {'fr' if lang == 'fr' else 'en-US'}"]
    elif client == "roundcube":
        h += ["User-Agent: Roundcube Webmail/1.6.9"]
    elif client == "yahoo":
        h += ["X-Mailer: WebService/1.1.23369 YMailNorrin"]
    elif client == "orange":
        h += ["X-Mailer: Open-Xchange Mailer v7.10.6-Rev62", "X-Originating-Client: open-xchange-appsuite"]
    elif client == "samsung":
        h += []
    elif client == "proton":
        h += [f"X-Pm-Message-ID: {ralnum(40)}"]
    elif client == "zoho":
        h += ["User-Agent: Zoho Mail", "X-Mailer: Zoho Mail"]
    return h


def region_for(lang, dom):
    if lang == "fr" or dom.endswith(".fr"):
        return "fr"
    if dom.endswith(".de") or dom in ("gmx.de", "web.de"):
        return "de"
    return RNG.choice(["us-e", "us-e", "us-w", "us-c", "uk"])


RE_PREFIX = {"outlook": ("RE: ", "RE : "), "owa": ("RE: ", "RE : "), "outlook-desktop": ("RE: ", "RE : "),
             "orange": ("RE: ", "RE: "), "yahoo": ("Re: ", "Re: "), "zoho": ("Re: ", "Re : ")}


# ------------------------------------------------------------------ the reply builder

_COUNT = {}


def reply(fid, lang, cls, sender, text, *, client="gmail", orig="EN1", orig_to=None, company=None, first=None,
          subject=None, to=None, cc=None, fmt=None, cte=None, html_cte=None, quote=None, actions=None, note="",
          eol=None, thread=True, extra=(), wrap_attr=False, nbsp=False, fwd=None, prev=False, to_line=None,
          kind="reply", folder="replies", sender_display=None, extra_to=(), date=None, outer=None,
          ascii_charset=None, mime=True, attr_style="tb"):
    """Build one reply .eml and its label.

    sender: (display name, address). text: new text; '{QUOTE}' marks where the quote goes
    (default: top-posting, quote appended). orig_to: (name, address) the sales mail was sent to.
    """
    name, email = sender
    dom = email.split("@")[1].lower()
    orig_to = orig_to or (name, email)
    region = region_for(lang, dom)
    d = date or next_date(region)
    od = (d - timedelta(minutes=RNG.randint(90, 60 * 24 * 6))).astimezone(d.tzinfo)
    if od.hour < 8 or od.hour > 18:
        od = od.replace(hour=RNG.randint(8, 17))
        if od >= d:
            od = od - timedelta(days=1)
    o = Original(orig, orig_to[0], orig_to[1], od, company=company, first=first, extra_to=extra_to)
    if prev:
        o.prev = Original(prev, orig_to[0], orig_to[1], od - timedelta(days=RNG.randint(5, 9)),
                          company=company, first=first)
    dfmt, dquote, mid_kind, dcte = CLIENT_DEFAULTS[client]
    fmt = fmt or dfmt
    quote = quote or dquote
    opts = dict(wrap_attr=wrap_attr, nbsp=nbsp, to_line=to_line)

    q_plain = quote_plain(quote, lang, o, opts)
    text = text.replace("{subj}", o.subject)
    if "{ATTR}" in text:
        text = text.replace("{ATTR}", attribution(attr_style, lang, o, nbsp))
    if "{QUOTE}" in text:
        pre, post = text.split("{QUOTE}")
    else:
        pre, post = text, ""
    plain = pre.rstrip("\n")
    if q_plain:
        plain = (plain + "\n\n" if plain.strip() else "") + q_plain
    if post.strip():
        plain = plain.rstrip("\n") + "\n\n" + post.strip("\n")
    plain = plain.rstrip("\n") + "\n" if plain.strip() else ""

    # ---- headers
    if to == "VERP":
        to = o.verp
    if subject and "{subject}" in subject:
        subject = subject.replace("{subject}", o.subject)
    if to is None:
        rt = o.reply_to or (o.rep_name, o.rep_addr)
        to = addr(*rt)
    if subject is None:
        re_en, re_fr = RE_PREFIX.get(client, ("Re: ", "Re: "))
        subject = (re_fr if lang == "fr" else re_en) + o.subject
    h = []
    rcpt_addr = to.split("<")[-1].rstrip(">").strip()
    if RNG.random() < 0.5:
        h.append(f"Return-Path: <{email}>")
        if rcpt_addr.endswith("@acme.example") and RNG.random() < 0.6:
            h.append("Delivered-To: replies@fb.acme.example")
            h.append(f"X-Forwarded-For: {rcpt_addr} replies@fb.acme.example")
            h.append("X-Forwarded-To: replies@fb.acme.example")
        ip = f"{RNG.choice(['192.0.2', '198.51.100', '203.0.113'])}.{RNG.randint(2, 250)}"
        helo = {"gmail": "mail-ej1-f54.google.com", "outlook": "EUR05-AM6-obe.outbound.protection.outlook.com",
                "owa": "EUR02-DB5-obe.outbound.protection.outlook.com", "yahoo": "sonic305-21.consmr.mail.ir2.yahoo.com",
                "orange": "smtp-out.orange.fr", "proton": "mail-4316.protonmail.ch",
                "apple": f"mail.{dom}", "iphone": "st43p00im-zteg10063501.me.com"}.get(client, f"mx.{dom}")
        h.append(f"Received: from {helo} ({helo} [{ip}])\n\tby mx1.fb.acme.example (Postfix) with ESMTPS id "
                 f"4{ralnum(12, 'BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789')}\n\tfor <{rcpt_addr}>; "
                 f"{rfc_date(d.astimezone(o.date.tzinfo) + timedelta(seconds=RNG.randint(2, 40)), 'postfix')}")
    h += list(extra)
    h.append(f"From: {sender_display or addr(name, email)}")
    h.append(f"To: {to}")
    if cc:
        h.append(f"Cc: {cc}")
    h.append(f"Subject: {subj(subject, RNG.choice(['q', 'q', 'b']))}")
    h.append(f"Date: {rfc_date(d, RNG.choice(['std', 'std', 'nozero']))}")
    h.append(f"Message-ID: {msgid(mid_kind, dom if mid_kind in ('apple', 'tb', 'generic', 'roundcube') else 'x', d)}")
    if thread:
        refs = ([o.prev.mid] if getattr(o, "prev", None) else []) + [o.mid]
        h.append(f"In-Reply-To: {o.mid}")
        h.append("References: " + "\n ".join(refs))
    h += client_headers(client, lang, dom, o.subject)

    # ---- body
    def text_part(t, sub="plain"):
        asc = is_ascii(t)
        c = cte or ("7bit" if asc else dcte)
        if sub == "html" and html_cte:
            c = html_cte
        if client == "gmail" and sub == "html" and not cte:
            c = "quoted-printable"
        if client in ("outlook", "owa", "outlook-desktop") and not cte:
            c = "quoted-printable" if (sub == "html" or not asc) else "7bit"
        cs = "utf-8"
        if asc and c in ("7bit",):
            cs = ascii_charset or ("us-ascii" if client in ("outlook", "owa", "outlook-desktop", "apple") else "UTF-8")
        elif client == "gmail":
            cs = "UTF-8"
        ct = f'text/{sub}; charset="{cs}"' if client in ("gmail", "outlook", "owa", "outlook-desktop") else f"text/{sub}; charset={cs}"
        if client in ("thunderbird", "roundcube") and sub == "plain":
            ct += "; format=flowed"
        return Leaf(ct, t, c)

    html = None
    if fmt in ("html", "alt"):
        q_html = quote_html(quote, lang, o, opts)
        inner = new_html(pre.strip("\n"), client)
        if client == "gmail":
            inner = inner + q_html
        elif q_html:
            inner = inner + ("\n" if inner else "") + q_html
        if post.strip():
            inner = inner + "\n" + new_html(post.strip("\n"), client)
        html = wrap_html_doc(inner, client, lang)
    if fmt == "plain":
        body = text_part(plain)
    elif fmt == "html":
        body = text_part(html, "html")
    else:
        body = Multi("alternative", [text_part(plain), text_part(html, "html")], boundary=_bnd(client))
    if outer:
        body = outer(body)
    mv = "1.0"
    if client == "apple":
        mv = "1.0 (Mac OS X Mail 16.0 \\(3826.400.131.1.6\\))"
    elif client == "iphone":
        mv = "1.0 (1.0)"
    raw = render_message(h, body, mime_version=mv)
    path = f"{folder}/{fid}.eml"
    write(path, raw, eol or pick_eol())

    # ---- label
    if actions is None:
        actions = default_actions(cls, email, orig_to[1])
    label(path, kind, cls, actions, lang, note)
    return o


def default_actions(cls, frm, orig_to):
    frm, orig_to = frm.lower(), orig_to.lower()
    dom = frm.split("@")[1]
    if dom in ACME_DOMAINS:
        return []
    if cls in ("unsubscribe", "legal", "unsubscribe-company") and orig_to != frm:
        raise ValueError(f"explicit actions needed: {frm} vs original recipient {orig_to}")
    if cls == "unsubscribe":
        return [sup(frm, "unsubscribe")]
    if cls == "legal":
        return [sup(frm, "legal")]
    if cls == "unsubscribe-company":
        return [sup(frm, "unsubscribe"), (rev if dom in FREEMAIL else sup)("@" + dom, "unsubscribe")]
    return []
