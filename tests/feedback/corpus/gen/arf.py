"""Complaint / feedback reports (RFC 5965 ARF, RFC 6591 auth-failure) about Acme's sales mails.

Labels: feedback-type abuse, fraud, virus -> suppress the original recipient (reason complaint);
not-spam, auth-failure, other, opt-out -> nothing. The recipient is Original-Rcpt-To, or, when that
field is missing / redacted / empty, the To: of the enclosed message; when the enclosed message
only shows a redacted recipient too, nothing can be suppressed.
"""
from datetime import timedelta

from .engine import (RNG, render_message, addr, subj, rfc_date, rhex, rHEX, ralnum, ruuid, next_date, write,
                     label, sup, pick_eol, is_ascii, msgid)
from .sales import Original
from .dsn import P, MP, orig_text, RELAYS

COMPLAINT_TYPES = {"abuse", "fraud", "virus"}

_N = [0]


def fid(name):
    _N[0] += 1
    return f"{name}-{_N[0]:03d}"


def rep_domain(o):
    return o.rep_addr.split("@")[1]


def arf(name, o, d, *, frm, to="fbl@fb.acme.example", subject, ftype, ua, human, rcpt="present",
        rcvd_by, third="full", to_line=None, trace=True, fields_extra=(), top_extra=(), target=None, lang="en",
        note="", human_cte=None, human_ct='text/plain; charset="us-ascii"', boundary=None, version="1",
        relay=None, msg_id=None, ip=None):
    """rcpt: 'present' | 'absent' | 'empty' | an explicit Original-Rcpt-To value (e.g. a redacted one)."""
    relay = relay or RELAYS[RNG.randrange(len(RELAYS))]
    ip = ip or relay[1]
    arr = o.date + timedelta(seconds=RNG.randint(1, 20))
    fields = [f"Feedback-Type: {ftype}", f"User-Agent: {ua}", f"Version: {version}",
              f"Original-Mail-From: <{o.verp}>"]
    if rcpt == "present":
        fields.append(f"Original-Rcpt-To: <{o.to_addr}>")
    elif rcpt == "empty":
        fields.append("Original-Rcpt-To: ")
    elif rcpt != "absent":
        fields.append(f"Original-Rcpt-To: {rcpt}")
    fields += [f"Arrival-Date: {rfc_date(arr.astimezone(d.tzinfo))}", f"Source-IP: {ip}",
               f"Reported-Domain: {rep_domain(o)}"]
    fields += list(fields_extra)
    rcvd = [f"Received: from {relay[0]} (EHLO {relay[0]}) ({relay[1]})\n  by {rcvd_by} with SMTPS; "
            f"{rfc_date(arr.astimezone(d.tzinfo))}"] if rcvd_by else []
    if third == "full":
        text = orig_text(o, rcvd, trace=trace, to_line=to_line, cte="quoted-printable")
        p3 = P(["Content-Type: message/rfc822", "Content-Disposition: inline"], text)
    else:
        text = orig_text(o, rcvd, trace=trace, to_line=to_line, headers_only=True)
        p3 = P(["Content-Type: text/rfc822-headers", "Content-Disposition: inline"], text)
    b = boundary or ("----=_Part_" + f"{RNG.randint(10 ** 5, 10 ** 6)}_{RNG.randint(10 ** 8, 10 ** 9)}."
                     f"{int(d.timestamp()) * 1000 + RNG.randint(0, 999)}")
    hp = [f"Content-Type: {human_ct}"] + ([f"Content-Transfer-Encoding: {human_cte}"] if human_cte else
                                         ["Content-Transfer-Encoding: 7bit"])
    body = MP('Content-Type: multipart/report; report-type=feedback-report;\n\tboundary="{b}"', [
        P(hp, human, human_cte),
        P(["Content-Type: message/feedback-report", "Content-Disposition: inline"], "\n".join(fields) + "\n"),
        p3], b)
    h = [f"From: {frm}", f"To: {to}", f"Subject: {subject}", f"Date: {rfc_date(d)}",
         f"Message-ID: {msg_id or '<' + ruuid() + '@' + frm.split('@')[-1].rstrip('>') + '>'}"] + list(top_extra)
    rel = f"arf/{fid(name)}.eml"
    write(rel, render_message(h, body), pick_eol())
    if ftype in COMPLAINT_TYPES and target:
        actions = [sup(target, "complaint")]
    else:
        actions = []
    label(rel, "arf", None, actions, lang, note)


def when(region, lo_h=2, hi_h=60):
    d = next_date(region)
    return d, d - timedelta(hours=RNG.randint(lo_h, hi_h), minutes=RNG.randint(0, 59))


