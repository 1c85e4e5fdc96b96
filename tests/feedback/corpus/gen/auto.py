"""Auto-replies (out-of-office, autoresponders, left-the-company notices) plus a few 'unknown' automatic messages."""
from datetime import timedelta

from .engine import (RNG, Leaf, Multi, Raw, render_message, addr, subj, msgid, rfc_date, rhex, rHEX, ralnum, ruuid,
                     next_date, write, label, pick_eol, DAYS_EN, MONTHS_EN, h12)
from .replykit import reply
from .sales import Original

MS_OOF = ["Auto-Submitted: auto-generated", "X-Auto-Response-Suppress: All",
          "X-MS-Exchange-Inbox-Rules-Loop: {me}"]


def A(fid, lang, sender, text, note="", **kw):
    kw.setdefault("quote", "none")
    kw.setdefault("actions", [])
    extra = [e.replace("{me}", sender[1]) for e in kw.pop("extra", [])]
    return reply(fid, lang, None, sender, text, kind="auto-reply", folder="auto", note=note, extra=extra, **kw)


def build():
    # ------------------------------------------------------------ English
    A("en-ooo-001", "en", ("Derek Walsh", "derek.walsh@globex.example"),
      "Thank you for your email. I am out of the office until Monday, March 17 with limited access to email. "
      "For urgent matters please contact my colleague Dan Ross at dan.ross@globex.example.\n\nBest regards,\nDerek",
      client="outlook", orig="EN1", subject="Automatic reply: {subject}", extra=MS_OOF,
      note="Exchange OOF, Auto-Submitted: auto-generated")
    A("en-ooo-002", "en", ("Jenna Ortiz", "jenna.ortiz@gmail.com"),
      "Thanks for your email! I'm on vacation until April 2 with no access to email. I'll reply when I'm back.\n\n"
      "Jenna", client="gmail", orig="EN4", company="Ortiz Yoga", subject="Out of office",
      extra=["Auto-Submitted: auto-replied"], to="VERP", note="Gmail vacation responder to the Return-Path")
    A("en-ooo-003", "en", ("Frank Delgado", "frank@delgado-dental.example"),
      "I am out of the office until May 5th and will respond to your message upon my return. If you need "
      "immediate assistance, please call the front desk at (555) 010-2233.\n\nThank you,\nDr. Frank Delgado",
      client="plain", orig="EN1", company="Delgado Dental",
      note="no RFC 3834 headers, subject is plain 'Re: ...': only the OOO text identifies it")
    A("en-ooo-004", "en", ("Laura Chen", "laura.chen@initrode.example"),
      "This is an automated response. Please do not reply to this email.\n\nI am away from the office until 24 "
      "March and your message has not been forwarded. If your enquiry is urgent, please call +1 212 555 0177.",
      client="outlook", orig="EN2", subject="Out of Office: {subject}", extra=["Auto-Submitted: auto-replied"],
      note="'Please do not reply to this email' trap")
    A("en-ooo-005", "en", ("Monica Reyes", "mreyes@initrode.example"),
      "Thank you for your message. I have left Initrode as of February 28, 2025. Please contact Paul Grant "
      "(paul.grant@initrode.example) instead.\n\nThis mailbox will be deactivated soon.",
      client="owa", orig="EN1", subject="Automatic reply: {subject}", extra=MS_OOF,
      note="left the company: still an auto-reply, no action")
    A("en-ooo-006", "en", ("Sam Whitley", "sam.whitley@hooli.example"),
      "I no longer work at Hooli. Please remove this address from your mailing lists and direct future "
      "correspondence to info@hooli.example.", client="plain", orig="EN2",
      subject="Auto: {subject}", extra=["X-Autoreply: yes", "Auto-Submitted: auto-replied"], to="VERP",
      note="auto-reply explicitly asks for removal: auto-replies never trigger suppression")
    A("en-ooo-007", "en", ("Paula Reed", "paula.reed@stark-logistics.example"),
      "I'm traveling until Friday with limited connectivity. I'll get back to you next week.\n\nPaula",
      client="gmail", orig="EN1", quote="gmail", subject="Re: {subject}",
      extra=["X-Autoreply: yes", "Auto-Submitted: auto-replied"],
      note="autoresponder quotes the original, which contains 'To unsubscribe click here'")
    A("en-ticket-008", "en", ("Wonka Foods Support", "support@wonka-foods.example"),
      "##- Please type your reply above this line -##\n\nHello,\n\nThank you for contacting Wonka Foods Support. "
      "Your request (#48213) has been received and is being reviewed by our support staff.\n\nTo add additional "
      "comments, reply to this email.\n\nThis is an automated message.", client="plain", orig="EN1",
      orig_to=("Wonka Foods Support", "support@wonka-foods.example"), first="", company="Wonka Foods",
      subject="[Ticket #48213] Re: {subject}",
      extra=["Auto-Submitted: auto-generated", "X-Mailer: Zendesk Mailer", "Precedence: bulk"],
      note="helpdesk auto-acknowledgement")
    A("en-vacation-009", "en", ("Bruce Smith", "bsmith@tyrell.example"),
      "I will not be reading my mail for a while. Your mail concerning \"{subj}\"\nwill be read when I'm back.",
      client="plain", orig="EN1", subject="away from my mail", thread=False, extra=["Precedence: junk"],
      note="classic vacation(1) program: Precedence: junk, no Auto-Submitted")
    A("en-autorespond-010", "en", ("Adler Bikes", "info@adler-bikes.example"),
      "Thanks for getting in touch! Our shop is open Tue-Sat 10am-6pm and we answer emails within 2 business "
      "days.\n\nWant our monthly deals? Reply SUBSCRIBE. To stop receiving our newsletter, reply STOP.\n\n"
      "Adler Bikes - 14 Elm St", client="plain", orig="EN4", orig_to=("Adler Bikes", "info@adler-bikes.example"),
      first="", subject="Thank you for contacting Adler Bikes",
      extra=["X-Autorespond: Thank you for contacting Adler Bikes", "Precedence: auto_reply",
             "Auto-Submitted: auto-replied"], to="VERP",
      note="cPanel autoresponder whose own text mentions 'reply STOP'")
    A("en-ooo-011", "en", ("Kara Lindqvist", "kara.lindqvist@massive-dynamic.example"),
      "Hi, I'm on parental leave until September 1st and not checking email. For anything related to "
      "partnerships, please reach out to partners@massive-dynamic.example.\n\nThanks!\nKara",
      client="gmail", orig="EN2", subject="Parental leave - {subject}", extra=["Auto-Submitted: auto-replied"])
    A("en-noreply-012", "en", ("Globex Careers", "careers@globex.example"),
      "This mailbox is no longer monitored. Please do not reply to this message.\n\nFor general enquiries visit "
      "https://globex.example/contact.", client="plain", orig="EN1",
      orig_to=("Globex Careers", "careers@globex.example"), first="",
      subject="Undeliverable mailbox: no longer monitored", thread=False,
      extra=["Auto-Submitted: auto-generated"],
      note="'no longer monitored' autoresponder is not a bounce: no hard-bounce")
    A("en-ooo-013", "en", ("Oliver Bennett", "oliver.bennett@brightwater.example"),
      "I am currently out of the office with limited access to email, returning Tuesday 8 April. For urgent "
      "requests please contact the sales desk on +44 20 7946 0000.\n\nKind regards,\nOliver Bennett",
      client="outlook", orig="EN2", fmt="alt", cte="base64", subject="Automatic reply: {subject}",
      extra=MS_OOF, note="multipart/alternative, base64")
    A("en-ooo-014", "en", ("Victor Stone", "vstone@umbrella-corp.example"),
      "I'm out of the office on business travel until 21 Feb. I will have intermittent access to email.\n\n"
      "Victor", client="outlook-desktop", orig="EN1", fmt="plain", subject="Out of Office AutoReply: {subject}",
      extra=["X-Auto-Response-Suppress: DR, RN, NRN, OOF, AutoReply"],
      note="legacy Exchange subject; no Auto-Submitted header")
    A("en-ooo-015", "en", ("Susan Price", "susan_price62@yahoo.com"),
      "Hi! I'm away until the 15th with spotty wifi.\n- Susan", client="yahoo", orig="EN4",
      company="Price Realty", subject="Auto Response", fmt="plain", thread=False,
      extra=["Auto-Submitted: auto-replied", "X-Autoreply: yes"], to="VERP")
    A("en-ooo-016", "en", ("Marco Bianchi", "marco.bianchi@umbrella-corp.example"),
      "I'm out of the office until Monday. I'll respond as soon as I can.\n\nMarco Bianchi\nUmbrella Corp\n\n"
      "Umbrella Weekly: to unsubscribe from our newsletter click here https://umbrella-corp.example/unsubscribe",
      client="outlook", orig="EN2", subject="Automatic reply: {subject}", extra=MS_OOF,
      note="auto-reply carrying the sender's own 'unsubscribe' footer")
    A("en-ooo-017", "en", ("Julia Hart", "jhart@piedpiper.example"),
      "Thanks for reaching out. I'm on sabbatical until July and not reading email. If this is about sales "
      "tooling, please contact ops@piedpiper.example.\n\nPlease don't email this address again before July.",
      client="gmail", orig="EN1", subject="Re: {subject}", extra=["Auto-Submitted: auto-replied"],
      note="'don't email this address again' inside an auto-reply: no action")

    # ------------------------------------------------------------ French
    A("fr-absence-001", "fr", ("Virginie Colas", "virginie.colas@dupont-sa.fr"),
      "Bonjour,\n\nJe suis absente du bureau jusqu'au 24 mars inclus, avec un accès limité à ma messagerie. En cas "
      "d'urgence, merci de contacter Mme Delphine Roche au 04 72 00 00 00.\n\nCordialement,\nVirginie Colas",
      client="outlook", orig="FR1", company="Dupont SA", subject="Réponse automatique : {subject}", extra=MS_OOF,
      note="Outlook FR, encoded-word subject")
    A("fr-absence-002", "fr", ("Gaël Leroux", "gael.leroux@initech.fr"),
      "Bonjour,\n\nJe suis absent(e) du bureau jusqu'au 2 mai. Je prendrai connaissance de votre message à mon "
      "retour.\n\nBien cordialement", client="plain", orig="FR1",
      note="no RFC 3834 headers, subject 'Re: ...': only the text identifies it")
    A("fr-absence-003", "fr", ("Pierre Lacombe", "pierre.lacombe@initech.fr"),
      "Bonjour,\n\nJ'ai quitté la société Initech le 31 janvier 2025. Merci de contacter désormais Paul Martin "
      "(paul.martin@initech.fr) pour toute question commerciale.\n\nCordialement", client="owa", orig="FR2",
      subject="Réponse automatique : {subject}", extra=MS_OOF, note="left the company notice, auto-reply")
    A("fr-absence-004", "fr", ("Marion Chevalier", "marion.chevalier@dupont-sa.fr"),
      "Bonjour, je suis en congés jusqu'au 14 avril. Pour toute urgence : accueil@dupont-sa.fr.\n\n"
      "Hello, I'm on leave until April 14th. For urgent matters: accueil@dupont-sa.fr.",
      client="outlook", orig="FR1", company="Dupont SA", subject="Réponse automatique : {subject}",
      extra=MS_OOF, note="bilingual FR/EN out-of-office")
    A("fr-absence-005", "fr", ("Romane Guillot", "romane.guillot@groupe-arvel.fr"),
      "Ceci est un message automatique, merci de ne pas y répondre.\n\nJe suis en formation jusqu'au 12 février "
      "et ne consulterai pas mes e-mails.", client="gmail", orig="FR2", subject="Absence : {subject}",
      extra=["Auto-Submitted: auto-generated"], note="'merci de ne pas y répondre' trap")
    A("fr-absence-006", "fr", ("Loïc Besson", "loic.besson@transports-lefebvre.fr"),
      "Je suis en déplacement jusqu'à vendredi. Je vous répondrai dès mon retour.\n\nLoïc",
      client="gmail", orig="FR1", quote="gmail", company="Transports Lefebvre",
      extra=["X-Autoreply: yes", "Auto-Submitted: auto-replied"],
      note="autoresponder quotes the original containing 'Pour vous désabonner'")
    A("fr-absence-007", "fr", ("Justine Perrin", "justine.perrin@groupe-arvel.fr"),
      "Bonjour,\n\nJe suis actuellement en congé maternité jusqu'au 30 juin 2025. Vos messages ne seront pas "
      "transférés. Pour toute demande, vous pouvez écrire à contact@groupe-arvel.fr.\n\nMerci de votre "
      "compréhension.", client="outlook-desktop", orig="FR1", fmt="plain",
      subject="Réponse automatique : {subject}", extra=["Auto-Submitted: auto-replied"])
    A("fr-absence-008", "fr", ("René Marchand", "rene.marchand@orange.fr"),
      "Je suis absent jusqu'au 10 mars. Merci de renouveler votre envoi après cette date si nécessaire.",
      client="orange", orig="FR3", company="Marchand Peinture", subject="Message d'absence", thread=False,
      extra=["X-Autoreply: yes", "Precedence: auto_reply"], to="VERP")
    A("fr-absence-009", "fr", ("Aurore Delmas", "aurore.delmas@cabinet-rousseau.fr"),
      "Bonjour, je suis en congés jusqu'au 22 avril inclus. Pour toute demande urgente, contactez le standard au "
      "03 20 00 00 00.", client="plain", orig="FR2", subject="En congés", thread=False,
      extra=["Auto-Submitted: auto-replied (zimbra; vacation)", "X-Mailer: Zimbra 10.0.6_GA_4665"])
    A("fr-absence-010", "fr", ("Nathan Giraud", "nathan.giraud@transports-lefebvre.fr"),
      "Cette adresse n'est plus active. Merci de la supprimer de vos fichiers et d'écrire désormais à "
      "contact@transports-lefebvre.fr.", client="plain", orig="FR1", company="Transports Lefebvre",
      subject="Adresse inactive", extra=["Auto-Submitted: auto-generated"],
      note="auto-reply asks to delete the address from files: still no action (not a bounce either)")
    A("fr-accuse-011", "fr", ("Mairie de Saint-Ours", "contact@mairie-saint-ours.fr"),
      "Madame, Monsieur,\n\nNous accusons bonne réception de votre message, qui sera traité dans les meilleurs "
      "délais.\n\nLes services de la Mairie de Saint-Ours", client="plain", orig="FR1",
      orig_to=("Mairie de Saint-Ours", "contact@mairie-saint-ours.fr"), first="", company="la Mairie de Saint-Ours",
      subject="Accusé de réception", extra=["Auto-Submitted: auto-generated", "Precedence: bulk"])
    A("fr-absence-012", "fr", ("Bastien Noël", "bastien.noel@initech.fr"),
      "Absent jusqu'au 3 mars. Pour les urgences, appelez le 06 00 00 00 00.\n\n--\nInitech France\n"
      "Pour vous désinscrire de notre lettre d'information, répondez STOP.", client="outlook", orig="FR2",
      subject="Réponse automatique : {subject}", fmt="plain",
      note="no RFC 3834 headers; own footer contains 'répondez STOP'")
    A("fr-absence-013", "fr", ("Lina Haddad", "lina.haddad@dupont-sa.fr"),
      "Bonjour,\n\nJe suis en arrêt jusqu'à nouvel ordre. Votre message ne sera pas lu. Merci de ne plus écrire "
      "à cette adresse et de vous adresser à secretariat@dupont-sa.fr.", client="owa", orig="FR1",
      company="Dupont SA", subject="Réponse automatique : {subject}", extra=MS_OOF,
      note="'merci de ne plus écrire à cette adresse' inside an auto-reply: no action")
    A("fr-absence-014", "fr", ("Clément Robin", "clement.robin@free.fr"),
      "Bonjour,\nje suis en vacances sans accès à mes mails jusqu'au 28 février.\nClément", client="roundcube",
      orig="FR3", company="Robin Menuiserie", subject="Re: {subject}",
      extra=["Auto-Submitted: auto-replied (vacation)", "Precedence: bulk"], to="VERP",
      note="Sieve vacation autoreply")

    # ------------------------------------------------------------ German
    A("de-abwesend-001", "de", ("Johanna Weber", "j.weber@schmidt-logistik.de"),
      "Vielen Dank für Ihre Nachricht. Ich bin bis zum 21.03.2025 nicht im Büro und habe keinen Zugriff auf meine "
      "E-Mails. In dringenden Fällen wenden Sie sich bitte an info@schmidt-logistik.de.\n\nMit freundlichen "
      "Grüßen\nJohanna Weber", client="plain", orig="EN1", company="Schmidt Logistik",
      subject="Abwesenheitsnotiz: {subject}", extra=["Auto-Submitted: auto-replied"])
    A("de-abwesend-002", "de", ("Tobias Krüger", "tobias.krueger@kraftwerk-gmbh.de"),
      "Ich habe das Unternehmen verlassen. Bitte wenden Sie sich künftig an vertrieb@kraftwerk-gmbh.de.",
      client="outlook", orig="EN2", company="Kraftwerk GmbH", subject="Automatische Antwort: {subject}",
      extra=MS_OOF, note="German 'left the company' auto-reply")

    unknown_mdn_en()
    unknown_mdn_fr()
    unknown_calendar()


