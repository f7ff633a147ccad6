//! The life cycle of a transfer as a state machine (issue 4).
//!
//! ```text
//!  submitted ──fetch──► delivered ──acknowledge──► acknowledged ──accept──► accepted
//!      │                    │                           └────────decline──► declined
//!      │ withdraw           │ withdraw (also from acknowledged, accepted, declined)
//!      ▼                    ▼
//!  withdrawn          withdrawal_notified ──acknowledge_withdrawal──► withdrawal_acknowledged
//!
//!  every state except purged ──purge (retention expired, R15)──► purged
//! ```
//!
//! A withdrawal before the first fetch stops delivery (`withdrawn`); after a
//! fetch the recipient already holds the content, so it gets a withdrawal
//! notice it must acknowledge, and the sender sees that acknowledgement.
//! Fetching again is allowed while the recipient works with the transfer
//! (`delivered`, `acknowledged`, `accepted`) and does not change the state.

use crate::DomainError;
use crate::text_enum::text_enum;

text_enum! {
    /// Where a transfer is in its life cycle.
    pub enum TransferState: "transfer.state" {
        /// Accepted by the hub, sealed and stored; not yet fetched.
        Submitted = "submitted",
        /// Fetched by the recipient function at least once.
        Delivered = "delivered",
        /// The recipient confirmed receipt.
        Acknowledged = "acknowledged",
        /// The recipient takes over support (terminal until purge).
        Accepted = "accepted",
        /// The recipient declined, with a reason code and text (terminal until purge).
        Declined = "declined",
        /// Consent was withdrawn before the recipient fetched it: never delivered.
        Withdrawn = "withdrawn",
        /// Consent was withdrawn after a fetch: a notice waits in the recipient's inbox.
        WithdrawalNotified = "withdrawal_notified",
        /// The recipient acknowledged the withdrawal notice.
        WithdrawalAcknowledged = "withdrawal_acknowledged",
        /// Retention expired: content removed, a content-free audit trace remains (R15).
        Purged = "purged",
    }
}

text_enum! {
    /// The life-cycle state of an expertise request (R7).
    pub enum ExpertiseState: "expertise.state" {
        /// Asked; the Doorstroompunt has not answered.
        Open = "open",
        /// The Doorstroompunt gave its advice.
        Answered = "answered",
        /// Retention expired: content removed (R15).
        Purged = "purged",
    }
}

text_enum! {
    /// The recipient's decision on a transfer: take over support or not.
    pub enum CaseDecision: "transfer.decision" {
        /// The recipient takes over support.
        Accept = "accept",
        /// The recipient declines, with a [`DeclineReason`].
        Decline = "decline",
    }
}

impl CaseDecision {
    /// The event the decision is in the transfer's life cycle.
    pub fn event(self) -> TransferEvent {
        match self {
            Self::Accept => TransferEvent::Accept,
            Self::Decline => TransferEvent::Decline,
        }
    }
}

text_enum! {
    /// Why a recipient declined a transfer (a code the regional numbers
    /// count, R13; the recipient's own words are sealed apart).
    pub enum DeclineReason: "transfer.decline_reason" {
        /// The youth does not live in the gemeente.
        NotResident = "not_resident",
        /// The youth is not in the target group of the support.
        OutsideTargetGroup = "outside_target_group",
        /// The youth declined the support offered.
        YouthDeclinedSupport = "youth_declined_support",
        /// The youth is already supported.
        AlreadySupported = "already_supported",
        /// The transfer does not say enough to decide.
        InsufficientInformation = "insufficient_information",
        /// Another route suits the youth better.
        OtherRoute = "other_route",
        /// Another reason, in the sealed reason text.
        Other = "other",
    }
}

text_enum! {
    /// Something that happens to a transfer.
    pub enum TransferEvent: "transfer.event" {
        /// The recipient function fetched the sealed groups.
        Fetch = "fetch",
        /// The recipient confirmed receipt.
        Acknowledge = "acknowledge",
        /// The recipient takes over support.
        Accept = "accept",
        /// The recipient declines.
        Decline = "decline",
        /// The consent behind the transfer was withdrawn.
        Withdraw = "withdraw",
        /// The recipient acknowledged a withdrawal notice.
        AcknowledgeWithdrawal = "acknowledge_withdrawal",
        /// The retention period expired.
        Purge = "purge",
    }
}