def std_human(ip, arr, mid=None):
    s = f"This is an email abuse report for an email message received from IP {ip} on {rfc_date(arr)}."
    if mid:
        s = (f"This is an email abuse report for an email message with the message-id of {mid} received from IP "
             f"{ip} on {rfc_date(arr)}.")
    return s + "\nFor more information about this format please see http://www.mipassoc.org/arf/.\n"


def build():
    # ------------------------------------------------------------ Yahoo CFL
    d, sd = when("us-w")
    o = Original("EN4", "Holly Baker", "holly.baker62@yahoo.com", sd, company="Baker Boutique")
    arf("yahoo-abuse", o, d, frm="Yahoo! Mail AntiSpam Feedback <feedback@arf.mail.yahoo.com>",
        subject="FW: " + o.subject, ftype="abuse", ua="Yahoo!-Mail-Feedback/2.0",
        human=std_human("198.51.100.23", d), rcvd_by=f"mta{RNG.randint(1000, 9999)}.mail.gq1.yahoo.com",
        relay=RELAYS[0], target=o.to_addr,
        fields_extra=[f"Authentication-Results: mta{RNG.randint(1000, 9999)}.mail.gq1.yahoo.com;\n"
                      f" dkim=pass header.i=@acme-mail.example header.s=s2025;\n spf=pass "
                      f"smtp.mailfrom=fb.acme.example;\n dmarc=pass(p=REJECT) header.from=acme-mail.example;"],
        note="Yahoo complaint feedback loop, message/rfc822 enclosure")

    d, sd = when("us-w")
    o = Original("EN1", "Troy Barnes", "troy.barnes@yahoo.com", sd, company="Barnes AC Repair")
    arf("yahoo-abuse-headers", o, d, frm="Yahoo! Mail AntiSpam Feedback <feedback@arf.mail.yahoo.com>",
        subject="FW: " + o.subject, ftype="abuse", ua="Yahoo!-Mail-Feedback/2.0",
        human=std_human("198.51.100.24", d), rcvd_by=f"mta{RNG.randint(1000, 9999)}.mail.bf1.yahoo.com",
        relay=RELAYS[1], third="headers", target=o.to_addr, note="Yahoo CFL with text/rfc822-headers only")

    # ------------------------------------------------------------ AOL
    d, sd = when("us-e")
    o = Original("EN4", "Dolores Park", "dpark1955@aol.com", sd, company="Park Antiques")
    o.verp = "bounces@fb.acme.example"  # campaign sent with a fixed return path: no VERP to decode
    arf("aol-abuse-redacted", o, d, frm="AOL Feedback Loop <scomp@aol.net>",
        subject=f"Email Feedback Report for IP {RELAYS[2][1]}", ftype="abuse", ua="AOL SComp",
        human=(f"This is an email abuse report for an email message received from IP {RELAYS[2][1]} on "
               f"{rfc_date(d)}.\nThe recipient address has been redacted in accordance with the AOL privacy "
               f"policy.\nFor information, please review the Feedback Loop documentation.\n"),
        rcpt="absent", rcvd_by=None, relay=RELAYS[2], trace=False, to_line="To: redacted@aol.com",
        note="AOL-style report: no Original-Rcpt-To, enclosed To: redacted@aol.com, no Return-Path/VERP: the "
             "recipient cannot be known -> no action (must NOT suppress redacted@aol.com)")

    d, sd = when("us-e")
    o = Original("EN2", "Mike Tyson", "mtyson.boxing@aol.com", sd, company="Tyson Gym")
    arf("aol-abuse", o, d, frm="AOL Feedback Loop <scomp@aol.net>",
        subject=f"Email Feedback Report for IP {RELAYS[0][1]}", ftype="abuse", ua="AOL SComp",
        human=std_human(RELAYS[0][1], d, o.mid), rcvd_by=f"mtaout-aad02.mx.aol.com", relay=RELAYS[0],
        target=o.to_addr, note="AOL report with Original-Rcpt-To")

    # ------------------------------------------------------------ Microsoft JMRP
    d, sd = when("us-w")
    o = Original("EN4", "Jenny Ramos", "jenny.ramos@outlook.com", sd, company="Ramos Dental")
    srv = f"BN8NAM{RNG.randint(10, 12)}FT{RNG.randint(10, 99)}.mail.protection.outlook.com"
    arf("jmrp-abuse", o, d, frm="staff@hotmail.com", to="jmrp@fb.acme.example",
        subject=f"complaint about message from {RELAYS[1][1]}", ftype="abuse", ua="Hotmail FBL",
        human=std_human(RELAYS[1][1], d), rcpt="absent", rcvd_by=srv, relay=RELAYS[1],
        to_line=f"X-HmXmrOriginalRecipient: <{o.to_addr}>\nTo: {addr(o.to_name, o.to_addr)}", target=o.to_addr,
        top_extra=["X-HmXmrOriginalRecipient: <jmrp@fb.acme.example>"],
        note="Microsoft JMRP style: no Original-Rcpt-To, recipient from the enclosed To: (also in "
             "X-HmXmrOriginalRecipient)")

    d, sd = when("us-w")
    o = Original("EN5", "Kevin Lee", "KEVLEE.84@HOTMAIL.COM", sd, company="Lee Photography")
    arf("jmrp-abuse-uppercase", o, d, frm="staff@hotmail.com", to="jmrp@fb.acme.example",
        subject=f"complaint about message from {RELAYS[0][1]}", ftype="abuse", ua="Hotmail FBL",
        human=std_human(RELAYS[0][1], d), rcpt="absent", third="headers",
        rcvd_by=f"DM6NAM{RNG.randint(10, 12)}FT{RNG.randint(10, 99)}.mail.protection.outlook.com", relay=RELAYS[0],
        to_line='To: "Kevin Lee" <KEVLEE.84@HOTMAIL.COM>', target="kevlee.84@hotmail.com",
        note="JMRP, no Original-Rcpt-To; enclosed To has a display name and an upper-case address (target "
             "lower-cased)")

    # ------------------------------------------------------------ Comcast (redacted Original-Rcpt-To)
    d, sd = when("us-e")
    o = Original("EN1", "Craig Nolan", "craig.nolan@comcast.net", sd, company="Nolan Roofing")
    arf("comcast-abuse-rcpt-redacted", o, d, frm="Comcast Feedback Loop <feedbackloop@comcast.net>",
        subject="Comcast Abuse Report", ftype="abuse", ua="Comcast FBL/1.0",
        human=std_human(RELAYS[2][1], d), rcpt="<redacted@comcast.net>",
        rcvd_by=f"resimta-po-{RNG.randint(10, 40)}v.sys.comcast.net", relay=RELAYS[2], target=o.to_addr,
        note="Original-Rcpt-To is redacted@comcast.net; the enclosed To: carries the real recipient -> suppress "
             "that one, not redacted@")

    # ------------------------------------------------------------ Fastmail
    d, sd = when("utc")
    o = Original("EN6", "Maya Singh", "maya@singh-studio.example", sd)
    arf("fastmail-abuse", o, d, frm="Fastmail Abuse <abuse-reports@fastmail.com>",
        subject="Spam report: " + o.subject, ftype="abuse", ua="Fastmail-ARF/1.0",
        human=("A Fastmail user reported the attached message as spam.\n\n"
               f"Source IP: {RELAYS[1][1]}\nReceived: {rfc_date(d)}\n"),
        rcvd_by=f"mx{RNG.randint(1, 9)}.messagingengine.com (Postfix)", relay=RELAYS[1], target=o.to_addr,
        note="Fastmail-style report for a custom domain hosted at Fastmail")

    # ------------------------------------------------------------ Mail.ru
    d, sd = when("utc")
    o = Original("EN4", "Ivan Petrov", "ivan.petrov@mail.ru", sd, company="Petrov Trading")
    arf("mailru-abuse", o, d, frm=addr("Mail.Ru FBL", "fbl@corp.mail.ru"), subject="Mail.Ru FBL report",
        ftype="abuse", ua="Mail.Ru FBL/1.0", human=std_human(RELAYS[0][1], d),
        rcvd_by=f"mx{RNG.randint(10, 99)}.i.mail.ru", relay=RELAYS[0], target=o.to_addr,
        note="Mail.ru-style FBL report")

    d, sd = when("utc")
    o = Original("EN4", "Olga Smirnova", "olga.smirnova@list.ru", sd, company="Smirnova Design")
    arf("mailru-not-spam", o, d, frm=addr("Mail.Ru FBL", "fbl@corp.mail.ru"), subject="Mail.Ru FBL report",
        ftype="not-spam", ua="Mail.Ru FBL/1.0",
        human=(f"This is a feedback report: the user marked a message received from IP {RELAYS[1][1]} as NOT spam.\n"),
        rcvd_by=f"mx{RNG.randint(10, 99)}.i.mail.ru", relay=RELAYS[1], target=o.to_addr,
        note="not-spam report (user moved the mail out of the spam folder): no action")

    # ------------------------------------------------------------ fraud, virus
    d, sd = when("us-c")
    o = Original("EN4", "Luis Romero", "luis.romero@first-lakes-bank.example", sd, company="First Lakes Bank")
    arf("fraud-phishing-report", o, d, frm="First Lakes Bank Security <abuse@first-lakes-bank.example>",
        to="abuse@acme-mail.example", subject="[ARF] Suspected phishing message from acme-mail.example",
        ftype="fraud", ua="LakesSecOps-Reporter/3.2",
        human=("Our employee reported the attached message as a suspected phishing / fraud attempt.\n"
               "Please investigate and stop sending to this address.\n\nFirst Lakes Bank - Security Operations\n"),
        rcvd_by="mx1.first-lakes-bank.example", target=o.to_addr,
        fields_extra=[f"Reported-Uri: https://acme-mail.example/audit?ref={o.token}"],
        note="feedback-type fraud -> complaint suppression")

    d, sd = when("utc")
    o = Original("EN1", "Henrik Olsen", "henrik.olsen@nordlys-shipping.example", sd)
    arf("virus-report", o, d, frm="Nordlys Mail Gateway <postmaster@nordlys-shipping.example>",
        subject="Virus report: message from 198.51.100.25", ftype="virus", ua="NordGate-AV/5.1",
        human=("The attached message was flagged by our gateway anti-virus scanner.\n"
               "Detection: Heuristic.Phishing.URL-Suspicious\n"),
        rcvd_by="gw.nordlys-shipping.example", relay=RELAYS[2], third="headers", target=o.to_addr,
        note="feedback-type virus -> complaint suppression (per spec, even if a false positive)")

    # ------------------------------------------------------------ auth-failure (RFC 6591), DMARC forensic
    d, sd = when("us-e")
    o = Original("EN1", "Ann Perkins", "ann.perkins@pawnee-health.example", sd)
    arf("auth-failure-dkim", o, d, frm="OpenDKIM Filter <opendkim@mx.pawnee-health.example>",
        to="dkim-reports@fb.acme.example", subject="DKIM failure report for acme.example", ftype="auth-failure",
        ua="OpenDKIM-Filter/2.11.0",
        human=("This is an authentication failure report for an email message received from IP "
               f"{RELAYS[0][1]} on {rfc_date(d)}.\n"),
        rcvd_by="mx.pawnee-health.example", relay=RELAYS[0], third="headers", target=o.to_addr,
        fields_extra=["Authentication-Results: mx.pawnee-health.example; dkim=fail (bad signature)\n"
                      " header.d=acme.example header.s=s2025", "Auth-Failure: bodyhash", "DKIM-Domain: acme.example",
                      "DKIM-Identity: @acme.example", "DKIM-Selector: s2025", "Delivery-Result: delivered"],
        note="auth-failure report (RFC 6591) even though Original-Rcpt-To is present: no action")

    d, sd = when("utc")
    o = Original("EN2", "Greta Lind", "greta.lind@scandia-foods.example", sd)
    spoof_ip = f"192.0.2.{RNG.randint(10, 250)}"
    arf("auth-failure-dmarc", o, d, frm="DMARC Forensics <noreply-dmarc-support@scandia-foods.example>",
        to="dmarc-ruf@fb.acme.example",
        subject=f"Report Domain: acme.example Submitter: scandia-foods.example Report-ID: <{rhex(24)}>",
        ftype="auth-failure", ua="dmarc-ruf-reporter/1.4",
        human=(f"This is a DMARC failure report for a message from acme.example, received from {spoof_ip} "
               f"(list-relay.scandia-partners.example).\nThe message failed DMARC evaluation after being forwarded.\n"),
        rcvd_by="mx.scandia-foods.example", relay=("list-relay.scandia-partners.example", spoof_ip), ip=spoof_ip,
        third="headers", trace=False, target=o.to_addr,
        fields_extra=["Authentication-Results: mx.scandia-foods.example; dmarc=fail (p=reject dis=none)\n"
                      " header.from=acme.example; spf=fail smtp.mailfrom=fb.acme.example;\n dkim=fail (body hash did not verify) header.d=acme.example",
                      "Identity-Alignment: none", "Auth-Failure: dmarc", "Delivery-Result: reject"],
        note="DMARC forensic (ruf) auth-failure report (Acme's mail broke DKIM/SPF through a forwarder): not a "
             "complaint -> no action")

    # ------------------------------------------------------------ other, opt-out
    d, sd = when("utc")
    o = Original("EN3", "Felix Wagner", "felix.wagner@wagner-logistik.example", sd)
    arf("other-report", o, d, frm="Reporting Service <reports@mailguard-service.example>",
        subject="Feedback report (other) for acme.example", ftype="other", ua="MailGuard-Reporter/2.0",
        human=("Our users flagged the attached message. Category: other (not classified as spam).\n"),
        rcvd_by="in1.mailguard-service.example", target=o.to_addr,
        note="feedback-type other: not in the complaint list -> no action")

    d, sd = when("us-e")
    o = Original("EN4", "Gloria Estes", "gloria.estes@verizon-mail.example", sd, company="Estes Bakery")
    arf("opt-out-report", o, d, frm="Feedback Loop <fbl@verizon-mail.example>",
        subject="Opt-out request", ftype="opt-out", ua="VZ-FBL/1.1",
        human=("The recipient used the 'Unsubscribe' button of our web mail for the attached message.\n"),
        rcvd_by="mx.verizon-mail.example", target=o.to_addr,
        note="JUDGEMENT CALL: feedback-type opt-out is not in the spec's complaint list -> labelled no action; "
             "arguably it is an unsubscribe request (product decision needed)")

    # ------------------------------------------------------------ Original-Rcpt-To empty / enclosed To undisclosed
    d, sd = when("utc")
    o = Original("EN2", "Pablo Vega", "pablo.vega@vega-consulting.example", sd)
    arf("abuse-rcpt-empty", o, d, frm="Abuse Desk <abuse@isp-mail.example>", subject="Abuse report",
        ftype="abuse", ua="ISP-Mail-FBL/0.9", human=std_human(RELAYS[1][1], d), rcpt="empty",
        rcvd_by="mx.isp-mail.example", relay=RELAYS[1], target=o.to_addr,
        note="Original-Rcpt-To present but empty: target from the enclosed To:")

    d, sd = when("utc")
    o = Original("EN4", "Hidden Person", "hidden.person@isp-mail.example", sd, company="Unknown Co")
    o.verp = "bounces@fb.acme.example"  # campaign sent with a fixed return path: no VERP to decode
    arf("abuse-undisclosed", o, d, frm="Abuse Desk <abuse@isp-mail.example>", subject="Abuse report",
        ftype="abuse", ua="ISP-Mail-FBL/0.9", human=std_human(RELAYS[2][1], d), rcpt="absent",
        rcvd_by=None, relay=RELAYS[2], trace=False, to_line="To: undisclosed-recipients:;",
        note="no Original-Rcpt-To and the enclosed To: is 'undisclosed-recipients:;' (no Return-Path either): "
             "recipient unknown -> no action")

    # ------------------------------------------------------------ Signal Spam (French)
    d, sd = when("fr")
    o = Original("FR3", "Sandrine Blanc", "sandrine.blanc@orange.fr", sd, company="Blanc Fleurs")
    human = ("Bonjour,\n\nCe message a été signalé comme indésirable par un utilisateur de Signal Spam.\n"
             f"Adresse IP d'origine : {RELAYS[0][1]}\nDate de réception : {rfc_date(d)}\n\n"
             "Ce rapport est au format ARF (RFC 5965).\n\n--\nSignal Spam - https://www.signal-spam.fr\n")
    arf("signalspam-abuse-fr", o, d, frm="Signal Spam <fbl@signal-spam.fr>",
        subject=subj("Signalement d'un message indésirable"), ftype="abuse", ua="SignalSpam/2.0",
        human=human, human_ct="text/plain; charset=UTF-8", human_cte="quoted-printable",
        rcvd_by=f"opmta{RNG.randint(10, 99)}.orange.fr", relay=RELAYS[0], target=o.to_addr, lang="fr",
        note="French-language ARF report (Signal Spam style), human part quoted-printable")

    # ------------------------------------------------------------ GMX, upper-case Original-Rcpt-To
    d, sd = when("de")
    o = Original("EN4", "Stefan Braun", "stefan.braun@gmx.de", sd, company="Braun Elektro")
    arf("gmx-abuse-uppercase-rcpt", o, d, frm="GMX FBL <fbl@gmx.net>", subject="GMX Abuse Report",
        ftype="abuse", ua="GMX-FBL/1.0", human=std_human(RELAYS[1][1], d), rcpt="<STEFAN.BRAUN@GMX.DE>",
        rcvd_by=f"mx{RNG.randint(1, 9)}.gmx.net", relay=RELAYS[1], target=o.to_addr,
        note="Original-Rcpt-To in upper case: target lower-cased")
