//! The one error type of the store, and the single place where driver errors
//! are mapped to it.

/// Why a storage operation failed. Messages name the kind of record, never
/// its contents (no BSN, name or document text ever reaches an error string).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The record does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A record with the same key already exists, or a uniqueness rule holds.
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// A record refers to one that does not exist.
    #[error("{0} refers to a missing record")]
    MissingReference(&'static str),
    /// The database cannot be reached or is not accepting work right now.
    /// Callers answer `UNAVAILABLE`; nothing was stored.
    #[error("database unavailable")]
    Unavailable(#[source] sqlx::Error),
    /// A write committed, but whether it is on disk could not be confirmed
    /// (the database server restarted between the commit and its flush, or
    /// a flush failed). Callers answer `UNAVAILABLE` and the client retries
    /// with its idempotency key: it then gets the stored answer, or the
    /// write is made again if the crash took it.
    #[error("write not confirmed on disk: {0}")]
    NotDurable(&'static str),
    /// A stored value does not decode into its domain type.
    #[error("stored {0} is corrupt")]
    Corrupt(&'static str),
    /// A stored consent, transfer or expertise request differs from what the
    /// latest audit entry that wrote it commits to (at `position`; `None`:
    /// no entry wrote it), or that entry is not authentic. The row was
    /// changed outside the hub; it is not served. Callers answer `DATA_LOSS`.
    #[error("{}", row_changed(table, *position))]
    RowChanged {
        /// `consent`, `transfer` or `expertise`.
        table: &'static str,
        /// The entry it was compared with.
        position: Option<u64>,
    },
    /// The database could not be reached or refused the connection when
    /// the store was opened; the driver's reason (a refused connection, a
    /// wrong password, an unknown database) is shown to the operator. It
    /// names hosts and users, never case data.
    #[error("cannot connect to the database: {0}")]
    Connect(String),
    /// The configuration (URL, options) is invalid.
    #[error("invalid database configuration: {0}")]
    Config(String),
    /// Running the schema migrations failed (the reason says which and why,
    /// e.g. a missing privilege).
    #[error("database migration failed: {0}")]
    Migration(#[source] sqlx::migrate::MigrateError),
    /// An audit entry could not be encoded; the action it belongs to is not
    /// carried out (fail-closed).
    #[error("audit entry refused")]
    AuditEntry(#[source] schakel_audit::AuditError),
    /// Any other database error.
    #[error("database error")]
    Database(#[source] sqlx::Error),
}

fn row_changed(table: &str, position: Option<u64>) -> String {
    match position {
        Some(p) => {
            format!("stored {table} does not match the audit entry at position {p} that last wrote it")
        }
        None => format!("stored {table} has no audit entry that wrote it"),
    }
}

impl StoreError {
    /// Maps a driver error for an operation on `what`. This is the one place
    /// where SQLSTATE / SQLite codes become domain errors: sqlx classifies
    /// both backends' constraint codes into the same `ErrorKind`.
    pub(crate) fn from_sqlx(what: &'static str, e: sqlx::Error) -> Self {
        use sqlx::error::ErrorKind;
        match &e {
            sqlx::Error::RowNotFound => Self::NotFound(what),
            sqlx::Error::Database(db) => match db.kind() {
                _ if is_unavailable_code(db.code().as_deref()) => Self::Unavailable(e),
                // A table or column the hub's migrations made is gone: the
                // schema was changed outside the hub (answered DATA_LOSS).
                _ if is_schema_gone(db.code().as_deref(), db.message()) => Self::Corrupt(what),
                ErrorKind::UniqueViolation => Self::Conflict(what),
                ErrorKind::ForeignKeyViolation => Self::MissingReference(what),
                _ => Self::Database(e),
            },
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Protocol(_) => Self::Unavailable(e),
            sqlx::Error::ColumnDecode { .. }
            | sqlx::Error::Decode(_)
            | sqlx::Error::ColumnNotFound(_)
            | sqlx::Error::ColumnIndexOutOfBounds { .. } => Self::Corrupt(what),
            _ => Self::Database(e),
        }
    }

    /// Whether the caller may retry later (the database was unavailable).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_) | Self::NotDurable(_))
    }
}

/// Whether a database error says a table or column of the schema is missing:
/// PostgreSQL's `undefined_table` (42P01) and `undefined_column` (42703);
/// SQLite's generic error with its "no such table/column" or "has no column
/// named" message.
fn is_schema_gone(code: Option<&str>, message: &str) -> bool {
    matches!(code, Some("42P01" | "42703"))
        || (code == Some("1")
            && (message.starts_with("no such column")
                || message.starts_with("no such table")
                || message.contains(" has no column named ")))
}

/// Whether a database error means "not now, retry later": nothing was
/// stored. PostgreSQL reports five-character SQLSTATEs: class 08
/// (connection), 57P (shutdown, crash), 53300 (too many connections), 40001
/// and 40P01 (serialization failure, deadlock). SQLite reports numeric
/// result codes of at most four digits: BUSY, LOCKED, IOERR, FULL, READONLY
/// (extended codes keep the primary code in the low byte).
fn is_unavailable_code(code: Option<&str>) -> bool {
    match code {
        Some(c) if c.len() == 5 => {
            c.starts_with("08") || c.starts_with("57P") || matches!(c, "53300" | "40001" | "40P01")
        }
        Some(c) => c
            .parse::<i32>()
            .map(|n| matches!(n & 0xff, 5 | 6 | 8 | 10 | 13))
            .unwrap_or(false),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::is_unavailable_code;

    #[test]
    fn unavailable_codes_per_backend() {
        for c in [
            "08006", "57P01", "53300", "40001", "40P01", "5", "517", "6", "10", "13", "3338",
        ] {
            assert!(is_unavailable_code(Some(c)), "{c}");
        }
        // PostgreSQL codes whose digits happen to look like SQLite's.
        for c in ["42501", "22021", "23505", "2067", "787", "1"] {
            assert!(!is_unavailable_code(Some(c)), "{c}");
        }
        assert!(!is_unavailable_code(None));
    }
}

#[cfg(test)]
mod connect_tests {
    use std::time::Duration;

    use crate::{Store, StoreError, StoreOptions};

    /// An operator who gets the URL wrong is told why, not "database error"
    /// (issue 22).
    #[tokio::test]
    async fn a_refused_connection_says_why() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        let opts = StoreOptions {
            acquire_timeout: Duration::from_secs(2),
            ..StoreOptions::new(format!("postgres://schakel_hub@127.0.0.1:{port}/schakel"))
        };
        let err = Store::connect(&opts).await.unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, StoreError::Connect(_)), "{text}");
        assert!(text.starts_with("cannot connect to the database: "), "{text}");
        assert!(
            text.contains("Connection refused"),
            "the reason, not a pool timeout: {text}"
        );
    }
}
