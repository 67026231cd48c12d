//! Text encodings of delimited files: BOM handling, UTF-8 validation,
//! detection of other encodings, and a streaming transcoder to UTF-8.
//!
//! Decisions:
//! * A UTF-8 BOM is skipped. A UTF-16 LE/BE BOM selects UTF-16. The text is
//!   then required to be valid in that encoding (a malformed sequence is an
//!   error naming its byte offset).
//! * Without a BOM, NUL bytes mean UTF-16 when they sit at every other byte
//!   (ASCII-heavy UTF-16 without a BOM); any other NUL means a binary file,
//!   which is rejected.
//! * Without a BOM, valid UTF-8 is UTF-8. Otherwise `chardetng` guesses the
//!   encoding from the whole file, and the guess is accepted only when it
//!   decodes the whole file with no malformed sequence and no control
//!   character other than tab, CR, LF and form feed. That is what "confident"
//!   means here; otherwise the error names the first byte that is not UTF-8.
//! * Everything streams: the file is read in chunks on every pass, never held
//!   in memory whole.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use encoding_rs::{Decoder, DecoderResult, Encoding, UTF_16BE, UTF_16LE};

use super::ReadError;

const CHUNK: usize = 64 * 1024;

/// How to turn a file's bytes into UTF-8.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TextEncoding {
    /// `None` for UTF-8, else the encoding to transcode from.
    pub(crate) encoding: Option<&'static Encoding>,
    /// Bytes to skip at the start (the BOM).
    pub(crate) skip: u64,
}

/// Decides how to decode the file at `path`; `file` names it in errors.
/// Returns the encoding and, for a detected (not declared) encoding, a
/// warning saying which one was used.
pub(crate) fn detect_encoding(path: &Path, file: &str) -> Result<(TextEncoding, Option<String>), ReadError> {
    let io_err = |e| ReadError::io(file, e);
    let mut head = Vec::with_capacity(CHUNK);
    File::open(path).and_then(|f| f.take(CHUNK as u64).read_to_end(&mut head)).map_err(io_err)?;
    if head.is_empty() {
        return Err(ReadError::Empty { file: file.to_owned() });
    }
    if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        let enc = TextEncoding { encoding: None, skip: 3 };
        return match scan_utf8(path, 3).map_err(io_err)? {
            Utf8Scan { invalid_at: Some(offset), .. } => Err(invalid_text(file, "UTF-8", offset)),
            _ => Ok((enc, None)),
        };
    }
    if head.starts_with(&[0xFF, 0xFE]) {
        return Ok((TextEncoding { encoding: Some(UTF_16LE), skip: 2 }, None));
    }
    if head.starts_with(&[0xFE, 0xFF]) {
        return Ok((TextEncoding { encoding: Some(UTF_16BE), skip: 2 }, None));
    }
    if let Some(first_nul) = head.iter().position(|b| *b == 0) {
        return match utf16_without_bom(&head) {
            Some(enc) => {
                let what = enc.name();
                Ok((
                    TextEncoding { encoding: Some(enc), skip: 0 },
                    Some(format!("file \"{file}\" has no byte order mark; it was read as {what}")),
                ))
            }
            None => Err(ReadError::Binary { file: file.to_owned(), offset: first_nul as u64 }),
        };
    }
    let scan = scan_utf8(path, 0).map_err(io_err)?;
    if let Some(offset) = scan.nul_at {
        return Err(ReadError::Binary { file: file.to_owned(), offset });
    }
    let Some(bad) = scan.invalid_at else {
        return Ok((TextEncoding { encoding: None, skip: 0 }, None));
    };
    let guess = guess_encoding(path).map_err(io_err)?;
    let enc = TextEncoding { encoding: Some(guess), skip: 0 };
    if decodes_plausibly(path, enc).map_err(io_err)? {
        let warning = format!("file \"{file}\" is not UTF-8; it was read as {} (detected)", guess.name());
        Ok((enc, Some(warning)))
    } else {
        Err(ReadError::UndetectedEncoding { file: file.to_owned(), offset: bad })
    }
}

pub(crate) fn invalid_text(file: &str, encoding: &str, offset: u64) -> ReadError {
    ReadError::InvalidText { file: file.to_owned(), encoding: encoding.to_owned(), offset }
}

