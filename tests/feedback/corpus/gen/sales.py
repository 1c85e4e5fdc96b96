"""The outbound sales mails that replies, auto-replies, DSNs and ARF reports refer to."""
from .engine import (RNG, Leaf, render_message, addr, subj, msgid, rfc_date, rhex, token, verp,
                     is_ascii, ralnum)

REPS = {
    "sam": ("Sam Carter", "sam@acme.example"),
    "priya": ("Priya Raman", "priya@acme.example"),
    "sales": ("Acme Sales", "sales@acme.example"),
    "camille": ("Camille Moreau", "camille@acme.example"),
    "julien": ("Julien Lefort", "julien@acme.example"),
    "acmemail": ("Acme Mail", "hello@acme-mail.example"),
    "acmemail-fr": ("L'équipe Acme Mail", "bonjour@acme-mail.example"),
    "nora": ("Nora Whitaker", "nora@acme.example"),
}


def _en1(first, company, tok):
    return f"""Hi {first or 'there'},

Saw that {company} is expanding the SDR team - congrats. Most teams we talk
to at that stage lose 10-20% of their sends to bounces and spam folders
before anyone notices.

Acme fixes that with real-time list hygiene and a relay that respects
opt-outs automatically. Would a 15-minute call next Tuesday or Wednesday
make sense?

Best,
Sam Carter
Account Executive, Acme
+1 415 555 0142

Acme Inc. - 500 Harbor Blvd, Suite 300, San Francisco, CA 94107
Don't want to hear from us? To unsubscribe click here: https://acme.example/u/{tok}
"""


def _en2(first, company, tok):
    return f"""Hello {first or 'there'},

I'm reaching out because {company} came up in our research on fast-growing
revenue teams. We help companies like Initrode and Vandelay keep their
sender reputation healthy while they scale outreach.

Is deliverability on your radar this quarter? If so, I'd love to share
what we've seen work for teams your size.

Cheers,
Priya Raman
Acme - Growth Team

To stop receiving these emails, unsubscribe here: https://acme.example/u/{tok}
"""


def _en3(first, company, tok):
    return f"""Hi {first or 'there'},

Just floating this back to the top of your inbox. Did you get a chance to
look at my note from last week about {company}'s outbound setup?

If the timing is off, no worries - just let me know and I'll circle back
next quarter.

Sam

--
Sam Carter | Acme | https://acme.example
Unsubscribe: https://acme.example/u/{tok}
"""


def _en4(first, company, tok):
    return f"""Hi {first or 'there'},

Every bounced email is a lead you paid for and never reached.

Acme Mail's free deliverability audit shows you exactly where your
messages land - inbox, spam, or nowhere - in under 10 minutes.

Claim your audit: https://acme-mail.example/audit?ref={tok}

The Acme Mail team

You are receiving this email because you were identified as a decision
maker at {company}.
Unsubscribe: https://acme-mail.example/unsubscribe/{tok} | Manage preferences
Acme Mail, 500 Harbor Blvd, San Francisco, CA 94107
"""


def _en5(first, company, tok):
    return f"""Hi {first or 'there'},

We'll be at RevOps Summit in Chicago on May 14-15. If you're going, stop
by booth 42 - we're giving away free deliverability audits (and decent
coffee).

Want me to save you a slot for a 20-minute chat?

Priya

Priya Raman | Acme
If you'd rather not hear from us, unsubscribe here: https://acme.example/u/{tok}
"""


def _en6(first, company, tok):
    return f"""{first or 'Hi'} -

Three quick ideas based on what I saw on {company}'s website:

1. Your demo-request confirmations go out from a no-reply address,
   which kills replies.
2. No SPF alignment on your marketing subdomain.
3. Your nurture sequence has no suppression sync with your CRM.

Happy to walk through each in 15 minutes. Worth a chat?

Nora Whitaker | Acme
Reply STOP to opt out of further emails.
"""


def _fr1(first, company, tok):
    return f"""Bonjour {first + ',' if first else ','}

Je me permets de vous contacter car {company} recrute actuellement des
commerciaux. La plupart des équipes que nous accompagnons perdent entre
10 et 20 % de leurs envois (rebonds, spams) sans s'en rendre compte.

Acme propose un relais SMTP qui nettoie vos listes en temps réel et
respecte automatiquement les désinscriptions.

Seriez-vous disponible pour un échange de 15 minutes la semaine prochaine ?

Bien cordialement,

Camille Moreau
Chargée d'affaires – Acme France
01 84 60 12 34

Acme France SAS – 12 rue de la Paix, 75002 Paris
Pour vous désabonner, cliquez ici : https://acme.example/d/{tok}
""".replace("Bonjour ,", "Bonjour,")


