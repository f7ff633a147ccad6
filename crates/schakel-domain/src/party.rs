//! Parties: organisation × function (domain.md §2, R9).

use crate::{DomainError, FunctionKind, Oin, OrgKind};

/// A party to an exchange: one function of one organisation.
///
/// A gemeente's Doorstroompunt and its Participatiewet side are *different*
/// parties (R9). Construction refuses a function the organisation kind cannot
/// hold (e.g. a school acting as Participatiewet).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "PartyParts", into = "PartyParts")]
pub struct Party {
    oin: Oin,
    kind: OrgKind,
    function: FunctionKind,
}

/// The serialised form of a [`Party`]; validated on conversion.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartyParts {
    /// The organisation's OIN.
    pub oin: Oin,
    /// The organisation's kind.
    pub kind: OrgKind,
    /// The function acting.
    pub function: FunctionKind,
}

impl Party {
    /// A party; refused if `kind` cannot hold `function` (R9).
    pub fn new(oin: Oin, kind: OrgKind, function: FunctionKind) -> Result<Self, DomainError> {
        if !kind.allows_function(function) {
            return Err(DomainError::new(
                "function",
                "this kind of organisation cannot hold this function",
            ));
        }
        Ok(Self { oin, kind, function })
    }

    /// The organisation's OIN.
    pub fn oin(&self) -> &Oin {
        &self.oin
    }

    /// The organisation's kind.
    pub fn kind(&self) -> OrgKind {
        self.kind
    }

    /// The function acting for the organisation.
    pub fn function(&self) -> FunctionKind {
        self.function
    }

    /// The organisation and function: what a stored row names.
    pub fn key(&self) -> (Oin, FunctionKind) {
        (self.oin.clone(), self.function)
    }
}

impl TryFrom<PartyParts> for Party {
    type Error = DomainError;
    fn try_from(p: PartyParts) -> Result<Self, Self::Error> {
        let PartyParts { oin, kind, function } = p;
        Self::new(oin, kind, function)
    }
}

impl From<Party> for PartyParts {
    fn from(p: Party) -> Self {
        Self {
            oin: p.oin,
            kind: p.kind,
            function: p.function,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r9_party_function_must_fit_the_kind() {
        let oin: Oin = "00000001234567890000".parse().unwrap();
        assert!(Party::new(oin.clone(), OrgKind::Gemeente, FunctionKind::Participatiewet).is_ok());
        let e = Party::new(oin, OrgKind::MboSchool, FunctionKind::Participatiewet).unwrap_err();
        assert_eq!(e.field, "function");
    }
}