/// Opens the file as a stream of UTF-8 bytes (BOM skipped, transcoded when
/// needed). A malformed sequence surfaces as an `io::Error` wrapping
/// [`Malformed`].
pub(crate) fn open_text(path: &Path, enc: TextEncoding) -> io::Result<Box<dyn Read>> {
    let mut file = File::open(path)?;
    if enc.skip > 0 {
        io::copy(&mut (&mut file).take(enc.skip), &mut io::sink())?;
    }
    Ok(match enc.encoding {
        None => Box::new(file),
        Some(encoding) => Box::new(DecodingReader::new(file, encoding, enc.skip)),
    })
}

/// Payload of the `io::Error` a [`DecodingReader`] returns on bad input.
#[derive(Debug)]
pub(crate) struct Malformed {
    pub(crate) encoding: &'static str,
    pub(crate) offset: u64,
}

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid {} text at byte {}", self.encoding, self.offset)
    }
}

impl std::error::Error for Malformed {}

/// Finds a [`Malformed`] inside an `io::Error`.
pub(crate) fn malformed(err: &io::Error) -> Option<&Malformed> {
    err.get_ref().and_then(|e| e.downcast_ref::<Malformed>())
}

struct Utf8Scan {
    invalid_at: Option<u64>,
    nul_at: Option<u64>,
}

/// Streams the file from `start`, returning the offset of the first byte that
/// is not valid UTF-8 and of the first NUL byte (both absolute offsets).
fn scan_utf8(path: &Path, start: u64) -> io::Result<Utf8Scan> {
    let mut file = File::open(path)?;
    io::copy(&mut (&mut file).take(start), &mut io::sink())?;
    let mut buf = vec![0u8; CHUNK + 4];
    let mut carry = 0usize;
    let mut base = start;
    let mut nul_at = None;
    loop {
        let n = read_some(&mut file, &mut buf[carry..])?;
        let len = carry + n;
        let at_end = n == 0;
        if nul_at.is_none() {
            if let Some(p) = buf[carry..len].iter().position(|b| *b == 0) {
                nul_at = Some(base + (carry + p) as u64);
            }
        }
        match std::str::from_utf8(&buf[..len]) {
            Ok(_) => {
                if at_end {
                    return Ok(Utf8Scan { invalid_at: None, nul_at });
                }
                base += len as u64;
                carry = 0;
            }
            Err(e) => {
                let valid = e.valid_up_to();
                if e.error_len().is_some() || at_end {
                    return Ok(Utf8Scan { invalid_at: Some(base + valid as u64), nul_at });
                }
                // Incomplete sequence at the end of the chunk: carry it over.
                buf.copy_within(valid..len, 0);
                base += valid as u64;
                carry = len - valid;
            }
        }
    }
}

fn read_some(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match r.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// UTF-16 without BOM: most bytes at one parity are NUL and almost none at
/// the other (the shape of ASCII text in UTF-16).
fn utf16_without_bom(head: &[u8]) -> Option<&'static Encoding> {
    let pairs = head.len() / 2;
    if pairs < 2 {
        return None;
    }
    let even = head.iter().step_by(2).filter(|b| **b == 0).count();
    let odd = head.iter().skip(1).step_by(2).filter(|b| **b == 0).count();
    if odd * 10 >= pairs * 6 && even * 20 <= pairs {
        Some(UTF_16LE)
    } else if even * 10 >= pairs * 6 && odd * 20 <= pairs {
        Some(UTF_16BE)
    } else {
        None
    }
}

fn guess_encoding(path: &Path) -> io::Result<&'static Encoding> {
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    let mut file = File::open(path)?;
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = read_some(&mut file, &mut buf)?;
        detector.feed(&buf[..n], n == 0);
        if n == 0 {
            break;
        }
    }
    Ok(detector.guess(None, chardetng::Utf8Detection::Deny))
}