def _fr2(first, company, tok):
    return f"""Bonjour {first + ',' if first else ','}

Je reviens vers vous suite à mon précédent message concernant {company}.
Avez-vous eu le temps d'y jeter un œil ?

Si ce n'est pas le bon moment, dites-le-moi simplement et je reviendrai
vers vous plus tard.

Belle journée,
Julien Lefort
Acme France

Pour ne plus recevoir nos messages : https://acme.example/d/{tok}
""".replace("Bonjour ,", "Bonjour,")


def _fr3(first, company, tok):
    return f"""Bonjour {first + ',' if first else ','}

Saviez-vous qu'un e-mail sur six n'atteint jamais la boîte de réception ?

Acme Mail analyse gratuitement vos envois et vous montre où partent vos
messages : boîte de réception, spam… ou nulle part.

Demander mon audit : https://acme-mail.example/audit?ref={tok}

L'équipe Acme Mail

Vous recevez cet e-mail car vous avez été identifié(e) comme décideur
chez {company}. Conformément au RGPD, vous pouvez vous désinscrire à tout
moment : https://acme-mail.example/desinscription/{tok}
""".replace("Bonjour ,", "Bonjour,")


def _fr4(first, company, tok):
    return f"""Bonjour {first + ',' if first else ','}

Nous serons présents au salon VivaTech du 11 au 14 juin. Si vous y êtes,
passez nous voir au stand B12 : démonstrations en direct et café offert !

Souhaitez-vous que je vous réserve un créneau ?

À bientôt,
Camille

Camille Moreau – Acme France
Se désinscrire : https://acme.example/d/{tok}
""".replace("Bonjour ,", "Bonjour,")


def _fr5(first, company, tok):
    return f"""Bonjour {first + ',' if first else ','}

Je vous invite à notre webinar du jeudi 20 mars à 11h :
« Réduire vos rebonds de 40 % en 30 jours ».

Au programme : nettoyage de listes, gestion des désinscriptions et
réputation d'expéditeur. Inscription gratuite :
https://acme.example/webinar/{tok}

Julien Lefort
Acme France

Répondez STOP pour ne plus recevoir nos messages.
""".replace("Bonjour ,", "Bonjour,")


TEMPLATES = {
    "EN1": dict(lang="en", rep="sam", subject="Quick question about {company}'s outbound", body=_en1),
    "EN2": dict(lang="en", rep="priya", subject="{company} + Acme", body=_en2),
    "EN3": dict(lang="en", rep="sam", subject="Following up", body=_en3),
    "EN4": dict(lang="en", rep="acmemail", subject="Stop losing leads to bounced emails", body=_en4,
                reply_to=("Acme Mail", "replies@fb.acme.example")),
    "EN5": dict(lang="en", rep="priya", subject="Coffee at RevOps Summit? (Booth 42)", body=_en5),
    "EN6": dict(lang="en", rep="nora", subject="3 ideas for {company}'s Q3 campaigns", body=_en6,
                reply_to=("Nora Whitaker", "replies@fb.acme.example")),
    "FR1": dict(lang="fr", rep="camille", subject="Une question rapide sur la prospection chez {company}", body=_fr1),
    "FR2": dict(lang="fr", rep="julien", subject="Relance : {company} et Acme", body=_fr2),
    "FR3": dict(lang="fr", rep="acmemail-fr", subject="Votre audit de délivrabilité offert", body=_fr3,
                reply_to=("Acme Mail", "replies@fb.acme.example")),
    "FR4": dict(lang="fr", rep="camille", subject="On se voit au salon VivaTech ? Stand B12", body=_fr4),
    "FR5": dict(lang="fr", rep="julien", subject="Webinar : réduire vos rebonds de 40 %", body=_fr5,
                reply_to=("Julien Lefort", "replies@fb.acme.example")),
}


def company_from_domain(domain):
    base = domain.split(".")[0]
    return " ".join(w.capitalize() for w in base.split("-"))