# ------------------------------------------------------------------ 'unknown' automatic messages

def unknown_mdn_en():
    d = next_date("us-e")
    o = Original("EN1", "Kim Nguyen", "knguyen@soylent.example", d - timedelta(hours=3))
    sent = o.date
    b = "_002_BY5PR11MB" + str(RNG.randint(1000, 9999)) + ralnum(20, "0123456789ABCDEF") + "_"
    human = (f"Your message\n\n  To: Kim Nguyen\n  Subject: {o.subject}\n"
             f"  Sent: {DAYS_EN[sent.weekday()]}, {MONTHS_EN[sent.month - 1]} {sent.day}, {sent.year} "
             f"{sent:%I:%M:%S %p} (UTC-05:00) Eastern Time (US & Canada)\n\n"
             f"was read on {DAYS_EN[d.weekday()]}, {MONTHS_EN[d.month - 1]} {d.day}, {d.year} "
             f"{d:%I:%M:%S %p} (UTC-05:00) Eastern Time (US & Canada).\n")
    mdn = (f"Reporting-UA: BY5PR11MB4321.namprd11.prod.outlook.com; Microsoft Outlook 16.0\n"
           f"Final-Recipient: rfc822;knguyen@soylent.example\nOriginal-Message-ID: {o.mid}\n"
           "Disposition: manual-action/MDN-sent-manually; displayed\n")
    body = Multi("report", [Leaf('text/plain; charset="us-ascii"', human, "7bit"),
                            Raw("message/disposition-notification", mdn)],
                 boundary=b, params="report-type=disposition-notification")
    h = [f"From: {addr('Kim Nguyen', 'knguyen@soylent.example')}", f"To: {addr(o.rep_name, o.rep_addr)}",
         f"Subject: Read: {o.subject}", f"Date: {rfc_date(d)}", f"Message-ID: {msgid('outlook-us')}",
         f"References: {o.mid}", "Thread-Topic: " + o.subject, "Content-Language: en-US",
         "X-MS-Has-Attach: ", "X-MS-TNEF-Correlator: "]
    write("auto/en-mdn-read-001.eml", render_message(h, body), pick_eol())
    label("auto/en-mdn-read-001.eml", "unknown", None, [], "en",
          "read receipt (RFC 8098 MDN), not a bounce / complaint / reply")