impl TransferState {
    /// The state after `event`, or an error if the transition is not allowed.
    pub fn apply(self, event: TransferEvent) -> Result<TransferState, DomainError> {
        use TransferEvent as E;
        use TransferState as S;
        let next = match (self, event) {
            (S::Submitted | S::Delivered, E::Fetch) => S::Delivered,
            (S::Acknowledged, E::Fetch) => S::Acknowledged,
            (S::Accepted, E::Fetch) => S::Accepted,
            (S::Delivered, E::Acknowledge) => S::Acknowledged,
            (S::Acknowledged, E::Accept) => S::Accepted,
            (S::Acknowledged, E::Decline) => S::Declined,
            (S::Submitted, E::Withdraw) => S::Withdrawn,
            (S::Delivered | S::Acknowledged | S::Accepted | S::Declined, E::Withdraw) => {
                S::WithdrawalNotified
            }
            (S::WithdrawalNotified, E::AcknowledgeWithdrawal) => S::WithdrawalAcknowledged,
            (s, E::Purge) if s != S::Purged => S::Purged,
            _ => {
                return Err(DomainError::new(
                    "transfer.state",
                    "this action is not allowed in the transfer's current state",
                ));
            }
        };
        Ok(next)
    }

    /// Whether the recipient may still fetch the content.
    pub const fn may_fetch(self) -> bool {
        matches!(
            self,
            Self::Submitted | Self::Delivered | Self::Acknowledged | Self::Accepted
        )
    }

    /// Whether the recipient has (or had) the content in hand.
    pub const fn was_fetched(self) -> bool {
        matches!(
            self,
            Self::Delivered
                | Self::Acknowledged
                | Self::Accepted
                | Self::Declined
                | Self::WithdrawalNotified
                | Self::WithdrawalAcknowledged
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TransferEvent as E;
    use TransferState as S;

    #[test]
    fn happy_paths() {
        let s = S::Submitted.apply(E::Fetch).unwrap();
        let s = s.apply(E::Acknowledge).unwrap();
        assert_eq!(s.apply(E::Accept).unwrap(), S::Accepted);
        assert_eq!(s.apply(E::Decline).unwrap(), S::Declined);
    }

    #[test]
    fn withdrawal_before_and_after_fetch() {
        assert_eq!(S::Submitted.apply(E::Withdraw).unwrap(), S::Withdrawn);
        let n = S::Accepted.apply(E::Withdraw).unwrap();
        assert_eq!(n, S::WithdrawalNotified);
        assert_eq!(
            n.apply(E::AcknowledgeWithdrawal).unwrap(),
            S::WithdrawalAcknowledged
        );
        assert!(S::Withdrawn.apply(E::Fetch).is_err());
        assert!(!S::Withdrawn.may_fetch());
    }

    #[test]
    fn only_listed_transitions_exist() {
        // The full table: every (state, event) pair not listed here is refused.
        let allowed: &[(S, E, S)] = &[
            (S::Submitted, E::Fetch, S::Delivered),
            (S::Delivered, E::Fetch, S::Delivered),
            (S::Acknowledged, E::Fetch, S::Acknowledged),
            (S::Accepted, E::Fetch, S::Accepted),
            (S::Delivered, E::Acknowledge, S::Acknowledged),
            (S::Acknowledged, E::Accept, S::Accepted),
            (S::Acknowledged, E::Decline, S::Declined),
            (S::Submitted, E::Withdraw, S::Withdrawn),
            (S::Delivered, E::Withdraw, S::WithdrawalNotified),
            (S::Acknowledged, E::Withdraw, S::WithdrawalNotified),
            (S::Accepted, E::Withdraw, S::WithdrawalNotified),
            (S::Declined, E::Withdraw, S::WithdrawalNotified),
            (
                S::WithdrawalNotified,
                E::AcknowledgeWithdrawal,
                S::WithdrawalAcknowledged,
            ),
        ];
        for &s in S::ALL {
            for &e in E::ALL {
                let got = s.apply(e);
                let want = allowed.iter().find(|(a, b, _)| *a == s && *b == e).map(|t| t.2);
                let want = match (e, want) {
                    (E::Purge, _) if s != S::Purged => Some(S::Purged),
                    (_, w) => w,
                };
                assert_eq!(got.ok(), want, "{s} --{e}-->");
            }
        }
    }

    #[test]
    fn purged_is_final() {
        for &e in E::ALL {
            assert_eq!(S::Purged.apply(e).unwrap_err().field, "transfer.state");
        }
    }
}
