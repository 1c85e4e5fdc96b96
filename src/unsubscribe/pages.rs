//! The pages of the unsubscribe endpoint: plain HTML, no script, no external resource, in
//! French or English by `Accept-Language`.

/// The language of the pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// French.
    Fr,
}

impl Lang {
    /// The first of French or English in an `Accept-Language` value (by quality, then order);
    /// English when neither is asked for.
    pub fn from_header(value: Option<&str>) -> Lang {
        let mut best: Option<(f32, Lang)> = None;
        for part in value.unwrap_or("").split(',') {
            let mut fields = part.split(';');
            let tag = fields.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = fields
                .find_map(|f| f.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            if q <= 0.0 {
                continue; // q=0: not acceptable
            }
            let lang = if tag.starts_with("fr") {
                Lang::Fr
            } else if tag.starts_with("en") {
                Lang::En
            } else {
                continue;
            };
            if best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::En, |(_, l)| l)
    }

    fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
        }
    }
}

/// The page that asks for confirmation (a GET changes nothing: link scanners follow links).
pub fn confirm(lang: Lang, masked: &str) -> String {
    let (title, text, button) = match lang {
        Lang::En => (
            "Unsubscribe",
            format!("Stop all mail like this to {masked}?"),
            "Unsubscribe",
        ),
        Lang::Fr => (
            "Désinscription",
            format!("Ne plus envoyer de messages comme celui-ci à {masked} ?"),
            "Me désinscrire",
        ),
    };
    page(
        lang,
        title,
        &format!(
            "<p>{}</p>\n<form method=\"post\">\n<input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">\n<button type=\"submit\">{button}</button>\n</form>",
            escape(&text)
        ),
    )
}

/// The page after an unsubscribe.
pub fn done(lang: Lang) -> String {
    match lang {
        Lang::En => page(
            lang,
            "Unsubscribed",
            "<p>You are unsubscribed. You will not receive this mail any more.</p>",
        ),
        Lang::Fr => page(
            lang,
            "Désinscription faite",
            "<p>Vous êtes désinscrit. Vous ne recevrez plus ces messages.</p>",
        ),
    }
}

/// The page for a link that does not work (wrong, altered or expired: the same page).
pub fn invalid(lang: Lang) -> String {
    match lang {
        Lang::En => page(lang, "Link not valid", "<p>This unsubscribe link is not valid. To stop receiving mail, reply to the message and ask.</p>"),
        Lang::Fr => page(lang, "Lien non valide", "<p>Ce lien de désinscription n'est pas valide. Pour ne plus recevoir de messages, répondez au message en le demandant.</p>"),
    }
}

/// The page when the request cannot be served now (store unavailable, too many requests).
pub fn later(lang: Lang) -> String {
    match lang {
        Lang::En => page(lang, "Try again later", "<p>Your request could not be handled now. Please try again in a few minutes.</p>"),
        Lang::Fr => page(lang, "Réessayez plus tard", "<p>Votre demande n'a pas pu être traitée. Merci de réessayer dans quelques minutes.</p>"),
    }
}

fn page(lang: Lang, title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{title}</title>\n<style>body{{font:1.1rem/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#111;background:#fff}}button{{font:inherit;padding:.6rem 1.2rem;border:2px solid #111;border-radius:.3rem;background:#fff;cursor:pointer}}button:focus{{outline:3px solid #1a5fb4;outline-offset:2px}}</style>\n</head>\n<body>\n<main>\n<h1>{title}</h1>\n{body}\n</main>\n</body>\n</html>\n",
        lang.code()
    )
}

/// `pat@example.com` as `p**@example.com`: enough to recognise, not to harvest.
pub fn mask(address: &str) -> String {
    match address.rsplit_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}**@{domain}")
        }
        None => "**".to_string(),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_language_follows_accept_language() {
        assert_eq!(Lang::from_header(Some("fr-FR,fr;q=0.9,en;q=0.8")), Lang::Fr);
        assert_eq!(Lang::from_header(Some("en-GB,fr;q=0.5")), Lang::En);
        assert_eq!(Lang::from_header(Some("de,fr;q=0.3,en;q=0.2")), Lang::Fr);
        assert_eq!(Lang::from_header(Some("de")), Lang::En);
        assert_eq!(Lang::from_header(None), Lang::En);
        assert_eq!(Lang::from_header(Some("fr;q=0, en;q=0.5")), Lang::En);
    }

    #[test]
    fn the_confirm_page_posts_the_one_click_body_and_shows_a_masked_address() {
        let page = confirm(Lang::En, &mask("pat@example.com"));
        // No action: the form posts back to the link's own URL, whatever base_url's path.
        assert!(page.contains("<form method=\"post\">"));
        assert!(page.contains("name=\"List-Unsubscribe\" value=\"One-Click\""));
        assert!(page.contains("p**@example.com"));
        assert!(!page.contains("pat@"));
        assert!(!page.contains("<script"));
    }
}