/// True when `enc` decodes the whole file without malformed sequences and
/// without control characters other than tab, LF, CR and form feed.
fn decodes_plausibly(path: &Path, enc: TextEncoding) -> io::Result<bool> {
    let mut reader = open_text(path, enc)?;
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match read_some(&mut reader, &mut buf) {
            Ok(n) => n,
            Err(e) if malformed(&e).is_some() => return Ok(false),
            Err(e) => return Err(e),
        };
        if n == 0 {
            return Ok(true);
        }
        // Decoded output is UTF-8; C0 controls are single bytes, C1 controls
        // (U+0080..U+009F) are encoded as 0xC2 0x80..0x9F.
        let chunk = &buf[..n];
        let c0 = chunk.iter().any(|b| *b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C));
        let c1 = chunk.windows(2).any(|w| w[0] == 0xC2 && (0x80..=0x9F).contains(&w[1]));
        if c0 || c1 || chunk.contains(&0x7F) {
            return Ok(false);
        }
    }
}

/// Streams a byte source in some encoding out as UTF-8.
struct DecodingReader<R> {
    inner: R,
    decoder: Decoder,
    name: &'static str,
    input: Vec<u8>,
    in_start: usize,
    in_end: usize,
    /// Absolute file offset of `input[0]`.
    in_base: u64,
    eof: bool,
    done: bool,
    output: Vec<u8>,
    out_start: usize,
    out_end: usize,
}

impl<R: Read> DecodingReader<R> {
    fn new(inner: R, encoding: &'static Encoding, start_offset: u64) -> Self {
        DecodingReader {
            inner,
            decoder: encoding.new_decoder_without_bom_handling(),
            name: encoding.name(),
            input: vec![0u8; CHUNK],
            in_start: 0,
            in_end: 0,
            in_base: start_offset,
            eof: false,
            done: false,
            output: vec![0u8; CHUNK * 3],
            out_start: 0,
            out_end: 0,
        }
    }
}

impl<R: Read> Read for DecodingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.out_start < self.out_end {
                let n = buf.len().min(self.out_end - self.out_start);
                buf[..n].copy_from_slice(&self.output[self.out_start..self.out_start + n]);
                self.out_start += n;
                return Ok(n);
            }
            if self.done || buf.is_empty() {
                return Ok(0);
            }
            if self.in_start == self.in_end && !self.eof {
                self.in_base += self.in_end as u64;
                self.in_start = 0;
                self.in_end = read_some(&mut self.inner, &mut self.input)?;
                self.eof = self.in_end == 0;
            }
            let src = &self.input[self.in_start..self.in_end];
            let (result, read, written) =
                self.decoder.decode_to_utf8_without_replacement(src, &mut self.output, self.eof);
            self.in_start += read;
            self.out_start = 0;
            self.out_end = written;
            match result {
                DecoderResult::InputEmpty => self.done = self.eof,
                DecoderResult::OutputFull => {}
                DecoderResult::Malformed(bad, extra) => {
                    let end = self.in_base + self.in_start as u64;
                    let offset = end.saturating_sub(u64::from(bad) + u64::from(extra));
                    return Err(io::Error::new(io::ErrorKind::InvalidData, Malformed { encoding: self.name, offset }));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_reader_transcodes_across_small_reads() {
        let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode("café;Zürich\n");
        let mut r = DecodingReader::new(&bytes[..], encoding_rs::WINDOWS_1252, 0);
        let mut out = Vec::new();
        let mut one = [0u8; 1];
        while r.read(&mut one).expect("read") == 1 {
            out.push(one[0]);
        }
        assert_eq!(out, "café;Zürich\n".as_bytes());
    }

    #[test]
    fn decoding_reader_reports_offset_of_malformed_utf16() {
        // "ab" then an unpaired low surrogate (0xDC00) in UTF-16LE.
        let bytes = [b'a', 0, b'b', 0, 0x00, 0xDC, b'c', 0];
        let mut r = DecodingReader::new(&bytes[..], UTF_16LE, 2);
        let mut out = Vec::new();
        let err = r.read_to_end(&mut out).expect_err("malformed");
        let m = malformed(&err).expect("payload");
        assert_eq!(m.offset, 2 + 4);
    }

    #[test]
    fn utf16_shape_is_recognised() {
        let le: Vec<u8> = "a,b\n1,2\n".encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        let be: Vec<u8> = "a,b\n1,2\n".encode_utf16().flat_map(|u| u.to_be_bytes()).collect();
        assert_eq!(utf16_without_bom(&le), Some(UTF_16LE));
        assert_eq!(utf16_without_bom(&be), Some(UTF_16BE));
        assert_eq!(utf16_without_bom(&[0, 0, 0, 1, 2, 3, 0, 5]), None);
    }
}