def unknown_mdn_fr():
    d = next_date("fr")
    o = Original("FR1", "Bertrand Michaud", "bertrand.michaud@groupe-arvel.fr", d - timedelta(hours=5))
    human = (f"Ceci est un accusé de réception pour le courrier électronique envoyé à "
             f"bertrand.michaud@groupe-arvel.fr.\n\nNote : cet accusé de réception indique seulement que le message "
             f"a été affiché sur l'ordinateur du destinataire. Il n'y a aucune garantie que le destinataire ait lu "
             f"ou compris le contenu du message.\n")
    mdn = ("Reporting-UA: groupe-arvel.fr; Thunderbird 128.7.0\n"
           "Final-Recipient: rfc822;bertrand.michaud@groupe-arvel.fr\n"
           f"Original-Message-ID: {o.mid}\nDisposition: manual-action/MDN-sent-manually; displayed\n")
    hdrs_part = Raw("text/rfc822-headers", "\n".join(o.headers(dkim=False)) + "\n",
                    headers=["Content-Disposition: inline"])
    body = Multi("report", [Leaf("text/plain; charset=UTF-8", human, "8bit"),
                            Raw("message/disposition-notification; name=MDNPart2.txt", mdn,
                                headers=["Content-Disposition: inline"]),
                            hdrs_part],
                 boundary="------------" + ralnum(24), params="report-type=disposition-notification")
    h = [f"From: {addr('Bertrand Michaud', 'bertrand.michaud@groupe-arvel.fr')}",
         f"To: {addr(o.rep_name, o.rep_addr)}",
         f"Subject: {subj('Accusé de réception (affiché) - ' + o.subject)}", f"Date: {rfc_date(d)}",
         f"Message-ID: {msgid('tb', 'groupe-arvel.fr')}", f"In-Reply-To: {o.mid}",
         "User-Agent: Mozilla Thunderbird", "Content-Language: fr"]
    write("auto/fr-mdn-lu-002.eml", render_message(h, body), pick_eol())
    label("auto/fr-mdn-lu-002.eml", "unknown", None, [], "fr", "Thunderbird read receipt (MDN)")


