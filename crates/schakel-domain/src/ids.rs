//! Identifiers of parties and subjects.

use std::fmt;
use std::str::FromStr;

use crate::DomainError;

fn all_digits(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

/// *Organisatie-identificatienummer*: the 20-digit number that identifies a
/// Dutch public organisation. PKIoverheid certificates carry it in the
/// subject `serialNumber`; schakel uses it as the organisation's identity.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Oin(String);

impl Oin {
    /// The 20 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Oin {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != 20 || !all_digits(s) {
            return Err(DomainError::new("oin", "must be exactly 20 digits"));
        }
        Ok(Self(s.to_owned()))
    }
}

impl TryFrom<String> for Oin {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Oin> for String {
    fn from(v: Oin) -> Self {
        v.0
    }
}

impl fmt::Display for Oin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Oin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Oin({})", self.0)
    }
}

/// A transfer's id: the UUID v7 the hub gave it when it was submitted. A
/// type of its own so that a consent's or an expertise request's id cannot
/// be passed where a transfer is meant.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct TransferId(uuid::Uuid);

impl TransferId {
    /// A new id, ordered by creation (UUID v7).
    pub fn generate() -> Self {
        Self(uuid::Uuid::now_v7())
    }

    /// The UUID.
    pub fn uuid(self) -> uuid::Uuid {
        self.0
    }
}

impl From<uuid::Uuid> for TransferId {
    fn from(u: uuid::Uuid) -> Self {
        Self(u)
    }
}

impl FromStr for TransferId {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        uuid::Uuid::parse_str(s)
            .map(Self)
            .map_err(|_| DomainError::new("transfer_id", "must be a UUID"))
    }
}

impl fmt::Display for TransferId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for TransferId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TransferId({})", self.0)
    }
}

/// The pseudonym of a youth: 64 lowercase hex digits, a keyed MAC of the
/// BSN under the hub's secret (`schakel_crypto::Pseudonymiser`). It is what
/// every stored row and audit entry names instead of the BSN, and a type of
/// its own so that no other text — a reference, a name, a BSN — can be
/// stored in its place.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Pseudonym(String);

impl Pseudonym {
    /// The pseudonym of a 32-byte MAC.
    pub fn from_mac(mac: [u8; 32]) -> Self {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(64);
        for b in mac {
            s.push(char::from(HEX[usize::from(b >> 4)]));
            s.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
        Self(s)
    }

    /// The 64 hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Pseudonym {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != 64 || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(DomainError::new("pseudonym", "must be 64 lowercase hex digits"));
        }
        Ok(Self(s.to_owned()))
    }
}

impl TryFrom<String> for Pseudonym {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Pseudonym> for String {
    fn from(v: Pseudonym) -> Self {
        v.0
    }
}

impl fmt::Display for Pseudonym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Pseudonym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pseudonym({})", self.0)
    }
}

/// BRIN code of a school: 4 characters, two digits then two letters or digits
/// (e.g. `01AB`, `25LP`), as DUO assigns them.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BrinCode(String);

impl BrinCode {
    /// The four characters, upper case.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for BrinCode {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let b = s.as_bytes();
        let ok = b.len() == 4
            && b[..2].iter().all(u8::is_ascii_digit)
            && b[2..].iter().all(u8::is_ascii_alphanumeric);
        if !ok {
            return Err(DomainError::new(
                "brin",
                "must be two digits followed by two letters or digits, e.g. 01AB",
            ));
        }
        Ok(Self(s.to_ascii_uppercase()))
    }
}

impl TryFrom<String> for BrinCode {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<BrinCode> for String {
    fn from(v: BrinCode) -> Self {
        v.0
    }
}

impl fmt::Display for BrinCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for BrinCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BrinCode({})", self.0)
    }
}

/// CBS gemeentecode: `GM` followed by four digits (e.g. `GM0363`, Amsterdam).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct GemeenteCode(String);

impl GemeenteCode {
    /// The code, e.g. `GM0363`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for GemeenteCode {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ok = s.len() == 6 && s.starts_with("GM") && all_digits(&s[2..]);
        if !ok {
            return Err(DomainError::new(
                "gemeentecode",
                "must be GM followed by four digits, e.g. GM0363",
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

impl TryFrom<String> for GemeenteCode {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<GemeenteCode> for String {
    fn from(v: GemeenteCode) -> Self {
        v.0
    }
}

impl fmt::Display for GemeenteCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for GemeenteCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GemeenteCode({})", self.0)
    }
}

/// *Burgerservicenummer*: 9 digits passing the *elfproef*
/// (9·d1 + 8·d2 + … + 2·d8 − 1·d9 ≡ 0 mod 11, and not all zero).
///
/// A BSN is personal data that links a youth across parties. This type never
/// prints it: `Debug` and `Display` are redacted, parse errors do not repeat
/// the input, and the digits are zeroized on drop. Use [`Bsn::expose`] only
/// where the digits are really needed (pseudonymisation, sealing).
#[derive(Clone, PartialEq, Eq, Hash, zeroize::ZeroizeOnDrop)]
pub struct Bsn([u8; 9]);

impl Bsn {
    /// The nine ASCII digits. Never log or format the result.
    pub fn expose(&self) -> &[u8; 9] {
        &self.0
    }

    fn elfproef(d: &[u8; 9]) -> bool {
        let mut sum: i32 = 0;
        for (i, &c) in d.iter().enumerate().take(8) {
            sum += (9 - i as i32) * i32::from(c - b'0');
        }
        sum -= i32::from(d[8] - b'0');
        sum % 11 == 0 && d.iter().any(|&c| c != b'0')
    }
}

/// Whether `text` holds a number that could be a BSN: a run of exactly 9
/// digits that passes the elfproef. For text a client chooses (end-user ids,
/// roles, idempotency keys) that must never carry personal data.
///
/// Machine-made identifiers are not mistaken for one: a word of at least 8
/// hexadecimal characters with a letter among them (a UUID's groups, a
/// SHA-256 in hex) is an opaque id, whatever digits it holds — otherwise
/// about one random UUID in 500 would be refused. So `jip999990019`,
/// `key-999990019` and `999990019` are found, `c0ffee999990019` is not.
pub fn holds_possible_bsn(text: &str) -> bool {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !is_hex_id(word))
        .any(|word| {
            word.split(|c: char| !c.is_ascii_digit()).any(|run| {
                run.len() == 9 && {
                    let mut d = [0u8; 9];
                    d.copy_from_slice(run.as_bytes());
                    Bsn::elfproef(&d)
                }
            })
        })
}

/// A word of 8 or more hexadecimal characters, at least one a letter.
fn is_hex_id(word: &str) -> bool {
    word.len() >= 8
        && word.bytes().all(|b| b.is_ascii_hexdigit())
        && word.bytes().any(|b| b.is_ascii_alphabetic())
}

impl FromStr for Bsn {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let b = s.as_bytes();
        if b.len() != 9 || !all_digits(s) {
            return Err(DomainError::new("bsn", "must be exactly 9 digits"));
        }
        let mut d = [0u8; 9];
        d.copy_from_slice(b);
        if !Self::elfproef(&d) {
            return Err(DomainError::new("bsn", "fails the elfproef (check digit)"));
        }
        Ok(Self(d))
    }
}

impl TryFrom<&str> for Bsn {
    type Error = DomainError;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl fmt::Debug for Bsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Bsn(<redacted>)")
    }
}

