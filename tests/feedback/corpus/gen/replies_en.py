"""English human replies."""
from datetime import datetime

from .engine import sup, rev, TZ
from .replykit import reply


def build():
    # ------------------------------------------------------------ unsubscribe
    reply("en-unsub-001", "en", "unsubscribe", ("Pat Smith", "pat.smith@globex.example"),
          "Please remove me from your mailing list.\n\nThanks,\nPat", client="gmail", orig="EN1")
    reply("en-unsub-002", "en", "unsubscribe", ("Dayo Okafor", "d.okafor@umbrella-corp.example"),
          "", client="outlook-desktop", orig="EN2", subject="Unsubscribe", quote="none", fmt="plain",
          thread=False, note="subject-only opt-out: new message, empty body, no In-Reply-To")
    reply("en-unsub-003", "en", "unsubscribe", ("Rosa Garcia", "rgarcia77@hotmail.com"),
          "", client="owa", orig="EN1", subject="STOP", company="Garcia Interiors",
          note="subject-only STOP; body contains only the quoted original (with its unsubscribe footer)")
    reply("en-unsub-004", "en", "unsubscribe", ("Brian Kowalski", "bkowalski@stark-logistics.example"),
          "stop emailing me\n\nSent from my iPhone", client="iphone", orig="EN2")
    reply("en-unsub-005", "en", "unsubscribe", ("Margaret Chen", "margaret.chen@hooli.example"),
          "Hi Sam,\n\nI'd appreciate it if you took me off your distribution list. This is the second time "
          "I'm asking.\n\nRegards,\nMargaret Chen\nVP Operations | Hooli\n+1 (650) 555-0199",
          client="outlook", orig="EN3", prev="EN1", fmt="html", cte="base64",
          note="HTML-only, base64; quotes a follow-up that itself quotes the first mail")
    reply("en-unsub-006", "en", "unsubscribe", ("Ahmed Rahman", "ahmed.rahman@massive-dynamic.example"),
          "Hello \u2014\n\nKindly unsubscribe me from all future communications from Acme. I did not sign up "
          "for this, I have no idea how you got this address, and I do not wish to receive any further "
          "marketing emails from your company or its partners. Thank you for respecting this request.\n\nAhmed",
          client="apple", orig="EN2",
          note="multipart/alternative, quoted-printable with soft line breaks in a long paragraph")
    reply("en-unsub-007", "en", "unsubscribe", ("Kevin Lee", "kevlee.84@gmail.com"),
          "Hey - you've been emailing my work address (k.lee@umbrella-corp.example) and it forwards to my "
          "personal account. Please take me off your list, both addresses.\n\nKevin",
          client="gmail", orig="EN1", orig_to=("Kevin Lee", "k.lee@umbrella-corp.example"),
          actions=[sup("kevlee.84@gmail.com", "unsubscribe"), sup("k.lee@umbrella-corp.example", "unsubscribe")],
          note="same person replies from personal address; original work address named in the text")
    reply("en-unsub-008", "en", "unsubscribe", ("Robert Hayes", "rhayes@vandelay-industries.example"),
          "Remove. Me. From. Your. List.\n\nR. Hayes", client="outlook-desktop", orig="EN1",
          orig_to=("Robert Hayes", "robert.hayes@vandelay-industries.example"),
          actions=[sup("rhayes@vandelay-industries.example", "unsubscribe"),
                   sup("robert.hayes@vandelay-industries.example", "unsubscribe")],
          note="reply from alias rhayes@; quoted -----Original Message----- block shows To: robert.hayes@")
    reply("en-unsub-009", "en", "unsubscribe", ("Linda Moreno", "lmoreno@bluth-co.example"),
          "{QUOTE}\n\nPlease do not send me any more of these emails. I never asked for them.\n\n-- \n"
          "Linda Moreno\nBluth Company | Facilities", client="thunderbird", orig="EN2",
          note="bottom-posted below the quote")
    reply("en-unsub-010", "en", "unsubscribe", ("Gary Thompson", "gary@prestige-worldwide.example"),
          "THIS IS THE FOURTH EMAIL IN TWO WEEKS. TAKE ME OFF YOUR LIST. NOW.", client="outlook",
          orig="EN3", prev="EN1")
    reply("en-unsub-011", "en", "unsubscribe", ("Dana Whitfield", "dana.w@piedpiper.example"),
          "hi priya, thansk for reaching out but could you pls remove my adress from your list? we get a ton "
          "of these every day and i cant keep up with them. appreciate it!\n-dana",
          client="gmail", orig="EN2", note="typos, lowercase")
    reply("en-unsub-012", "en", "unsubscribe", ("Omar Haddad", "omar.haddad@oceanic-air.example"),
          "Unsubscribe", client="gmail", orig="EN6")
    reply("en-unsub-013", "en", "unsubscribe", ("Jennifer Walsh", "jwalsh@contoso-retail.example"),
          "Unsubscribe me please.\n\nJennifer Walsh\nDirector, Store Operations\nContoso Retail\n\n"
          "CONFIDENTIALITY NOTICE: This e-mail message, including any attachments, is for the sole use of the "
          "intended recipient(s) and may contain confidential and privileged information. Any unauthorized "
          "review, use, disclosure or distribution is prohibited. If you are not the intended recipient, please "
          "contact the sender by reply e-mail and destroy all copies of the original message.",
          client="outlook", orig="EN1", note="long corporate disclaimer after the request")
    reply("en-unsub-014", "en", "unsubscribe", ("Chris Nakamura", "chris_nakamura@yahoo.com"),
          "Opt me out please.", client="yahoo", orig="EN4", company="Nakamura Photography",
          note="Yahoo webmail quote: attribution line then original indented without '>'")
    reply("en-unsub-015", "en", "unsubscribe", ("Tom Baker", "tom.baker@wayne-ent.example"),
          "I never signed up for this. Please stop contacting me.", client="owa", orig="EN1",
          sender_display="Tom Baker <tom.baker@WAYNE-ENT.example>",
          note="From domain in upper case; target normalised to lower-case domain")
    reply("en-unsub-016", "en", "unsubscribe", ("Sophie Turner", "s.turner@dunder-mifflin.example"),
          "Kindly remove me from your mailing list.\n\nRegards,\nSophie", client="zoho", orig="EN2",
          note="HTML-only (Zoho)")
    reply("en-unsub-017", "en", "unsubscribe", ("Marcus Bell", "marcus.bell@cyberdyne.example"),
          "Pls stop sending me emails. thx\n\n\nSent from my Galaxy", client="samsung", orig="EN2",
          note="text/plain base64 (Samsung Email); quote introduced by '-------- Original message --------'")
    reply("en-unsub-018", "en", "unsubscribe", ("Helen Zhou", "hzhou@tyrell.example"),
          "{ATTR}\n> Hi Helen,\n>\n> Saw that Tyrell is expanding the SDR team - congrats. Most teams we talk\n"
          "> to at that stage lose 10-20% of their sends to bounces and spam folders\n> before anyone notices.\n\n"
          "Not my problem.\n\n> Acme fixes that with real-time list hygiene and a relay that respects\n"
          "> opt-outs automatically. Would a 15-minute call next Tuesday or Wednesday\n> make sense?\n\n"
          "No. Please stop emailing me.\n\n> Best,\n> Sam Carter",
          client="thunderbird", orig="EN1", quote="none", note="inline (interleaved) reply")
    reply("en-unsub-019", "en", "unsubscribe", ("Nikhil Patel", "nik.patel@outlook.com"),
          "\n-- \nNikhil\nSent from Outlook", client="owa", orig="EN4", subject="REMOVE", quote="none",
          fmt="plain", company="Patel Pharmacy",
          note="subject-only opt-out; body is only a signature")
    reply("en-unsub-020", "en", "unsubscribe", ("Aaron Fischer", "aaron.fischer@soylent.example"),
          "Unsubscribe me from Acme Mail AND from Acme please, I seem to get both.", client="gmail", orig="EN4",
          note="original subject contains 'Stop losing leads'")
    reply("en-unsub-021", "en", "unsubscribe", ("Jess M", "jess.m@hotmail.com"),
          "Don't email me again.\n\nSent from my iPhone", client="iphone", orig="EN1", company="Bloom Studio")
    reply("en-unsub-022", "en", "unsubscribe", ("Paul O'Brien", "paul.obrien@gringotts-bank.example"),
          "I clicked the unsubscribe link three weeks ago and I'm still getting these. Remove me.",
          client="outlook", orig="EN3", note="complains the unsubscribe link did not work = opt-out")
    reply("en-unsub-023", "en", "unsubscribe", ("Luis Ortega", "luis.ortega@globex.example"),
          "I'm not the right contact for this - please take me off your list. You might try our marketing "
          "lead, jane.doe@globex.example.", client="gmail", orig="EN2",
          note="opt-out plus redirect: only the sender is suppressed, not the colleague named")
    reply("en-unsub-024", "en", "unsubscribe", ("Rachel Green", "rgreen@wonka-foods.example"),
          "Please stop following up. Thanks.", client="apple", orig="EN3", prev="EN1",
          note="'stop following up' is an explicit stop request (contrast en-notint-006)")
    reply("en-unsub-025", "en", "unsubscribe", ("Karen Bell", "karen.bell@sterling-cooper.example"),
          "Hello,\n\nI manage Mr. Whitfield's correspondence. Please remove him from your mailing list, and this "
          "address as well.\n\nKind regards,\nKaren Bell\nExecutive Assistant to Roger Whitfield",
          client="outlook", orig="EN1", orig_to=("Roger Whitfield", "roger.whitfield@sterling-cooper.example"),
          actions=[sup("karen.bell@sterling-cooper.example", "unsubscribe"),
                   sup("roger.whitfield@sterling-cooper.example", "unsubscribe")],
          note="assistant opts out on behalf of the original recipient (shown in quoted To:) and herself")
    reply("en-unsub-026", "en", "unsubscribe", ("Steve Rogers", "steve.rogers.mn@gmail.com"),
          "Take me off your list or I'm reporting this as spam.", client="gmail", orig="EN1",
          company="Rogers Roofing", note="threat to report as spam is not a regulator/legal request")
    reply("en-unsub-027", "en", "unsubscribe", ("", "quietfox@proton.me"),
          "Unsubscribe.\n\nSent with Proton Mail secure email.", client="proton", orig="EN4", company="Quiet Fox",
          note="no display name; Proton quote header")

    # ------------------------------------------------------------ unsubscribe-company
    reply("en-company-001", "en", "unsubscribe-company", ("Helen Park", "helen.park@globex.example"),
          "Priya,\n\nPlease do not contact anyone at Globex again. Your team has emailed at least six of our "
          "people this month and we've asked before.\n\nHelen Park\nHead of Procurement", client="outlook",
          orig="EN2")
    reply("en-company-002", "en", "unsubscribe-company", ("Rachael Voss", "rvoss@tyrell.example"),
          "Please remove our whole company from your database - that's everyone at tyrell.example. Your reps "
          "have emailed half our staff this month.", client="gmail", orig="EN1")
    reply("en-company-003", "en", "unsubscribe-company", ("Mike Brennan", "mike.brennan.plumbing@gmail.com"),
          "Hi, this is a family business. Please don't email me or anyone else at our company again.\n\nMike",
          client="gmail", orig="EN1", company="Brennan Plumbing",
          note="company-wide request from a free-mail address: review @gmail.com, never suppress it")
    reply("en-company-004", "en", "unsubscribe-company", ("Cyberdyne IT Security", "security@cyberdyne.example"),
          "This is a company-wide request from Cyberdyne IT Security: remove all @cyberdyne.example addresses "
          "from your lists, effective immediately. Further messages will be blocked at our gateway.",
          client="outlook-desktop", orig="EN1", orig_to=("Miles Dyson", "miles.dyson@cyberdyne.example"),
          actions=[sup("security@cyberdyne.example", "unsubscribe"), sup("@cyberdyne.example", "unsubscribe")],
          note="security team replies to a mail sent to a colleague; domain suppression covers the original recipient")
    reply("en-company-005", "en", "unsubscribe-company", ("Angela Ruiz", "angela.ruiz.cpa@outlook.com"),
          "Take me and all my staff off your list. We're a small accounting firm, none of us need this.",
          client="owa", orig="EN2", company="Ruiz & Partners CPA",
          note="free-mail sender (outlook.com): review the domain, do not suppress it")
    reply("en-company-006", "en", "unsubscribe-company", ("Dmitri Volkov", "dvolkov@northwind.example"),
          "Nobody at Northwind wants to hear from Acme. Stop emailing our employees - all of them.",
          client="thunderbird", orig="EN3")
    reply("en-company-007", "en", "unsubscribe-company", ("Grace Liu", "grace.liu@soylent.example"),
          "Hello,\n\nOn behalf of Soylent Corp, I'm asking that you cease all outreach to our employees. Please "
          "remove every soylent.example address from your system.\n\nThank you,\nGrace Liu\nOffice Manager",
          client="outlook", orig="EN1", fmt="html", note="HTML-only")

    # ------------------------------------------------------------ legal
    reply("en-legal-001", "en", "legal", ("Anna Keller", "anna.keller@web.de"),
          "Dear Sir or Madam,\n\nUnder Article 17 of the General Data Protection Regulation (GDPR) I hereby "
          "request the erasure of all personal data you hold about me, including this email address.\n\n"
          "Please confirm the erasure in writing within one month, as required by Article 12(3) GDPR.\n\n"
          "Anna Keller", client="roundcube", orig="EN1", company="Keller Design")
    reply("en-legal-002", "en", "legal", ("Bill Morrison", "bill@morrison-hvac.example"),
          "This is a violation of CAN-SPAM. I've forwarded your last four emails to my attorney. Remove me "
          "immediately.", client="gmail", orig="EN3", prev="EN1", company="Morrison HVAC")
    reply("en-legal-003", "en", "legal", ("Fiona MacLeod", "fiona.macleod@brightwater.example"),
          "If I receive one more email from your company I will report you to the ICO. I have never given "
          "consent to be contacted.", client="outlook", orig="EN2")
    reply("en-legal-004", "en", "legal", ("Marek Nowak", "marek.nowak@gmx.de"),
          "Hello,\n\nPursuant to Articles 15 and 17 GDPR, please:\n1. tell me what personal data you hold about "
          "me,\n2. tell me where you obtained it, and\n3. delete it afterwards.\n\nRegards,\nMarek Nowak",
          client="thunderbird", orig="EN2", company="Nowak Consulting",
          subject="Data Subject Access Request - marek.nowak@gmx.de",
          note="Art. 15 access + Art. 17 erasure request; subject replaced")
    reply("en-legal-005", "en", "legal", ("Isabelle Clarke", "i.clarke@gringotts-bank.example"),
          "Please treat this email as a formal request for erasure of my personal data under UK GDPR. Confirm "
          "once done.\n\nIsabelle Clarke\nCompliance Officer", client="outlook", orig="EN1",
          subject="Erasure request")
    reply("en-legal-006", "en", "legal", ("Jonas Schmidt", "j.schmidt@schmidt-logistik.de"),
          "We are a German company. Unsolicited B2B e-mail advertising without prior consent is unlawful here "
          "(\u00a7 7 UWG). Delete my data and confirm in writing, otherwise our legal department will take the "
          "matter further.\n\n-- \nJonas Schmidt\nGesch\u00e4ftsf\u00fchrer, Schmidt Logistik GmbH",
          client="thunderbird", orig="EN1")
    reply("en-legal-007", "en", "legal", ("Nina Petrova", "nina.petrova@icloud.com"),
          "Right to be forgotten. Delete everything you have on me and confirm.\n\nSent from my iPhone",
          client="iphone", orig="EN4", company="Petrova Events")

    # ------------------------------------------------------------ not interested
    reply("en-notint-001", "en", "not-interested", ("Jake Morgan", "jake.morgan@hooli.example"),
          "Not interested, thanks.", client="gmail", orig="EN1")
    reply("en-notint-002", "en", "not-interested", ("Alicia Brooks", "abrooks@initrode.example"),
          "Hi Priya,\n\nWe already have a vendor for this (SendGrid plus an internal tool). Good luck though!\n\n"
          "Alicia", client="outlook", orig="EN2")
    reply("en-notint-003", "en", "not-interested", ("Derek Chan", "derek.chan@vandelay-industries.example"),
          "Thanks Sam, but there's no budget for this in 2025. Maybe check back next year.", client="apple",
          orig="EN3", prev="EN1")
    reply("en-notint-004", "en", "not-interested", ("Sandra Ortiz", "sortiz@bluth-co.example"),
          "No thanks. We handle deliverability in-house.", client="gmail", orig="EN1")
    reply("en-notint-005", "en", "not-interested", ("Victor Hale", "victor.hale@stark-logistics.example"),
          "Appreciate the note but this isn't a priority for us right now.", client="owa", orig="EN2")
    reply("en-notint-006", "en", "not-interested", ("Erin Walsh", "erin.walsh@massive-dynamic.example"),
          "Not for us. No need to follow up.", client="gmail", orig="EN3", prev="EN1",
          note="'no need to follow up' is a decline, not an explicit request to stop mailing")
    reply("en-notint-007", "en", "not-interested", ("Ben Adler", "ben@adler-bikes.example"),
          "We're a 4-person bike shop, we don't do outbound. Not a fit.\n\nSent from my iPhone", client="iphone",
          orig="EN1")
    reply("en-notint-008", "en", "not-interested", ("Mark Evans", "mevans@wayne-ent.example"),
          "nope\n\n-- \nMark Evans\nWayne Enterprises | Logistics\n"
          "Please consider the environment before printing this email.", client="thunderbird", orig="EN2")
    reply("en-notint-009", "en", "not-interested", ("Olivia Grant", "olivia.grant@contoso-retail.example"),
          "Hi Sam,\n\nThanks for thinking of us. We looked at a few tools in this space last year and decided "
          "to keep things as they are for now, so I'll pass.\n\nAll the best,\nOlivia Grant\nHead of CRM, "
          "Contoso Retail\n\nTo stop receiving marketing communications from Contoso Retail, visit "
          "https://contoso-retail.example/preferences. This email may contain confidential information. If you "
          "have received it in error, please notify the sender and delete it.",
          client="outlook", orig="EN1",
          note="sender's own footer mentions 'stop receiving marketing' and 'delete it'")
    reply("en-notint-010", "en", "not-interested", ("Hiro Tanaka", "hiro.tanaka@cyberdyne.example"),
          "I'll pass - we just signed a 3-year contract with one of your competitors.", client="gmail",
          orig="EN2")
    reply("en-notint-011", "en", "not-interested", ("Tyler Rich", "tyler.rich88@gmail.com"),
          "hard pass lol", client="gmail", orig="EN4", company="Rich Media")
    reply("en-notint-012", "en", "not-interested", ("Meredith Palmer", "mpalmer@dunder-mifflin.example"),
          "Not right now - we're in the middle of a CRM migration and won't look at new tools this year.",
          client="outlook", orig="EN2")
    reply("en-notint-013", "en", "not-interested", ("Cole Harmon", "cole.harmon@oceanic-air.example"),
          "Thanks but we're all set.\n\nCole", client="roundcube", orig="EN6",
          note="quoted original footer says 'Reply STOP to opt out'")

    # ------------------------------------------------------------ positive
    reply("en-positive-001", "en", "positive", ("Laura Kim", "laura.kim@piedpiper.example"),
          "Sounds good, let's talk Tuesday. 2pm ET works for me.", client="gmail", orig="EN1",
          note="quoted footer contains 'To unsubscribe click here'")
    reply("en-positive-002", "en", "positive", ("Greg Foster", "gfoster@initrode.example"),
          "Sure, send over a few times next week.\n\nGreg", client="outlook", orig="EN1",
          note="quoted footer contains 'To unsubscribe click here'")
    reply("en-positive-003", "en", "positive", ("Maya Singh", "maya.singh@hooli.example"),
          "Don't stop, this is great - idea #2 is spot on, we never fixed that. Can you send pricing?",
          client="gmail", orig="EN6", note="\"don't stop\"; quoted footer 'Reply STOP to opt out'")
    reply("en-positive-004", "en", "positive", ("Carlos Mendez", "carlos.mendez@globex.example"),
          "Yes! We've been struggling with exactly this since we moved to the new domain. Can you do Thursday "
          "morning?\n\nCarlos", client="apple", orig="EN2")
    reply("en-positive-005", "en", "positive", ("Renee Dubois", "renee.dubois@umbrella-corp.example"),
          "Interested. Who else on your side should join? I'll bring our marketing ops lead.", client="owa",
          orig="EN2")
    reply("en-positive-006", "en", "positive", ("Pete Lawson", "pete@lawson-design.example"),
          "Stop by our office Tuesday at 3 if you like, we're at 200 Main St, 4th floor. Happy to hear the "
          "pitch in person.", client="gmail", orig="EN1", note="'stop by' is an invitation")
    reply("en-positive-007", "en", "positive", ("Wendy Cho", "wendy.cho@umbrella-corp.example"),
          "I'd like the free audit please. Our main sending domain is umbrella-corp.example.", client="gmail",
          orig="EN4", note="subject 'Stop losing leads...'; quoted footer has Unsubscribe link")
    reply("en-positive-008", "en", "positive", ("Diane Foster", "diane.foster@gringotts-bank.example"),
          "Hi Priya,\n\nOur legal team wants to know whether you're GDPR compliant and can sign a DPA. If yes, "
          "happy to set up a call with them and our CMO.\n\nDiane", client="outlook", orig="EN2",
          note="mentions GDPR and legal team but is a buying signal")
    reply("en-positive-009", "en", "positive", ("Raj Malhotra", "raj.m@oceanic-air.example"),
          "Can't stop thinking about your point on suppression sync - we've been burned by that. Let's talk "
          "this week.", client="gmail", orig="EN6", note="\"can't stop thinking\"")
    reply("en-positive-010", "en", "positive", ("Kim Nguyen", "knguyen@soylent.example"),
          "Please send me a proposal for 5 sending domains and roughly 200k emails/month.\n\nThanks,\nKim",
          client="outlook", orig="EN1", fmt="html", note="HTML-only")
    reply("en-positive-011", "en", "positive", ("Owen Price", "owen.price@northwind.example"),
          "{QUOTE}\n\nHappy to chat. I'm free Thursday after 1pm Central.\n\nOwen", client="thunderbird",
          orig="EN2", note="bottom-posted")
    reply("en-positive-012", "en", "positive", ("Ellie Marsh", "ellie.marsh@tyrell.example"),
          "Let's do it. Grab a slot here: https://cal.tyrell.example/ellie/30min\n\n-- \nEllie Marsh | Demand "
          "Gen, Tyrell\nGet our monthly newsletter: https://tyrell.example/news (unsubscribe anytime)",
          client="gmail", orig="EN1", note="'unsubscribe' appears in the sender's own signature")
    reply("en-positive-013", "en", "positive", ("Jordan Blake", "jordan.blake@massive-dynamic.example"),
          "Timing is actually perfect, we're evaluating tools this month. What does onboarding look like?",
          client="apple", orig="EN3", prev="EN1")
    reply("en-positive-014", "en", "positive", ("Ivy Chen", "ivy@chen-consulting.example"),
          "Yes please, save me a slot on the 14th - anything but early morning. And please don't stop the "
          "coffee supply :)", client="gmail", orig="EN5", note="'don't stop' joke; original mentions 'stop by booth'")
    reply("en-positive-015", "en", "positive", ("Noah Park", "noah.park@initrode.example"),
          "Yes, calendar invite sent for Wed 10am. Looking forward to it.", client="outlook-desktop",
          orig="EN1")
    reply("en-positive-016", "en", "positive", ("Fatima Zahra", "f.zahra@globex.example"),
          "Hi Priya - yes, this is on our radar. Send me a deck and I'll share it with the team.",
          client="roundcube", orig="EN2")

    # ------------------------------------------------------------ redirect
    reply("en-redirect-001", "en", "redirect", ("Ken Adams", "ken.adams@globex.example"),
          "I'm not the right person, try jane.doe@globex.example - she runs our email programs.",
          client="gmail", orig="EN1")
    reply("en-redirect-002", "en", "redirect", ("Sarah Lin", "sarah.lin@hooli.example"),
          "Hi Priya,\n\nI moved to a different team in January. You'll want Mark Liu (mark.liu@hooli.example), "
          "he owns email infrastructure now.\n\nBest,\nSarah", client="outlook", orig="EN2")
    reply("en-redirect-003", "en", "redirect", ("Tim Cross", "tcross@tyrell.example"),
          "Please reach out to our procurement team at procurement@tyrell.example - all vendor conversations go "
          "through them.", client="owa", orig="EN1")
    reply("en-redirect-004", "en", "redirect", ("Andre Silva", "andre.silva@piedpiper.example"),
          "Not my area - Monica handles vendor decisions for marketing. Cc'ing her here.", client="gmail",
          orig="EN2", cc="Monica Hall <monica.hall@piedpiper.example>")
    reply("en-redirect-005", "en", "redirect", ("George Costanza", "gcostanza@vandelay-industries.example"),
          "I left Vandelay in January and I'm only checking this inbox for the handover. My replacement is "
          "Elaine Benes - elaine.benes@vandelay-industries.example.", client="outlook-desktop", orig="EN1",
          note="human reply (no auto-reply headers) saying they left the company")
    reply("en-redirect-006", "en", "redirect", ("Li Wei", "li.wei@northwind.example"),
          "Wrong person. Try marketing@northwind.example\n\nSent from my iPhone", client="iphone", orig="EN1")
    reply("en-redirect-007", "en", "redirect", ("Ethan Brooks", "ethan.brooks@piedpiper.example"),
          "You want our RevOps lead, Sanjay Patel (sanjay.patel@piedpiper.example). He's been complaining about "
          "bounces for weeks, he'll probably bite.", client="apple", orig="EN2")
    reply("en-redirect-008", "en", "redirect", ("Rebecca Stone", "rstone@wonka-foods.example"),
          "Forwarding to Tom who manages our marketing stack.\n\nTom - see below.", client="outlook",
          orig="EN1", cc="Tom Haverford <thaverford@wonka-foods.example>")

    # ------------------------------------------------------------ unclear
    reply("en-unclear-001", "en", "unclear", ("Dave Kim", "dave.kim@contoso-retail.example"),
          "maybe stop for now?", client="gmail", orig="EN3", prev="EN1",
          actions=[rev("dave.kim@contoso-retail.example")], note="tentative opt-out -> human review")
    reply("en-unclear-002", "en", "unclear", ("Beth Allen", "beth.allen@initrode.example"),
          "should I unsubscribe? not sure why I'm getting these\n\nSent from my iPhone", client="iphone",
          orig="EN2", actions=[rev("beth.allen@initrode.example")], note="question about unsubscribing")
    reply("en-unclear-003", "en", "unclear", ("Nate Ross", "nross@oceanic-air.example"),
          "Less email please.", client="outlook", orig="EN3", prev="EN1",
          actions=[rev("nross@oceanic-air.example")], note="asks for fewer emails, not none")
    reply("en-unclear-004", "en", "unclear", ("Lena Novak", "lena.novak@umbrella-corp.example"),
          "Not sure this is for me... maybe take me off for now? Or not, I don't know, Q4 might be different.",
          client="gmail", orig="EN1", actions=[rev("lena.novak@umbrella-corp.example")],
          note="hedged, self-contradicting opt-out")
    reply("en-unclear-005", "en", "unclear", ("Walt Jenkins", "walt.jenkins@stark-logistics.example"),
          "Did I unsubscribe already? I thought I did this last month.", client="apple", orig="EN2",
          actions=[rev("walt.jenkins@stark-logistics.example")], note="implies they meant to opt out")
    reply("en-unclear-006", "en", "unclear", ("Tara Quinn", "tara.quinn@globex.example"),
          "Stop by our booth? We'll be at RevOps Summit too, booth 17.", client="gmail", orig="EN5",
          actions=[], note="'stop by our booth' is not an opt-out")
    reply("en-unclear-007", "en", "unclear", ("", "m.jones@hooli.example"), "?", client="outlook", orig="EN1",
          actions=[])
    reply("en-unclear-008", "en", "unclear", ("Phil Grant", "pgrant@bluth-co.example"),
          "Who is this?\n\nSent from my iPhone", client="iphone", orig="EN2", actions=[])
    reply("en-unclear-009", "en", "unclear", ("Zoe Hart", "zoe.hart@wonka-foods.example"), "Thanks",
          client="gmail", orig="EN1", actions=[])
    reply("en-unclear-010", "en", "unclear", ("Ian Wright", "ian.wright@prestige-worldwide.example"),
          "Sent from my iPhone", client="iphone", orig="EN3", prev="EN1", actions=[],
          note="no new content besides the client signature")
    reply("en-unclear-011", "en", "unclear", ("Kat Diaz", "kat.diaz@cyberdyne.example"), "\U0001F44D",
          client="gmail", orig="EN2", actions=[], note="emoji only")

    # ------------------------------------------------------------ internal senders (never suppressed)
    reply("en-internal-001", "en", "unsubscribe", ("Sam Carter", "sam@acme.example"),
          "Can we stop sending me the test emails? I'm getting five a day from the staging sequence. Thx",
          client="gmail", orig="EN1", orig_to=("Sam Carter", "sam@acme.example"), first="Sam",
          company="Acme", to="replies@fb.acme.example", actions=[],
          note="internal sender @acme.example asking to stop test mails: never suppress own senders")
    reply("en-internal-002", "en", "unsubscribe", ("Priya Raman", "priya@acme.example"),
          "lol I'm on our own seed list again. please remove me from the QA list", client="outlook",
          orig="EN2", orig_to=("Priya Raman", "priya@acme.example"), company="Acme", subject="Unsubscribe",
          actions=[], note="internal sender, subject 'Unsubscribe': no action")
    reply("en-internal-003", "en", "positive", ("Priya Raman", "priya@acme.example"),
          "FYI - see below, he's keen. Can someone in SDR ops log this in the CRM? I'm out tomorrow.\n\nPriya\n\n"
          "---------- Forwarded message ---------\nFrom: Raj Malhotra <raj@oceanic-air.example>\n"
          "Date: Thu, Mar 6, 2025 at 5:31 PM\nSubject: Re: Oceanic Air + Acme\nTo: Priya Raman <priya@acme.example>\n"
          "\n\nSounds great - Thursday 11am works for us.\n\n{QUOTE}", client="gmail", orig="EN2",
          orig_to=("Raj Malhotra", "raj@oceanic-air.example"), subject="Fwd: Re: Oceanic Air + Acme",
          to="replies@fb.acme.example", actions=[], date=datetime(2025, 3, 6, 17, 48, 12, tzinfo=TZ["us-e"]),
          note="internal rep forwards a prospect's positive reply; sender is internal, nothing to suppress")
    reply("en-internal-004", "en", "legal", ("Acme Mail Ops", "ops@acme-mail.example"),
          "GDPR Article 17 erasure request - TEST, please ignore. Checking that the legal-request path works "
          "end to end.", client="thunderbird", orig="EN4", orig_to=("Acme Mail Ops", "ops@acme-mail.example"),
          company="Acme", actions=[], note="internal brand-domain sender (acme-mail.example): no action")