def unknown_calendar():
    d = next_date("us-w")
    o = Original("EN2", "Noor Hassan", "noor.hassan@hooli.example", d - timedelta(days=1))
    start = (d + timedelta(days=2)).replace(hour=10, minute=0, second=0)
    uid = "040000008200E00074C5B7101A82E008000000" + rHEX(40)
    ics = ("BEGIN:VCALENDAR\nMETHOD:REPLY\nPRODID:Microsoft Exchange Server 2010\nVERSION:2.0\nBEGIN:VEVENT\n"
           "ATTENDEE;PARTSTAT=ACCEPTED;CN=Noor Hassan:mailto:noor.hassan@hooli.example\n"
           "COMMENT;LANGUAGE=en-US:\\n\nSUMMARY;LANGUAGE=en-US:Accepted: Hooli / Acme intro\n"
           f"DTSTART:{start.astimezone(start.tzinfo).strftime('%Y%m%dT%H%M%S')}\n"
           f"DTEND:{(start + timedelta(minutes=30)).strftime('%Y%m%dT%H%M%S')}\n"
           f"UID:{uid}\nCLASS:PUBLIC\nPRIORITY:5\nDTSTAMP:{d.strftime('%Y%m%dT%H%M%SZ')}\n"
           "TRANSP:OPAQUE\nSTATUS:CONFIRMED\nSEQUENCE:0\nLOCATION;LANGUAGE=en-US:Zoom\nEND:VEVENT\nEND:VCALENDAR\n")
    body = Multi("alternative", [Leaf('text/plain; charset="us-ascii"', "\n", "7bit"),
                                 Leaf('text/calendar; charset="utf-8"; method=REPLY', ics, "base64")],
                 boundary="_000_SJ0PR13MB" + str(RNG.randint(1000, 9999)) + rHEX(24) + "_")
    h = [f"From: {addr('Noor Hassan', 'noor.hassan@hooli.example')}", f"To: {addr('Priya Raman', 'priya@acme.example')}",
         "Subject: Accepted: Hooli / Acme intro", f"Date: {rfc_date(d)}", f"Message-ID: {msgid('outlook-us')}",
         "Thread-Topic: Hooli / Acme intro", "Content-Language: en-US", "X-MS-Has-Attach: ",
         "X-MS-TNEF-Correlator: "]
    write("auto/en-calendar-accept-003.eml", render_message(h, body), pick_eol())
    label("auto/en-calendar-accept-003.eml", "unknown", None, [], "en",
          "Outlook meeting acceptance (text/calendar METHOD:REPLY), no text: not a reply to classify")
