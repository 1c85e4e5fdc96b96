//! Decoding of the DATA section (RFC 5321 section 4.5.2): finds the end marker, removes dot
//! stuffing, and bounds memory. Pure: bytes in, bytes out, no I/O.
//!
//! Only `CRLF . CRLF` ends the data; a bare LF or a bare CR never does (the SMTP smuggling
//! attacks of 2023 relied on servers that disagree about this). A bare LF and a bare CR in the
//! content both end a line and are normalised to CRLF, and a dot after either is content,
//! never stuffing: the upstream, whatever it takes for a line ending, sees exactly one message
//! with the same lines, and `CR . CR LF` or `CR . CR` reach it as a stuffed dot line.

/// Where the decoder stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a line that began after CRLF.
    LineStart,
    /// At the start of a line that began after a bare LF or bare CR: a dot here is plain
    /// content, never stuffing and never the end marker.
    BareLineStart,
    /// Inside a line.
    Middle,
    /// After a CR inside a line.
    Cr,
    /// After a dot at the start of a line.
    Dot,
    /// After `.` CR at the start of a line.
    DotCr,
    /// The end marker was seen.
    Done,
}

/// Streaming decoder for one message.
#[derive(Debug, Clone)]
pub struct DotDecoder {
    state: State,
    limit: usize,
    size: usize,
}

impl DotDecoder {
    /// A decoder that keeps at most `limit` decoded bytes; more is counted and dropped.
    pub fn new(limit: usize) -> DotDecoder {
        DotDecoder {
            state: State::LineStart,
            limit,
            size: 0,
        }
    }

    /// The decoded size so far, including bytes dropped over the limit.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Whether the message exceeded the limit.
    pub fn overflowed(&self) -> bool {
        self.size > self.limit
    }

    /// Decodes `input` into `out`. Returns how many input bytes were consumed and whether the
    /// end marker was reached; bytes after the marker are left for the next command.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> (usize, bool) {
        let mut i = 0;
        while i < input.len() {
            if self.state == State::Middle {
                // Fast path: copy a run of ordinary lines in one go.
                let n = plain_run(&input[i..]);
                self.emit(&input[i..i + n], out);
                i += n;
                if i == input.len() {
                    break;
                }
            }
            let b = input[i];
            i += 1;
            self.step(b, out);
            if self.state == State::Done {
                return (i, true);
            }
        }
        (i, false)
    }

    fn step(&mut self, b: u8, out: &mut Vec<u8>) {
        self.state = match (self.state, b) {
            (State::LineStart, b'.') => State::Dot,
            (State::LineStart | State::BareLineStart | State::Middle, b'\r') => State::Cr,
            (State::LineStart | State::BareLineStart | State::Middle, b'\n') => {
                self.emit(b"\r\n", out);
                State::BareLineStart
            }
            (State::LineStart | State::BareLineStart | State::Middle, other) => {
                self.emit(&[other], out);
                State::Middle
            }
            (State::Cr, b'\n') => {
                self.emit(b"\r\n", out);
                State::LineStart
            }
            (State::Cr, b'\r') => {
                // The first CR was bare: it ends its line. The new one may still start a CRLF.
                self.emit(b"\r\n", out);
                State::Cr
            }
            (State::Cr, other) => {
                // A bare CR ends its line; what follows starts the next one as plain content.
                self.emit(&[b'\r', b'\n', other], out);
                State::Middle
            }
            (State::Dot, b'\r') => State::DotCr,
            (State::Dot, b'\n') => {
                // ". LF" is not the end marker: keep the line as content.
                self.emit(b".\r\n", out);
                State::BareLineStart
            }
            (State::Dot, other) => {
                // A leading dot followed by more text was added by the client: drop it.
                self.emit(&[other], out);
                State::Middle
            }
            (State::DotCr, b'\n') => State::Done,
            (State::DotCr, b'\r') => {
                // ". CR" ended by a bare CR is a line holding a dot, not the end marker.
                self.emit(b".\r\n", out);
                State::Cr
            }
            (State::DotCr, other) => {
                self.emit(&[b'.', b'\r', b'\n', other], out);
                State::Middle
            }
            (State::Done, _) => State::Done,
        };
    }

    fn emit(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        self.size += bytes.len();
        if self.size <= self.limit {
            out.extend_from_slice(bytes);
        }
    }
}