impl fmt::Display for Bsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<bsn redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEST_BSNS: [&str; 5] = ["999990019", "999990925", "999992740", "999993653", "999994669"];

    #[test]
    fn possible_bsns_are_found_in_text() {
        assert!(holds_possible_bsn("999990019"));
        assert!(holds_possible_bsn("user-999990019"));
        assert!(holds_possible_bsn("jip999990019"));
        assert!(holds_possible_bsn("Quirijntje999990019/Testjongere"));
        assert!(!holds_possible_bsn("999990018"), "fails the elfproef");
        assert!(!holds_possible_bsn("1999990019"), "ten digits");
        assert!(!holds_possible_bsn("submit-1733571234567"), "a timestamp");
        assert!(!holds_possible_bsn("000000000"), "all zeros");
        assert!(!holds_possible_bsn("werkcoach-3"));
        // Machine-made ids are opaque, whatever digits they hold.
        assert!(!holds_possible_bsn("c0ffee999990019"));
        assert!(!holds_possible_bsn("99999001-9abc-4def-8123-456789abcdef"));
    }

    /// No UUID or hex digest is ever taken for a BSN: clients generate them
    /// as idempotency keys, and one refused at random would be a fault.
    #[test]
    fn generated_ids_are_never_taken_for_a_bsn() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..200_000 {
            let (a, b) = (next(), next());
            let uuid = format!(
                "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
                a >> 32,
                (a >> 16) & 0xffff,
                a & 0xffff,
                b >> 48,
                b & 0xffff_ffff_ffff
            );
            assert!(!holds_possible_bsn(&uuid), "{uuid}");
            let hex = format!("{a:016x}{b:016x}{:016x}{:016x}", next(), next());
            assert!(!holds_possible_bsn(&hex), "{hex}");
        }
    }

    #[test]
    fn test_bsns_pass_the_elfproef() {
        for s in TEST_BSNS {
            assert!(s.parse::<Bsn>().is_ok(), "fictitious test BSN must parse");
        }
    }

    #[test]
    fn bsn_with_bad_check_digit_is_refused() {
        let e = "999990018".parse::<Bsn>().unwrap_err();
        assert_eq!(e.field, "bsn");
        assert!(!e.to_string().contains("999990018"));
    }

    #[test]
    fn bsn_all_zero_is_refused() {
        assert!("000000000".parse::<Bsn>().is_err());
    }

    #[test]
    fn bsn_wrong_length_or_letters_are_refused() {
        for s in ["99999001", "9999900190", "99999001a", "", " 99999001"] {
            assert!(s.parse::<Bsn>().is_err());
        }
    }

    #[test]
    fn bsn_is_never_printed() {
        let b: Bsn = "999990019".parse().unwrap();
        assert!(!format!("{b:?}").contains("999990019"));
        assert!(!format!("{b}").contains("999990019"));
        assert!(!format!("{:?}", Some(&b)).contains("99999"));
    }

    #[test]
    fn oin_must_be_20_digits() {
        assert!("00000001234567890000".parse::<Oin>().is_ok());
        assert_eq!("0000000123456789000".parse::<Oin>().unwrap_err().field, "oin");
        assert!("0000000123456789000x".parse::<Oin>().is_err());
    }

    #[test]
    fn brin_and_gemeentecode_shapes() {
        assert_eq!("01ab".parse::<BrinCode>().unwrap().as_str(), "01AB");
        assert!("A1AB".parse::<BrinCode>().is_err());
        assert!("01A".parse::<BrinCode>().is_err());
        assert!("GM0363".parse::<GemeenteCode>().is_ok());
        assert!("GM363".parse::<GemeenteCode>().is_err());
        assert!("gm0363".parse::<GemeenteCode>().is_err());
    }

    proptest::proptest! {
        #[test]
        fn bsn_parse_never_panics_and_never_echoes(s in "\\PC{0,12}") {
            if let Err(e) = s.parse::<Bsn>() {
                proptest::prop_assert!(s.len() < 3 || !e.to_string().contains(&s));
            }
        }
    }
}
