"""French human replies."""
from .engine import sup, rev
from .replykit import reply


def build():
    # ------------------------------------------------------------ désinscription
    reply("fr-unsub-001", "fr", "unsubscribe", ("Jean Dupont", "jean.dupont@initech.fr"),
          "Merci de ne plus me contacter.\n\nCordialement,\nJean Dupont", client="gmail", orig="FR1")
    reply("fr-unsub-002", "fr", "unsubscribe", ("Gilles Lemoine", "g.lemoine@orange.fr"),
          "", client="orange", orig="FR1", subject="STOP", quote="none", thread=False,
          company="Garage Lemoine", note="subject-only STOP, empty body, not threaded")
    reply("fr-unsub-003", "fr", "unsubscribe", ("Nathalie Roux", "nathalie.roux@groupe-arvel.fr"),
          "Désinscrivez-moi svp\n\nEnvoyé de mon iPhone", client="iphone", orig="FR2")
    reply("fr-unsub-004", "fr", "unsubscribe", ("Sophie Garnier", "sgarnier@dupont-sa.fr"),
          "Bonjour,\n\nJe vous prie de bien vouloir retirer mon adresse de votre liste de diffusion. Je ne "
          "souhaite plus recevoir de sollicitations commerciales de votre part.\n\nBien à vous,\n\nSophie Garnier\n"
          "Directrice administrative et financière\nDupont SA – 14 avenue Foch, 69006 Lyon",
          client="outlook", orig="FR1", fmt="html", cte="base64", company="Dupont SA", note="HTML-only, base64")
    reply("fr-unsub-005", "fr", "unsubscribe", ("Étienne Marchal", "etienne.marchal@marchal-conseil.fr"),
          "Bonjour Camille,\n\nJe ne souhaite plus recevoir vos emails. Merci d'en prendre note.\n\nÉ. Marchal",
          client="thunderbird", orig="FR1", fmt="alt", cte="quoted-printable",
          note="multipart/alternative, quoted-printable, encoded display name")
    reply("fr-unsub-006", "fr", "unsubscribe", ("Marie Bernard", "m.bernard@dupont-sa.fr"),
          "Retirez-moi de votre liste s'il vous plaît.", client="outlook", orig="FR1", company="Dupont SA",
          orig_to=("Marie Bernard", "marie.bernard@dupont-sa.fr"),
          actions=[sup("m.bernard@dupont-sa.fr", "unsubscribe"), sup("marie.bernard@dupont-sa.fr", "unsubscribe")],
          note="reply from alias m.bernard@; quoted 'À :' line shows the mailed address marie.bernard@")
    reply("fr-unsub-007", "fr", "unsubscribe", ("Gérard Petit", "gerard.petit@orange.fr"),
          "Arrêtez de m'envoyer vos pubs !!! Je n'ai jamais donné mon accord pour recevoir ça.",
          client="orange", orig="FR3", company="Petit Menuiserie",
          note="angry opt-out, no formal/regulator request; quoted footer mentions RGPD")
    reply("fr-unsub-008", "fr", "unsubscribe", ("Hugo Blanc", "hugo.blanc@transports-lefebvre.fr"),
          "STOP", client="gmail", orig="FR5", company="Transports Lefebvre",
          note="STOP alone, answering the 'Répondez STOP' footer")
    reply("fr-unsub-009", "fr", "unsubscribe", ("Isabelle Faure", "isabelle.faure@cabinet-rousseau.fr"),
          "Bonjour,\n\nJe me suis déjà désinscrite il y a un mois et je reçois encore vos messages. "
          "Supprimez-moi de votre fichier, merci.\n\nI. Faure", client="outlook", orig="FR2",
          note="'supprimez-moi de votre fichier' is a list opt-out, not a formal erasure request")
    reply("fr-unsub-010", "fr", "unsubscribe", ("Luc Girard", "luc.girard@initech.fr"),
          "{QUOTE}\n\nNon merci, et merci de ne plus m'écrire.\n\n-- \nLuc Girard\nResponsable achats – Initech",
          client="thunderbird", orig="FR1", note="bottom-posted")
    reply("fr-unsub-011", "fr", "unsubscribe", ("", "patrick.vidal@free.fr"),
          "DESABONNEMENT SVP", client="roundcube", orig="FR3", company="Vidal Immobilier",
          note="caps, no accents, no display name")
    reply("fr-unsub-012", "fr", "unsubscribe", ("Chantal Meunier", "chantal.meunier@laposte.net"),
          "", client="plain", orig="FR3", subject="Désinscription", quote="none", thread=False,
          company="Meunier Fleurs", note="subject-only (encoded-word subject), empty body")
    reply("fr-unsub-013", "fr", "unsubscribe", ("Françoise Lévy", "f.levy@dupont-sa.fr"),
          "Bonjour,\nPouvez-vous me retirer de vos listes ? Merci.\nCdt\nF. Lévy", client="outlook-desktop",
          orig="FR2", company="Dupont SA")
    reply("fr-unsub-014", "fr", "unsubscribe", ("Alain Perrin", "alain.perrin@groupe-arvel.fr"),
          "{ATTR}\n> Bonjour Alain,\n>\n> Je me permets de vous contacter car Groupe Arvel recrute actuellement des\n"
          "> commerciaux. [...]\n\nEt alors ?\n\n> Seriez-vous disponible pour un échange de 15 minutes la semaine "
          "prochaine ?\n\nNon. Et je ne veux plus recevoir de mails de votre part.\n\n> Bien cordialement,\n>\n"
          "> Camille Moreau", client="thunderbird", orig="FR1", quote="none", note="inline (interleaved) reply")
    reply("fr-unsub-015", "fr", "unsubscribe", ("Alain Roux", "alain.roux@free.fr"),
          "Bonjour,\n\nVous m'écrivez sur mon adresse professionnelle (a.roux@transports-lefebvre.fr), qui est "
          "redirigée ici. Merci de supprimer les deux adresses de vos envois.\n\nAlain Roux",
          client="roundcube", orig="FR1", orig_to=("Alain Roux", "a.roux@transports-lefebvre.fr"),
          company="Transports Lefebvre",
          actions=[sup("alain.roux@free.fr", "unsubscribe"), sup("a.roux@transports-lefebvre.fr", "unsubscribe")],
          note="same person, personal address; asks to remove both")
    reply("fr-unsub-016", "fr", "unsubscribe", ("Kevin Marchand", "kevin.marchand@sfr.fr"),
          "bjr, merci de m enlever de votre liste de diffussion. cdlt\n\n\nEnvoyé depuis mon appareil Galaxy",
          client="samsung", orig="FR2", company="Marchand Auto", note="typos; base64 text/plain (Samsung)")
    reply("fr-unsub-017", "fr", "unsubscribe", ("Manon Lefèvre", "manon.lefevre@hotmail.fr"),
          "Stop aux mails svp. Je ne suis pas intéressée et je ne veux plus être sollicitée.",
          client="owa", orig="FR4", fmt="plain", cte="base64", company="Studio Lefèvre",
          note="text/plain base64; 'pas intéressée' + explicit stop = unsubscribe")
    reply("fr-unsub-018", "fr", "unsubscribe", ("Bernard Collin", "b.collin@mairie-saint-ours.fr"),
          "Madame, Monsieur,\n\nJe vous saurais gré de bien vouloir cesser tout envoi de messages commerciaux à "
          "destination de cette adresse.\n\nVeuillez agréer, Madame, Monsieur, l'expression de mes salutations "
          "distinguées.\n\nBernard Collin\nDirecteur général des services\nMairie de Saint-Ours",
          client="outlook-desktop", orig="FR1", company="la Mairie de Saint-Ours", note="formal register")
    reply("fr-unsub-019", "fr", "unsubscribe", ("Julie Caron", "julie.caron@boulangerie-caron.fr"),
          "Bonjour, je n'ai pas trouvé le lien pour me désinscrire, pouvez-vous le faire pour moi ? Merci",
          client="gmail", orig="FR3", nbsp=True,
          note="quoted footer has the link and 'RGPD'; attribution uses a no-break space before ':'")
    reply("fr-unsub-020", "fr", "unsubscribe", ("Olivier Brun", "olivier.brun@cabinet-rousseau.fr"),
          "Merci de ne plus m'envoyer de relances. Si j'ai besoin, je reviendrai vers vous.", client="apple",
          orig="FR2", prev="FR1")
    reply("fr-unsub-021", "fr", "unsubscribe", ("Yasmine Haddad", "yasmine.haddad@initech.fr"),
          "Ne m'écrivez plus.\n\n-- \nYasmine Haddad\nChef de projet digital\n06 12 34 56 78", client="gmail",
          orig="FR2")
    reply("fr-unsub-022", "fr", "unsubscribe", ("Thierry Mercier", "t.mercier@transports-lefebvre.fr"),
          "Bonjour Julien,\n\nC'est la troisième relance en deux semaines. Merci de me retirer définitivement de "
          "vos fichiers de prospection.\n\nCordialement,\nThierry Mercier", client="outlook", orig="FR2",
          prev="FR1", company="Transports Lefebvre")
    reply("fr-unsub-023", "fr", "unsubscribe", ("Élodie Masson", "elodie.masson@orange.fr"),
          "Je souhaite me désabonner.", client="orange", orig="FR3", fmt="html", company="Masson Coiffure",
          note="HTML-only")
    reply("fr-unsub-024", "fr", "unsubscribe", ("Boulangerie Martin", "contact@boulangerie-martin.fr"),
          "Bonjour,\nmerci de retirer contact@boulangerie-martin.fr de vos listes, nous ne sommes pas concernés.\n"
          "Boulangerie Martin", client="roundcube", orig="FR1", company="Boulangerie Martin", first="",
          note="role address asks removal of that address only (not a company-wide request)")
    reply("fr-unsub-025", "fr", "unsubscribe", ("Sébastien Roy", "sebastien.roy@groupe-arvel.fr"),
          "Please unsubscribe me. Merci.", client="gmail", orig="FR1", note="English text in a French thread")
    reply("fr-unsub-026", "fr", "unsubscribe", ("Anne-Sophie Morel", "as.morel@dupont-sa.fr"),
          "Bonjour,\n\nJe ne souhaite pas donner suite et je vous demande de ne plus me solliciter.\n\n"
          "Cordialement\nAnne-Sophie Morel", client="outlook", orig="FR2", company="Dupont SA",
          quote="owa", note="Outlook web '____' separator before De/Envoyé/À/Objet block")
    reply("fr-unsub-027", "fr", "unsubscribe", ("Denis Lambert", "denis.lambert@yahoo.fr"),
          "J'ai cliqué sur votre lien de désinscription mais je reçois toujours vos messages. Retirez-moi de "
          "votre liste.", client="yahoo", orig="FR1", company="Lambert Architecture",
          note="Yahoo quote without '>' markers")

    # ------------------------------------------------------------ unsubscribe-company
    reply("fr-company-001", "fr", "unsubscribe-company", ("Philippe Dupont", "philippe.dupont@dupont-sa.fr"),
          "Bonjour,\n\nNe contactez plus personne chez nous, merci. Nous avons déjà un prestataire et vos relances "
          "arrivent chez tous nos commerciaux.\n\nPhilippe Dupont\nPrésident – Dupont SA", client="outlook",
          orig="FR1", company="Dupont SA")
    reply("fr-company-002", "fr", "unsubscribe-company", ("DSI Groupe Arvel", "dsi@groupe-arvel.fr"),
          "Bonjour,\n\nMerci de supprimer l'ensemble des adresses @groupe-arvel.fr de vos fichiers. Nos "
          "collaborateurs reçoivent vos messages en boucle.\n\nLa DSI – Groupe Arvel", client="outlook-desktop",
          orig="FR2", orig_to=("Nathalie Roux", "nathalie.roux@groupe-arvel.fr"),
          actions=[sup("dsi@groupe-arvel.fr", "unsubscribe"), sup("@groupe-arvel.fr", "unsubscribe")],
          note="IT department answers a mail sent to a colleague; domain suppression covers her")
    reply("fr-company-003", "fr", "unsubscribe-company", ("Jean-Pierre Garnier", "jp.garnier.plomberie@orange.fr"),
          "Je suis artisan. Ni moi ni mes employés ne voulons recevoir vos mails. Ne contactez plus personne "
          "chez nous.", client="orange", orig="FR1", company="Plomberie Garnier",
          note="free-mail (orange.fr): review the domain, never suppress it")
    reply("fr-company-004", "fr", "unsubscribe-company", ("Cabinet infirmier des Tilleuls", "cabinet.tilleuls@free.fr"),
          "Bonjour,\nnous sommes un cabinet de 4 infirmières. Merci de n'écrire à aucune d'entre nous, ni sur "
          "cette adresse ni sur nos adresses personnelles.\nCordialement", client="roundcube", orig="FR3",
          company="Cabinet infirmier des Tilleuls", first="", note="free-mail (free.fr): review the domain")
    reply("fr-company-005", "fr", "unsubscribe-company", ("Michel Lefebvre", "m.lefebvre@transports-lefebvre.fr"),
          "Je vous demande de cesser tout contact avec les salariés de Transports Lefebvre. Tous, sans exception.",
          client="gmail", orig="FR1", company="Transports Lefebvre")
    reply("fr-company-006", "fr", "unsubscribe-company", ("Claire Aubert", "claire.aubert@initech.fr"),
          "Stop pour toute l'entreprise svp. Personne chez Initech n'est intéressé.\n\nEnvoyé de mon iPhone",
          client="iphone", orig="FR2")
    reply("fr-company-007", "fr", "unsubscribe-company", ("Nadia Benali", "n.benali@cabinet-rousseau.fr"),
          "Retirez toute notre société de votre base, c'est la troisième fois que je le demande.",
          client="thunderbird", orig="FR2", prev="FR1")

    # ------------------------------------------------------------ legal
    reply("fr-legal-001", "fr", "legal", ("Caroline Vasseur", "caroline.vasseur@initech.fr"),
          "Madame, Monsieur,\n\nConformément à l'article 17 du Règlement général sur la protection des données "
          "(RGPD), je vous demande l'effacement de l'ensemble des données personnelles me concernant que vous "
          "détenez.\n\nJe vous remercie de m'en confirmer la bonne exécution dans un délai d'un mois.\n\n"
          "Caroline Vasseur", client="outlook", orig="FR1")
    reply("fr-legal-002", "fr", "legal", ("Rémi Fontaine", "remi.fontaine@gmail.com"),
          "Troisième mail sans mon consentement. Je vais signaler vos pratiques à la CNIL.", client="gmail",
          orig="FR3", company="Fontaine Paysage")
    reply("fr-legal-003", "fr", "legal", ("Laurence Picard", "l.picard@dupont-sa.fr"),
          "Madame, Monsieur,\n\nPar la présente, j'exerce mon droit d'opposition au traitement de mes données à "
          "des fins de prospection commerciale (article 21.2 du RGPD).\n\nJe vous demande en conséquence de "
          "supprimer mes coordonnées de vos fichiers et de ne plus me solliciter.\n\nLaurence Picard",
          client="outlook-desktop", orig="FR1", company="Dupont SA",
          subject="Exercice du droit d'opposition – article 21 RGPD")
    reply("fr-legal-004", "fr", "legal", ("Mathieu Renard", "mathieu.renard@laposte.net"),
          "Bonjour,\n\nMerci de m'indiquer d'où proviennent mes données (nom, adresse e-mail) et de les supprimer "
          "de vos bases.\n\nCordialement,\nM. Renard", client="plain", orig="FR3", company="Renard Conseil",
          subject="Demande de suppression de mes données", note="source + deletion request, subject replaced")
    reply("fr-legal-005", "fr", "legal", ("Agnès Morin", "agnes.morin@groupe-arvel.fr"),
          "Droit à l'effacement : supprimez mes données et confirmez-le moi. Merci.\n\nEnvoyé de mon iPhone",
          client="iphone", orig="FR2")
    reply("fr-legal-006", "fr", "legal", ("Vincent Lemaire", "v.lemaire@transports-lefebvre.fr"),
          "Vos envois contreviennent à l'article L34-5 du Code des postes et des communications électroniques. "
          "Sans retrait de mes coordonnées sous 48 h, je saisis la CNIL et je signale vos messages sur Signal "
          "Spam.", client="thunderbird", orig="FR1", company="Transports Lefebvre")
    reply("fr-legal-007", "fr", "legal", ("Me Hélène Rousseau", "h.rousseau@cabinet-rousseau.fr"),
          "Madame, Monsieur,\n\nEn ma qualité d'avocate, je vous mets en demeure de cesser immédiatement tout "
          "envoi de messages de prospection à mon adresse professionnelle, que je n'ai jamais communiquée à votre "
          "société, et de procéder à l'effacement de mes données conformément au RGPD.\n\nÀ défaut, je me réserve "
          "le droit de saisir la CNIL.\n\nHélène Rousseau\nAvocate au Barreau de Lyon", client="outlook",
          orig="FR1", first="", subject="Mise en demeure")

    # ------------------------------------------------------------ pas intéressé
    reply("fr-notint-001", "fr", "not-interested", ("Paul Martin", "paul.martin@initech.fr"),
          "Pas intéressé pour le moment, merci.", client="gmail", orig="FR1")
    reply("fr-notint-002", "fr", "not-interested", ("Aurélie Dumas", "aurelie.dumas@dupont-sa.fr"),
          "Bonjour,\nNous avons déjà un prestataire, merci.\nAurélie", client="outlook", orig="FR2",
          company="Dupont SA")
    reply("fr-notint-003", "fr", "not-interested", ("Stéphane Giraud", "s.giraud@groupe-arvel.fr"),
          "Bonjour Camille,\n\nMerci pour votre message, mais ce n'est pas une priorité pour nous cette année. "
          "Bonne continuation !\n\nStéphane Giraud", client="outlook-desktop", orig="FR1")
    reply("fr-notint-004", "fr", "not-interested", ("Lucie Bertrand", "lucie.bertrand@orange.fr"),
          "Non merci.", client="orange", orig="FR3", company="Bertrand Traiteur")
    reply("fr-notint-005", "fr", "not-interested", ("Romain Chevalier", "romain.chevalier@boulangerie-caron.fr"),
          "Ça ne nous concerne pas, on envoie trois mails par mois.", client="gmail", orig="FR1",
          company="Boulangerie Caron")
    reply("fr-notint-006", "fr", "not-interested", ("Sandrine Lopez", "sandrine.lopez@cabinet-rousseau.fr"),
          "Pas de budget en 2025.\nCordialement", client="thunderbird", orig="FR2")
    reply("fr-notint-007", "fr", "not-interested", ("Nicolas Fabre", "n.fabre@transports-lefebvre.fr"),
          "Nous gérons cela en interne. Bonne journée.", client="apple", orig="FR1",
          company="Transports Lefebvre")
    reply("fr-notint-008", "fr", "not-interested", ("Arnaud Masson", "arnaud.masson@initech.fr"),
          "Merci, mais nous venons de signer avec un de vos concurrents.", client="gmail", orig="FR2",
          prev="FR1")
    reply("fr-notint-009", "fr", "not-interested", ("Karine Noël", "karine.noel@mairie-saint-ours.fr"),
          "Je décline, ce n'est pas pour nous. Inutile de relancer.", client="outlook", orig="FR1",
          company="la Mairie de Saint-Ours",
          note="'inutile de relancer' = decline, not an explicit stop request (borderline)")
    reply("fr-notint-010", "fr", "not-interested", ("Frédéric Colin", "frederic.colin@dupont-sa.fr"),
          "Bonjour,\n\nMerci, mais ce type de solution ne correspond pas à nos besoins actuels.\n\nCordialement,\n"
          "Frédéric Colin\nResponsable marketing digital\n\n________________________________\nCe message et toutes "
          "les pièces jointes sont confidentiels et établis à l'intention exclusive de ses destinataires. Si vous "
          "avez reçu ce message par erreur, merci de le supprimer et d'en avertir immédiatement l'expéditeur. "
          "Toute utilisation de ce message non conforme à sa destination est interdite.",
          client="outlook-desktop", orig="FR1", company="Dupont SA",
          note="disclaimer contains 'merci de le supprimer'")
    reply("fr-notint-011", "fr", "not-interested", ("Mélanie Petit", "melanie.petit@groupe-arvel.fr"),
          "Pas le bon timing, on est en pleine réorganisation. Pas intéressés pour l'instant.\n\n"
          "Envoyé depuis mon appareil Galaxy", client="samsung", orig="FR2")
    reply("fr-notint-012", "fr", "not-interested", ("Guillaume Roche", "g.roche@free.fr"),
          "Sans façon \U0001F642", client="roundcube", orig="FR3", company="Roche Informatique")
    reply("fr-notint-013", "fr", "not-interested", ("Émilie Perret", "emilie.perret@initech.fr"),
          "On ne sera pas à VivaTech cette année, et de toute façon ce n'est pas un sujet pour nous.\n\n"
          "Envoyé de mon iPhone", client="iphone", orig="FR4")

    # ------------------------------------------------------------ positif
    reply("fr-positive-001", "fr", "positive", ("Henri Joly", "henri.joly@dupont-sa.fr"),
          "Oui, envoyez-moi une proposition.\n\nHenri Joly", client="gmail", orig="FR1", company="Dupont SA",
          note="quoted footer contains 'Pour vous désabonner'")
    reply("fr-positive-002", "fr", "positive", ("Pauline Germain", "pauline.germain@initech.fr"),
          "Bonjour Camille,\n\nÇa m'intéresse. Mardi 14h ?\n\nPauline", client="outlook", orig="FR1",
          note="quoted footer contains 'Pour vous désabonner'")
    reply("fr-positive-003", "fr", "positive", ("Xavier Duval", "xavier.duval@groupe-arvel.fr"),
          "Avec plaisir, on peut s'appeler jeudi matin. Mon portable : 06 45 78 12 90.", client="apple",
          orig="FR2")
    reply("fr-positive-004", "fr", "positive", ("Sylvie Robin", "sylvie.robin@dupont-sa.fr"),
          "Je veux bien l'audit gratuit. Notre domaine principal est dupont-sa.fr, et on envoie aussi depuis "
          "news.dupont-sa.fr.", client="gmail", orig="FR3", company="Dupont SA",
          note="quoted footer mentions RGPD and désinscription")
    reply("fr-positive-005", "fr", "positive", ("Benoît Lemoine", "benoit.lemoine@transports-lefebvre.fr"),
          "Bonjour,\n\nVotre solution est-elle conforme au RGPD ? Où sont hébergées les données ? Si c'est bon de "
          "ce côté-là, ça nous intéresse.\n\nBenoît Lemoine\nDSI", client="outlook", orig="FR1",
          company="Transports Lefebvre", note="mentions RGPD but is a buying signal")
    reply("fr-positive-006", "fr", "positive", ("Léa Fabre", "lea.fabre@initech.fr"),
          "Ne vous arrêtez pas là, c'est exactement ce qu'il nous faut ! Envoyez-moi la doc technique.",
          client="gmail", orig="FR5", note="'ne vous arrêtez pas'; quoted footer 'Répondez STOP'")
    reply("fr-positive-007", "fr", "positive", ("Marc Antoine", "marc.antoine@cabinet-rousseau.fr"),
          "Oui pour VivaTech, je passerai au stand B12 mercredi vers 15h.\n\nEnvoyé de mon iPhone",
          client="iphone", orig="FR4")
    reply("fr-positive-008", "fr", "positive", ("Céline Bouvier", "celine.bouvier@groupe-arvel.fr"),
          "Intéressée. Pouvez-vous m'envoyer vos tarifs ?\n\nC. Bouvier", client="thunderbird", orig="FR1")
    reply("fr-positive-009", "fr", "positive", ("Damien Royer", "damien.royer@initech.fr"),
          "Oui, je suis preneur d'une démo. Je mets ma collègue Léa en copie, elle gère nos campagnes.",
          client="outlook", orig="FR1", cc="=?utf-8?Q?L=C3=A9a_Fabre?= <lea.fabre@initech.fr>",
          note="cc's a colleague but is itself positive, not a redirect")
    reply("fr-positive-010", "fr", "positive", ("Jérôme Vidal", "jerome.vidal@dupont-sa.fr"),
          "Je m'inscris au webinar, merci ! Est-ce que ce sera enregistré ?", client="gmail", orig="FR5",
          company="Dupont SA", note="quoted footer 'Répondez STOP'")
    reply("fr-positive-011", "fr", "positive", ("Hélène Moulin", "helene.moulin@transports-lefebvre.fr"),
          "Très intéressant. On en parle la semaine prochaine ?", client="owa", orig="FR1", fmt="html",
          company="Transports Lefebvre", note="HTML-only")
    reply("fr-positive-012", "fr", "positive", ("Bruno Carpentier", "bruno.carpentier@wanadoo.fr"),
          "bonjour, oui pourquoi pas. appelez moi au 06 12 34 56 78 apres 18h\nbruno", client="orange",
          orig="FR1", company="Carpentier Élagage", note="lowercase, missing accents")
    reply("fr-positive-013", "fr", "positive", ("Agathe Leroy", "agathe.leroy@cabinet-rousseau.fr"),
          "{QUOTE}\n\nAvec plaisir. Je suis disponible lundi après-midi.\n\nAgathe", client="thunderbird",
          orig="FR2", note="bottom-posted; quoted footer contains opt-out link")
    reply("fr-positive-014", "fr", "positive", ("Thomas Gauthier", "thomas.gauthier@groupe-arvel.fr"),
          "Top, merci ! Je transmets à mon associé et je reviens vers vous pour caler un rendez-vous.",
          client="apple", orig="FR1")
    reply("fr-positive-015", "fr", "positive", ("Nadine Perrot", "nadine.perrot@initech.fr"),
          "Oui, ça tombe bien : on change d'outil en septembre. Un devis pour 3 domaines svp.",
          client="outlook-desktop", orig="FR3")
    reply("fr-positive-016", "fr", "positive", ("Yves Morel", "yves.morel@dupont-sa.fr"),
          "Désolé pour le délai ! Oui, ça m'intéresse toujours. Vous avez un créneau jeudi ?", client="gmail",
          orig="FR2", prev="FR1", company="Dupont SA", wrap_attr=True)

    # ------------------------------------------------------------ redirection
    reply("fr-redirect-001", "fr", "redirect", ("Sabrina Michel", "sabrina.michel@initech.fr"),
          "Bonjour,\nContactez plutôt notre DSI, M. Lefèvre : dsi@initech.fr\nCordialement", client="gmail",
          orig="FR1")
    reply("fr-redirect-002", "fr", "redirect", ("Antoine Mercier", "antoine.mercier@dupont-sa.fr"),
          "Bonjour,\n\nJe ne suis pas la bonne personne. Voyez avec notre responsable marketing, Claire Dubois "
          "(claire.dubois@dupont-sa.fr).\n\nBonne journée", client="outlook", orig="FR1", company="Dupont SA")
    reply("fr-redirect-003", "fr", "redirect", ("Patricia Leclerc", "p.leclerc@groupe-arvel.fr"),
          "Je transmets à mon collègue en charge des achats (en copie).", client="outlook-desktop", orig="FR2",
          cc="Achats Groupe Arvel <achats@groupe-arvel.fr>")
    reply("fr-redirect-004", "fr", "redirect", ("Maxime Barbier", "maxime.barbier@transports-lefebvre.fr"),
          "Je ne m'occupe plus de ce sujet depuis mars, adressez-vous à achats@transports-lefebvre.fr.",
          client="thunderbird", orig="FR1", company="Transports Lefebvre")
    reply("fr-redirect-005", "fr", "redirect", ("Quentin Hubert", "quentin.hubert@cabinet-rousseau.fr"),
          "Bonjour, je suis stagiaire, je vous mets en relation avec mon tuteur Thomas Girard "
          "(t.girard@cabinet-rousseau.fr).\n\nEnvoyé de mon iPhone", client="iphone", orig="FR4")
    reply("fr-redirect-006", "fr", "redirect", ("Nicolas Henry", "nico.henry@gmail.com"),
          "Merci d'écrire plutôt à mon adresse pro : n.henry@transports-lefebvre.fr. Je ne lis presque jamais "
          "celle-ci.", client="gmail", orig="FR1", company="Transports Lefebvre",
          note="redirect to the person's own work address; no opt-out")
    reply("fr-redirect-007", "fr", "redirect", ("Valérie Girard", "valerie.girard@mairie-saint-ours.fr"),
          "Mauvais interlocuteur. Essayez le service informatique de la mairie : informatique@mairie-saint-ours.fr",
          client="outlook", orig="FR1", company="la Mairie de Saint-Ours")
    reply("fr-redirect-008", "fr", "redirect", ("Fabien Arnaud", "fabien.arnaud@initech.fr"),
          "Ce n'est pas moi qui décide pour ce genre d'outils, il faut voir avec la direction commerciale "
          "(direction.commerciale@initech.fr). Je leur ai transféré votre message.", client="apple", orig="FR2")

    # ------------------------------------------------------------ pas clair
    reply("fr-unclear-001", "fr", "unclear", ("Cédric Morel", "cedric.morel@groupe-arvel.fr"),
          "On arrête là ?", client="gmail", orig="FR2", prev="FR1",
          actions=[rev("cedric.morel@groupe-arvel.fr")], note="ambiguous 'shall we stop here?' -> review")
    reply("fr-unclear-002", "fr", "unclear", ("Laetitia Blanc", "laetitia.blanc@orange.fr"),
          "Faut-il que je me désinscrive ? Je ne sais pas pourquoi je reçois ça.", client="orange", orig="FR3",
          company="Blanc Déco", actions=[rev("laetitia.blanc@orange.fr")], note="question about unsubscribing")
    reply("fr-unclear-003", "fr", "unclear", ("Hervé Clément", "herve.clement@dupont-sa.fr"),
          "Moins de mails svp…\n\nEnvoyé de mon iPhone", client="iphone", orig="FR2", company="Dupont SA",
          actions=[rev("herve.clement@dupont-sa.fr")], note="fewer emails, not none")
    reply("fr-unclear-004", "fr", "unclear", ("Morgane Rivière", "morgane.riviere@initech.fr"),
          "Je vais réfléchir, mais pas de relance svp.", client="thunderbird", orig="FR1",
          actions=[rev("morgane.riviere@initech.fr")], note="considering, but asks for no follow-ups")
    reply("fr-unclear-005", "fr", "unclear", ("Franck Dumont", "franck.dumont@transports-lefebvre.fr"),
          "Arrêtez… enfin non, recontactez-moi en septembre peut-être. Là je n'ai pas le temps.",
          client="outlook", orig="FR2", company="Transports Lefebvre",
          actions=[rev("franck.dumont@transports-lefebvre.fr")], note="starts with 'stop' then retracts")
    reply("fr-unclear-006", "fr", "unclear", ("Régis Perrin", "regis.perrin@free.fr"), "C'est quoi ce mail ?",
          client="roundcube", orig="FR3", company="Perrin Plâtrerie", actions=[])
    reply("fr-unclear-007", "fr", "unclear", ("Sylvain Caron", "s.caron@groupe-arvel.fr"), "Reçu.",
          client="outlook", orig="FR1", actions=[])
    reply("fr-unclear-008", "fr", "unclear", ("Ophélie Martin", "ophelie.martin@laposte.net"), "Ok merci",
          client="plain", orig="FR4", company="Martin Événements", actions=[])
    reply("fr-unclear-009", "fr", "unclear", ("Jacques Bertin", "jacques.bertin@dupont-sa.fr"),
          "Passer au stand ? On y sera aussi, stand C4 — venez plutôt nous dire bonjour !", client="gmail",
          orig="FR4", company="Dupont SA", actions=[], note="booth banter, no opt-out")
    reply("fr-unclear-010", "fr", "unclear", ("Inès Garcia", "ines.garcia@initech.fr"),
          "Comment avez-vous eu mon adresse ?", client="gmail", orig="FR1", actions=[],
          note="asks for data source; no opt-out or formal request -> no action (judgement call)")
    reply("fr-unclear-011", "fr", "unclear", ("Aline Roger", "aline.roger@cabinet-rousseau.fr"),
          "Je ne comprends pas votre message, vous pouvez préciser ?", client="apple", orig="FR2", actions=[])

    # ------------------------------------------------------------ internes
    reply("fr-internal-001", "fr", "unsubscribe", ("Camille Moreau", "camille@acme.example"),
          "Merci d'arrêter de m'envoyer les mails de test, ça pollue ma boîte.\n\nCamille", client="outlook",
          orig="FR1", orig_to=("Camille Moreau", "camille@acme.example"), company="Acme",
          to="replies@fb.acme.example", actions=[], note="internal sender: never suppress own senders")
    reply("fr-internal-002", "fr", "unsubscribe-company", ("Julien Lefort", "julien@acme.example"),
          "Ne contactez plus personne chez Acme avec la séquence de test svp, tout le monde râle.",
          client="gmail", orig="FR2", orig_to=("Julien Lefort", "julien@acme.example"), company="Acme",
          to="replies@fb.acme.example", actions=[],
          note="internal company-wide request would suppress @acme.example: must produce no action")