/// How many bytes from the start of `rest` (read inside a line) decode to themselves: up to the
/// first CR or LF that is not a CRLF followed by an ordinary first byte of the next line (not a
/// dot, CR or LF, and not the end of the input, where the next byte is still unknown).
fn plain_run(rest: &[u8]) -> usize {
    let mut n = 0;
    while let Some(k) = memchr::memchr2(b'\r', b'\n', &rest[n..]) {
        let at = n + k;
        match (rest.get(at), rest.get(at + 1), rest.get(at + 2)) {
            (Some(b'\r'), Some(b'\n'), Some(next)) if !matches!(next, b'.' | b'\r' | b'\n') => {
                n = at + 3;
            }
            _ => return at,
        }
    }
    rest.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(input: &[u8]) -> (Vec<u8>, Option<usize>) {
        let mut d = DotDecoder::new(1 << 20);
        let mut out = Vec::new();
        let (n, done) = d.feed(input, &mut out);
        (out, done.then_some(n))
    }

    #[test]
    fn table_of_encodings() {
        let cases: &[(&[u8], &[u8], Option<usize>)] = &[
            (b".\r\n", b"", Some(3)),
            (b"a\r\n.\r\n", b"a\r\n", Some(6)),
            (b"..x\r\n.\r\n", b".x\r\n", Some(8)),
            (b"a\r\n..\r\n.\r\n", b"a\r\n.\r\n", Some(10)),
            (b"a\r\n.\r\nMAIL", b"a\r\n", Some(6)),
            (b"a\n.\nb\r\n.\r\n", b"a\r\n.\r\nb\r\n", Some(10)),
            (b"a\r\n.\nb\r\n.\r\n", b"a\r\n.\r\nb\r\n", Some(11)),
            (b"a\n.\r\nb\r\n.\r\n", b"a\r\n.\r\nb\r\n", Some(11)),
            (b"a\n..x\r\n.\r\n", b"a\r\n..x\r\n", Some(10)),
            (b"a\rb\r\n.\r\n", b"a\r\nb\r\n", Some(8)),
            // Bare CR ends a line like bare LF: `\r.\r\n` and `\r.\r` are dot lines.
            (b"a\r.\r\nb\r\n.\r\n", b"a\r\n.\r\nb\r\n", Some(11)),
            (b"a\r.\rb\r\n.\r\n", b"a\r\n.\r\nb\r\n", Some(10)),
            (b"a\r\r\n.\r\n", b"a\r\n\r\n", Some(7)),
            (b"a\r\n.\r\r\n.\r\n", b"a\r\n.\r\n\r\n", Some(10)),
            (b"a\r\n.\rx\r\n.\r\n", b"a\r\n.\r\nx\r\n", Some(11)),
            (
                b"caf\xc3\xa9 8bit\r\n.\r\n",
                b"caf\xc3\xa9 8bit\r\n",
                Some(15),
            ),
            (b"no end\r\n", b"no end\r\n", None),
        ];
        for (input, want, end) in cases {
            let (out, got_end) = decode_all(input);
            assert_eq!(&out, want, "{:?}", String::from_utf8_lossy(input));
            assert_eq!(got_end, *end, "{:?}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn every_split_point_gives_the_same_result() {
        let input = b"Subject: x\r\n\r\n..leading\r\nbody\n.\r\nmore\r\r\n.\r\n";
        let (whole, end) = decode_all(input);
        assert_eq!(end, Some(input.len()));
        for split in 0..input.len() {
            let mut d = DotDecoder::new(1 << 20);
            let mut out = Vec::new();
            let (n1, done1) = d.feed(&input[..split], &mut out);
            assert_eq!(n1, split);
            assert!(!done1);
            let (n2, done2) = d.feed(&input[split..], &mut out);
            assert!(done2);
            assert_eq!(split + n2, input.len());
            assert_eq!(out, whole, "split at {split}");
        }
    }

    /// The byte-at-a-time decoding the fast path must agree with, on inputs built from the
    /// bytes that matter (dot, CR, LF) and ordinary ones, cut at random points.
    #[test]
    fn chunked_and_whole_input_decode_alike() {
        let alphabet = b".\r\na";
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..20_000 {
            let len = (next() % 24) as usize;
            let input: Vec<u8> = (0..len).map(|_| alphabet[(next() % 4) as usize]).collect();
            let (whole, whole_end) = decode_all(&input);
            // One byte at a time the fast path never spans a line break: the reference.
            let mut chunked = |max: u64| {
                let mut d = DotDecoder::new(1 << 20);
                let mut out = Vec::new();
                let mut at = 0;
                while at < input.len() {
                    let take = 1 + (next() % max) as usize;
                    let chunk = &input[at..(at + take).min(input.len())];
                    let (n, done) = d.feed(chunk, &mut out);
                    at += n;
                    if done {
                        return (out, Some(at));
                    }
                }
                (out, None)
            };
            let reference = chunked(1);
            let shown = String::from_utf8_lossy(&input).into_owned();
            assert_eq!((whole, whole_end), reference, "whole {shown:?}");
            assert_eq!(chunked(5), reference, "chunked {shown:?}");
        }
    }

    #[test]
    fn over_the_limit_counts_but_keeps_nothing_more() {
        let mut d = DotDecoder::new(4);
        let mut out = Vec::new();
        let (_, done) = d.feed(b"abcdefgh\r\n.\r\n", &mut out);
        assert!(done);
        assert!(d.overflowed());
        assert_eq!(d.size(), 10);
        assert!(out.len() <= 4);
    }
}