class Original:
    """One sent sales message (what a reply quotes / a DSN encloses)."""

    def __init__(self, key, to_name, to_addr, date, company=None, first=None, extra_to=()):
        t = TEMPLATES[key]
        self.key, self.lang = key, t["lang"]
        self.rep_name, self.rep_addr = REPS[t["rep"]]
        self.to_name, self.to_addr = to_name, to_addr
        self.extra_to = list(extra_to)
        self.company = company or company_from_domain(to_addr.split("@")[1])
        if first is None:
            first = to_name.split()[0] if to_name else ""
            if first in ("M.", "Mme", "Dr", "Dr.", "Mr", "Ms"):
                first = ""
        self.first = first
        self.token = token()
        self.subject = t["subject"].format(company=self.company)
        self.body = t["body"](self.first, self.company, self.token)
        self.date = date
        dom = "acme-mail.example" if self.rep_addr.endswith("acme-mail.example") else "acme.example"
        self.mid = msgid("acme", dom, date)
        self.reply_to = t.get("reply_to")
        self.verp = verp(self.token, to_addr)
        self.prev = None

    def full_body(self):
        """Body as seen in the thread: follow-ups quote the earlier mail Gmail-style."""
        if not self.prev:
            return self.body
        p, d = self.prev, self.prev.date
        if self.lang == "fr":
            from .engine import DAYS_FR_ABBR, MONTHS_FR_ABBR
            att = (f"Le {DAYS_FR_ABBR[d.weekday()]} {d.day} {MONTHS_FR_ABBR[d.month - 1]} {d.year} à "
                   f"{d:%H:%M}, {p.rep_name} <{p.rep_addr}> a écrit :")
        else:
            from .engine import DAYS_EN, MONTHS_EN, h12
            att = (f"On {DAYS_EN[d.weekday()][:3]}, {MONTHS_EN[d.month - 1][:3]} {d.day}, {d.year} at "
                   f"{h12(d)} {p.rep_name} <{p.rep_addr}> wrote:")
        q = "\n".join(("> " + l) if l.strip() else ">" for l in p.body.rstrip("\n").split("\n"))
        return self.body.rstrip("\n") + "\n\n" + att + "\n" + q + "\n"

    def headers(self, with_trace=False, dkim=True):
        h = []
        if with_trace:
            h.append(f"Return-Path: <{self.verp}>")
        if dkim:
            d = self.rep_addr.split("@")[1]
            h.append(f"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d={d}; s=s2025;\n"
                     f"\tt={int(self.date.timestamp())}; h=from:to:subject:date:message-id:list-unsubscribe;\n"
                     f"\tbh={ralnum(43)}=;\n\tb={ralnum(64)}\n\t {ralnum(64)}\n\t {ralnum(42)}=")
        h.append(f"From: {addr(self.rep_name, self.rep_addr)}")
        tos = [addr(self.to_name, self.to_addr)] + [addr(n, a) for n, a in self.extra_to]
        h.append("To: " + ",\n\t".join(tos))
        if self.reply_to:
            h.append(f"Reply-To: {addr(*self.reply_to)}")
        h.append(f"Subject: {subj(self.subject)}")
        h.append(f"Date: {rfc_date(self.date)}")
        h.append(f"Message-ID: {self.mid}")
        h.append(f"List-Unsubscribe: <mailto:unsubscribe+{self.token}@fb.acme.example>,\n"
                 f" <https://{'acme-mail.example' if 'acme-mail' in self.rep_addr else 'acme.example'}/u/{self.token}>")
        h.append("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
        h.append(f"X-Acme-Campaign: {'emea' if self.lang == 'fr' else 'na'}-outbound-2025q{1 + (self.date.month - 1) // 3}")
        return h

    def render(self, with_trace=True):
        cte = "7bit" if is_ascii(self.body) else RNG.choice(["quoted-printable", "8bit"])
        cs = "us-ascii" if cte == "7bit" else "utf-8"
        return render_message(self.headers(with_trace), Leaf(f'text/plain; charset="{cs}"', self.body, cte))

    def header_text(self, with_trace=True):
        h = self.headers(with_trace)
        h += ["MIME-Version: 1.0", 'Content-Type: text/plain; charset="utf-8"',
              "Content-Transfer-Encoding: quoted-printable"]
        return "\n".join(h) + "\n"
