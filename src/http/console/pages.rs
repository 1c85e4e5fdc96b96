//! The console's HTML: one layout, escaped text, forms that carry their CSRF token. Compiled
//! into the binary; no scripts, no external fonts or assets.

use std::fmt::Write;

use super::auth::Session;
use crate::model::Timestamp;

/// Text made safe for HTML (element content and quoted attributes).
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// The pages in the navigation bar: path, label.
const NAV: &[(&str, &str)] = &[
    ("/", "Search"),
    ("/add", "Add"),
    ("/lifts", "Lifts"),
    ("/reviews", "Reviews"),
    ("/audit", "Audit"),
    ("/charts", "Charts"),
    ("/alerts", "Alerts"),
];

/// A whole page for a signed-in user.
pub fn layout(session: &Session, here: &str, title: &str, body: &str) -> String {
    let mut nav = String::new();
    for (path, label) in NAV {
        let class = if *path == here { " class=\"here\"" } else { "" };
        let _ = write!(nav, "<a href=\"{path}\"{class}>{label}</a>");
    }
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title} · dnc-relay</title><link rel=\"stylesheet\" href=\"/static/console.css\"></head>\
<body><header><span class=\"brand\">dnc-relay</span>{nav}\
<span class=\"who\">{user} ({role})</span>\
<form method=\"post\" action=\"/logout\">{csrf}<button class=\"plain\" type=\"submit\">Log out</button></form>\
</header><main><h1>{title}</h1>{body}</main></body></html>",
        title = esc(title),
        user = esc(&session.user),
        role = session.role,
        csrf = csrf_field(session),
    )
}

/// The login page (before any session).
pub fn login(token: &str, error: Option<&str>) -> String {
    let error = error
        .map(|e| format!("<div class=\"notice err\">{}</div>", esc(e)))
        .unwrap_or_default();
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>Log in · dnc-relay</title><link rel=\"stylesheet\" href=\"/static/console.css\"></head>\
<body><main class=\"login\"><div class=\"card\"><h1>dnc-relay console</h1>{error}\
<form method=\"post\" action=\"/login\"><input type=\"hidden\" name=\"csrf\" value=\"{token}\">\
<label for=\"user\">User</label><input type=\"text\" id=\"user\" name=\"user\" autocomplete=\"username\" required>\
<label for=\"password\">Password</label><input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required>\
<p><button type=\"submit\" id=\"login\">Log in</button></p></form></div></main></body></html>",
        token = esc(token),
    )
}

/// The hidden CSRF field of a session's forms.
pub fn csrf_field(session: &Session) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(&session.csrf)
    )
}

/// A success or error banner.
pub fn notice(ok: bool, text: &str) -> String {
    format!(
        "<div class=\"notice {}\" id=\"notice\">{}</div>",
        if ok { "ok" } else { "err" },
        esc(text)
    )
}

/// A small form posting hidden fields and, optionally, one text input, with one button.
pub fn action(
    session: &Session,
    path: &str,
    hidden: &[(&str, &str)],
    input: Option<(&str, &str)>,
    button: &str,
    class: &str,
) -> String {
    let mut out = format!(
        "<form class=\"inline\" method=\"post\" action=\"{path}\">{}",
        csrf_field(session)
    );
    for (name, value) in hidden {
        let _ = write!(
            out,
            "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
            esc(value)
        );
    }
    if let Some((name, placeholder)) = input {
        let _ = write!(
            out,
            "<input type=\"text\" name=\"{name}\" placeholder=\"{}\" required>",
            esc(placeholder)
        );
    }
    let _ = write!(
        out,
        "<button type=\"submit\" class=\"{class}\">{}</button></form>",
        esc(button)
    );
    out
}

/// A time as the tables show it.
pub fn when(t: Timestamp) -> String {
    format!("<td class=\"when\">{}</td>", esc(&t.to_string()))
}

/// A `<select>` of names, the first selected unless `selected` says otherwise.
pub fn select(name: &str, options: &[&str], selected: Option<&str>) -> String {
    let mut out = format!("<select name=\"{name}\" id=\"{name}\">");
    for o in options {
        let sel = if Some(*o) == selected {
            " selected"
        } else {
            ""
        };
        let _ = write!(out, "<option value=\"{o}\"{sel}>{o}</option>");
    }
    out.push_str("</select>");
    out
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn markup_in_text_is_shown_not_run() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(esc("a\u{1b}b"), "a\\u{1b}b");
    }
}
