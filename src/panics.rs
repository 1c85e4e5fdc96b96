//! Catching a panic where one must not end the work around it (a damaged store page that
//! makes redb panic in the middle of a RCPT lookup), and logging a failure that repeats once
//! in words rather than once per request.
//!
//! While a caught call runs, the process's panic hook stays quiet for that thread, so the
//! event is logged once, by the caller, in words, and not also as a backtrace.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    static CATCHING: Cell<bool> = const { Cell::new(false) };
}

static QUIET_HOOK: Once = Once::new();

/// Runs `f`; a panic inside it comes back as its message.
pub fn catch<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    QUIET_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !CATCHING.with(Cell::get) {
                previous(info);
            }
        }));
    });
    let outer = CATCHING.with(|c| c.replace(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    CATCHING.with(|c| c.set(outer));
    result.map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into())
    })
}

/// Lets one log line through per period and counts the ones held back: a failure that hits
/// every request (a broken store) is logged once in words, not a thousand times a second.
pub struct Throttle {
    period_secs: u64,
    last: std::sync::atomic::AtomicU64,
    held_back: std::sync::atomic::AtomicU64,
}

impl Throttle {
    /// A throttle letting one line through every `period_secs` seconds.
    pub const fn new(period_secs: u64) -> Throttle {
        Throttle {
            period_secs,
            last: std::sync::atomic::AtomicU64::new(0),
            held_back: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// `Some(n)` when this line should be logged, `n` being how many were held back since the
    /// last one; `None` when it should not.
    pub fn should_log(&self) -> Option<u64> {
        use std::sync::atomic::Ordering;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let last = self.last.load(Ordering::Relaxed);
        if last != 0 && now < last + self.period_secs {
            self.held_back.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        match self
            .last
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
        {
            Ok(_) => Some(self.held_back.swap(0, Ordering::Relaxed)),
            Err(_) => {
                self.held_back.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_comes_back_as_its_message_and_the_thread_goes_on() {
        assert_eq!(
            catch(|| -> u8 { panic!("bad page") }),
            Err("bad page".into())
        );
        assert_eq!(catch(|| 7), Ok(7));
        assert!(!CATCHING.with(Cell::get));
    }

    #[test]
    fn a_throttle_lets_one_through_and_counts_the_rest() {
        let t = Throttle::new(3600);
        assert_eq!(t.should_log(), Some(0));
        assert_eq!(t.should_log(), None);
        assert_eq!(t.should_log(), None);
        t.last.store(1, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(t.should_log(), Some(2));
    }
}
