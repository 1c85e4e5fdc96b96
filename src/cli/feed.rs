//! `dnc-relay feed add|revoke|list|pulls|status`: the hashed feed for subcontractors. On the
//! company's relay: give and revoke tokens, see each subscriber's pulls and how far behind it
//! is. On a subcontractor's relay (`[replica] feed`): where it stands.

use clap::Subcommand;

use super::{print_as, print_lines, Cli, EXIT_NEGATIVE, EXIT_OK};
use crate::admin::ops::feed::{
    FeedAdd, FeedList, FeedPulls, FeedRevoke, FeedStatus, SubscriberStatus,
};
use crate::model::feed::{Pull, Subscriber};

/// `feed` subcommands.
#[derive(Debug, Subcommand)]
pub enum FeedCommand {
    /// Give subcontractor NAME a token for `GET /feed` (ops and up). The token is printed
    /// once: hand it over for its `[replica] token_file`; only its SHA-256 is kept.
    Add {
        /// The subcontractor's name.
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke NAME's token (ops and up): its next pull is refused.
    Revoke {
        /// The subcontractor's name.
        name: String,
        /// Why (the contract ended, the token leaked).
        #[arg(long, value_name = "TEXT")]
        why: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The subscribers: each one's last pull and how far behind the list it is.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The pulls served, newest first (idle polls at one position counted in one record).
    Pulls {
        /// One subscriber's only.
        #[arg(long, value_name = "NAME")]
        subscriber: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// A subcontractor's relay: where it stands with the feed it follows. Exit 0 current,
    /// 1 behind or not following.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a `feed` subcommand.
pub fn run(cli: &Cli, cmd: &FeedCommand) -> u8 {
    let result = match cmd {
        FeedCommand::Add { name, json } => cli.call(FeedAdd { name: name.clone() }).map(|given| {
            print_as(&given, *json, |g| {
                say!("{}", subscriber_line(&g.subscriber));
                say!("token (shown once; put it in the subcontractor's [replica] token_file):");
                say!("{}", g.token);
            });
            EXIT_OK
        }),
        FeedCommand::Revoke { name, why, json } => cli
            .call(FeedRevoke {
                name: name.clone(),
                why: why.clone(),
            })
            .map(|shown| {
                print_as(&shown, *json, |s| {
                    say!("{}", subscriber_line(&s.subscriber))
                });
                EXIT_OK
            }),
        FeedCommand::List { json } => cli.call(FeedList {}).map(|list| {
            if !*json {
                say!("list head: {}", list.head);
                if list.erased_outside_feed > 0 {
                    say!(
                        "WARNING: {} erased contacts are not in the feed (erased before it existed); tell the subscribers by other means",
                        list.erased_outside_feed
                    );
                }
            }
            print_lines(&list.subscribers, *json, "no subscribers", status_line)
        }),
        FeedCommand::Pulls {
            subscriber,
            limit,
            json,
        } => cli
            .call(FeedPulls {
                subscriber: subscriber.clone(),
                limit: *limit,
            })
            .map(|page| print_lines(&page.pulls, *json, "no pulls", pull_line)),
        FeedCommand::Status { json } => cli.call(FeedStatus {}).map(|f| {
            print_as(&f, *json, |f| match &f.following {
                None => say!("this relay follows no hashed feed ([replica] feed is not set)"),
                Some(s) => {
                    let state = s.state.as_ref();
                    say!("feed:      {}", s.url);
                    match &s.not_current {
                        None => say!("current:   yes"),
                        Some(why) => say!("current:   NO: {why} (recipients get 451 4.3.0)"),
                    }
                    if let Some((at, why)) = &s.last_error {
                        say!("failing:   since {at}: {why}");
                    }
                    match s.lag_seconds {
                        Some(lag) => {
                            say!("lag:       {lag:.1} s since it last held the whole feed")
                        }
                        None => say!("lag:       not caught up since the relay started"),
                    }
                    match state {
                        Some(st) => {
                            say!(
                                "position:  {} of {} (the feed's head at the last pull)",
                                st.applied,
                                st.head
                            );
                            say!("keys held: {}", st.keys);
                            say!("last pull: {}", st.pulled_at);
                        }
                        None => say!("position:  nothing applied yet"),
                    }
                }
            });
            match &f.following {
                Some(s) if s.current => EXIT_OK,
                _ => EXIT_NEGATIVE,
            }
        }),
    };
    result.unwrap_or_else(|code| code)
}

fn subscriber_line(s: &Subscriber) -> String {
    let state = match &s.revoked {
        Some(r) => format!("revoked {} by {} ({})", r.at, r.by, r.why),
        None => "active".to_string(),
    };
    format!(
        "{:<20} {state}; token given {} by {}",
        s.name, s.added_at, s.added_by
    )
}

fn status_line(s: &SubscriberStatus) -> String {
    let pulled = match (&s.last_pull, s.behind, s.last_pull_age_seconds) {
        (Some(p), Some(behind), Some(age)) => format!(
            "last pull {} ({age:.0} s ago) from {}, at position {}, {behind} behind",
            p.last_at, p.peer, p.next
        ),
        _ => "never pulled".to_string(),
    };
    format!("{}; {pulled}", subscriber_line(&s.subscriber))
}

fn pull_line(p: &Pull) -> String {
    let count = if p.count > 1 {
        format!(" ({} polls until {})", p.count, p.last_at)
    } else {
        String::new()
    };
    format!(
        "#{:<6} {} {:<20} from {:<15} since {} -> {} (head {}), {} changes{count}",
        p.id, p.first_at, p.subscriber, p.peer, p.since, p.next, p.head, p.changes
    )
}
