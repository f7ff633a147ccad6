//! The directory: organisations, functions, age recipients, certificate bindings.

use jiff::Timestamp;
use schakel_domain::{FunctionKind, Oin};
use uuid::Uuid;

use crate::audit::audited_write;
use crate::mandates::MandateRow;
use crate::pool::on_pool;
use crate::records::{BindingRecord, OrganisationRecord, RecipientRecord, fetch};
use crate::row_commitments::Found;
use crate::{
    CertificateBinding, NewOrganisation, OrgFilter, Organisation, OrganisationUpdate, RecipientKey, Store,
    StoreError,
};
use schakel_audit::{Entry, RowTable};

const INSERT_ORGANISATION: &str = include_str!("../queries/insert_organisation.sql");
const UPDATE_ORGANISATION: &str = include_str!("../queries/update_organisation.sql");
const SELECT_ORGANISATION: &str = include_str!("../queries/select_organisation.sql");
const SELECT_OIN_BY_GEMEENTECODE: &str = include_str!("../queries/select_oin_by_gemeentecode.sql");
const SELECT_OIN_BY_BRIN: &str = include_str!("../queries/select_oin_by_brin.sql");
const LIST_ORGANISATIONS: &str = include_str!("../queries/list_organisations.sql");
const INSERT_FUNCTION: &str = include_str!("../queries/insert_function.sql");
const SELECT_FUNCTIONS: &str = include_str!("../queries/select_functions.sql");
const INSERT_RECIPIENT: &str = include_str!("../queries/insert_recipient.sql");
const SELECT_RECIPIENTS: &str = include_str!("../queries/select_recipients.sql");
const SELECT_RECIPIENT: &str = include_str!("../queries/select_recipient.sql");
const REVOKE_RECIPIENT: &str = include_str!("../queries/revoke_recipient.sql");
const INSERT_CERTIFICATE_BINDING: &str = include_str!("../queries/insert_certificate_binding.sql");
const SELECT_CERTIFICATE_BINDING: &str = include_str!("../queries/select_certificate_binding.sql");
const DELETE_CERTIFICATE_BINDING: &str = include_str!("../queries/delete_certificate_binding.sql");

fn millis(t: Timestamp) -> i64 {
    t.as_millisecond()
}

fn parse<T: std::str::FromStr>(what: &'static str, s: &str) -> Result<T, StoreError> {
    s.parse().map_err(|_| StoreError::Corrupt(what))
}

impl Store {
    /// Registers a new organisation (with no functions yet).
    #[tracing::instrument(name = "store.insert_organisation", skip_all)]
    pub async fn insert_organisation(
        &self,
        org: &NewOrganisation,
        now: Timestamp,
        audit: Entry,
    ) -> Result<(), StoreError> {
        let _changing = self.directory.changing();
        audited_write!(self, "organisation", audit, now, tx => sqlx::query(INSERT_ORGANISATION)
            .bind(org.oin.as_str())
            .bind(org.kind.as_str())
            .bind(&org.name)
            .bind(org.brin.as_ref().map(|b| b.as_str()))
            .bind(org.gemeentecode.as_ref().map(|g| g.as_str()))
            .bind(org.doorstroompunt_regio.as_deref())
            .bind(org.arbeidsmarktregio.as_deref())
            .bind(true)
            .bind(millis(now))
            .execute(&mut *tx)
            .await
            .map(|r| r.rows_affected())
        .map_err(|e| StoreError::from_sqlx("organisation", e)));
        Ok(())
    }

    /// Applies `update` to an organisation and returns the result.
    #[tracing::instrument(name = "store.update_organisation", skip_all)]
    pub async fn update_organisation(
        &self,
        oin: &Oin,
        update: OrganisationUpdate,
        now: Timestamp,
        audit: Entry,
    ) -> Result<Organisation, StoreError> {
        let _changing = self.directory.changing();
        audited_write!(self, "organisation", audit, now, tx => sqlx::query(UPDATE_ORGANISATION)
        .bind(oin.as_str())
        .bind(update.name.as_deref())
        .bind(update.brin.as_ref().map(|b| b.as_str()))
        .bind(update.gemeentecode.as_ref().map(|g| g.as_str()))
        .bind(update.doorstroompunt_regio.as_deref())
        .bind(update.arbeidsmarktregio.as_deref())
        .bind(update.active)
        .bind(millis(now))
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::from_sqlx("organisation", e))
        .and_then(|r| match r.rows_affected() {
            // Nothing changed, nothing audited: the transaction rolls back.
            0 => Err(StoreError::NotFound("organisation")),
            n => Ok(n),
        }));
        self.directory.invalidate();
        self.get_organisation(oin)
            .await?
            .ok_or(StoreError::NotFound("organisation"))
    }

    /// The organisation with this OIN, with its functions.
    #[tracing::instrument(name = "store.get_organisation", skip_all)]
    pub async fn get_organisation(&self, oin: &Oin) -> Result<Option<Organisation>, StoreError> {
        if let Some(org) = self.directory.get(oin.as_str()) {
            return Ok(org);
        }
        let generation = self.directory.generation();
        let org = self.load_organisation(oin).await?;
        self.directory.put(generation, oin.as_str(), org.clone());
        Ok(org)
    }

    async fn load_organisation(&self, oin: &Oin) -> Result<Option<Organisation>, StoreError> {
        let org: Option<Organisation> = fetch!(
            self,
            fetch_optional,
            OrganisationRecord,
            "organisation",
            SELECT_ORGANISATION,
            [oin.as_str()]
        )?;
        let Some(mut org) = org else { return Ok(None) };
        org.functions = self.functions_of(oin).await?;
        Ok(Some(org))
    }

    /// The OIN of the gemeente with this CBS code.
    #[tracing::instrument(name = "store.oin_by_gemeentecode", skip_all)]
    pub async fn oin_by_gemeentecode(&self, code: &str) -> Result<Option<Oin>, StoreError> {
        self.oin_by(SELECT_OIN_BY_GEMEENTECODE, code).await
    }

    /// The OIN of the school with this BRIN code.
    #[tracing::instrument(name = "store.oin_by_brin", skip_all)]
    pub async fn oin_by_brin(&self, brin: &str) -> Result<Option<Oin>, StoreError> {
        self.oin_by(SELECT_OIN_BY_BRIN, brin).await
    }

    async fn oin_by(&self, sql: &'static str, key: &str) -> Result<Option<Oin>, StoreError> {
        let oin: Option<String> =
            on_pool!(self, p => sqlx::query_scalar(sql).bind(key).fetch_optional(p).await)
                .map_err(|e| StoreError::from_sqlx("organisation", e))?;
        oin.map(|o| parse("organisation oin", &o)).transpose()
    }

    /// Organisations matching `filter` with an OIN after `after` (keyset
    /// pagination), at most `limit`, ordered by OIN.
    #[tracing::instrument(name = "store.list_organisations", skip_all)]
    pub async fn list_organisations(
        &self,
        filter: &OrgFilter,
        after: Option<&Oin>,
        limit: u32,
    ) -> Result<Vec<Organisation>, StoreError> {
        let mut orgs: Vec<Organisation> = fetch!(
            self,
            fetch_all,
            OrganisationRecord,
            "organisation",
            LIST_ORGANISATIONS,
            [
                after.map(|o| o.as_str()).unwrap_or(""),
                filter.kind.map(|k| k.as_str()).unwrap_or(""),
                filter.arbeidsmarktregio.as_deref().unwrap_or(""),
                filter.doorstroompunt_regio.as_deref().unwrap_or(""),
                i64::from(limit),
                filter.include_inactive,
            ]
        )?;
        for org in &mut orgs {
            org.functions = self.functions_of(&org.oin).await?;
        }
        Ok(orgs)
    }

    /// Adds a function to an organisation. The caller checks that the
    /// organisation's kind allows it (R9).
    #[tracing::instrument(name = "store.add_function", skip_all)]
    pub async fn add_function(
        &self,
        oin: &Oin,
        function: FunctionKind,
        now: Timestamp,
        audit: Entry,
    ) -> Result<(), StoreError> {
        let _changing = self.directory.changing();
        audited_write!(self, "function", audit, now, tx => sqlx::query(INSERT_FUNCTION)
            .bind(oin.as_str())
            .bind(function.as_str())
            .bind(millis(now))
            .execute(&mut *tx)
            .await
            .map(|r| r.rows_affected())
        .map_err(|e| StoreError::from_sqlx("function", e)));
        Ok(())
    }

    async fn functions_of(&self, oin: &Oin) -> Result<Vec<FunctionKind>, StoreError> {
        let names: Vec<String> =
            on_pool!(self, p => sqlx::query_scalar(SELECT_FUNCTIONS).bind(oin.as_str()).fetch_all(p).await)
                .map_err(|e| StoreError::from_sqlx("function", e))?;
        names.iter().map(|n| parse("function", n)).collect()
    }

    /// Registers an age recipient for a function.
    #[tracing::instrument(name = "store.insert_recipient", skip_all)]
    pub async fn insert_recipient(
        &self,
        key: &RecipientKey,
        now: Timestamp,
        audit: Entry,
    ) -> Result<(), StoreError> {
        let _changing = self.directory.changing();
        audited_write!(self, "recipient key", audit, now, rows = [(RowTable::RECIPIENT_KEY, key.key_id)], tx => sqlx::query(INSERT_RECIPIENT)
            .bind(key.key_id.to_string())
            .bind(key.oin.as_str())
            .bind(key.function.as_str())
            .bind(&key.age_recipient)
            .bind(millis(key.valid_from))
            .bind(key.valid_until.map(millis))
            .bind(millis(now))
            .execute(&mut *tx)
            .await
            .map(|r| r.rows_affected())
        .map_err(|e| StoreError::from_sqlx("recipient key", e)));
        Ok(())
    }

    /// All recipient keys of an organisation's functions, oldest first.
    #[tracing::instrument(name = "store.recipients_of", skip_all)]
    pub async fn recipients_of(&self, oin: &Oin) -> Result<Vec<RecipientKey>, StoreError> {
        if let Some(keys) = self.directory.get(oin.as_str()) {
            return Ok(keys);
        }
        let generation = self.directory.generation();
        let keys = self.load_recipients(oin).await?;
        self.directory.put(generation, oin.as_str(), keys.clone());
        Ok(keys)
    }

    async fn load_recipients(&self, oin: &Oin) -> Result<Vec<RecipientKey>, StoreError> {
        let keys = self.load_recipients_unchecked(oin).await?;
        // A key changed in the database would have case data sealed to
        // someone else: each must be what the entry that wrote it says.
        self.check_rows(keys.iter().map(Found::recipient_key).collect())
            .await?;
        Ok(keys)
    }

    /// One recipient key by id, checked like every read.
    pub(crate) async fn recipient_key(&self, id: Uuid) -> Result<Option<RecipientKey>, StoreError> {
        let key: Option<RecipientKey> = fetch!(
            self,
            fetch_optional,
            RecipientRecord,
            "recipient key",
            SELECT_RECIPIENT,
            [id.to_string()]
        )?;
        if let Some(k) = &key {
            self.check_row(Found::recipient_key(k)).await?;
        }
        Ok(key)
    }

    async fn load_recipients_unchecked(&self, oin: &Oin) -> Result<Vec<RecipientKey>, StoreError> {
        fetch!(
            self,
            fetch_all,
            RecipientRecord,
            "recipient key",
            SELECT_RECIPIENTS,
            [oin.as_str()]
        )
    }

    /// Revokes a recipient key; revoking twice keeps the first time.
    #[tracing::instrument(name = "store.revoke_recipient", skip_all)]
    pub async fn revoke_recipient(
        &self,
        key_id: Uuid,
        now: Timestamp,
        audit: Entry,
    ) -> Result<RecipientKey, StoreError> {
        let _changing = self.directory.changing();
        let key = audited_write!(self, "recipient key", audit, now, rows = [(RowTable::RECIPIENT_KEY, key_id)], tx => async {
            let done = sqlx::query(REVOKE_RECIPIENT)
                .bind(key_id.to_string())
                .bind(millis(now))
                .execute(&mut *tx)
                .await
                .map_err(|e| StoreError::from_sqlx("recipient key", e))?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound("recipient key"));
            }
            let key: Option<RecipientKey> = fetch!(
                tx tx,
                fetch_optional,
                RecipientRecord,
                "recipient key",
                SELECT_RECIPIENT,
                [key_id.to_string()]
            )?;
            key.ok_or(StoreError::NotFound("recipient key"))
        }.await);
        Ok(key)
    }

    /// Binds a client certificate to an organisation × function.
    #[tracing::instrument(name = "store.bind_certificate", skip_all)]
    pub async fn bind_certificate(
        &self,
        binding: &CertificateBinding,
        now: Timestamp,
        audit: Entry,
    ) -> Result<(), StoreError> {
        let _changing = self.directory.changing();
        audited_write!(self, "certificate binding", audit, now, tx => sqlx::query(INSERT_CERTIFICATE_BINDING)
            .bind(&binding.sha256)
            .bind(binding.oin.as_str())
            .bind(binding.function.as_str())
            .bind(millis(binding.not_after))
            .bind(millis(now))
            .execute(&mut *tx)
            .await
            .map(|r| r.rows_affected())
        .map_err(|e| StoreError::from_sqlx("certificate binding", e)));
        Ok(())
    }

    /// The binding of the certificate with this SHA-256 (lower-case hex).
    #[tracing::instrument(name = "store.certificate_binding", skip_all)]
    pub async fn certificate_binding(&self, sha256: &str) -> Result<Option<CertificateBinding>, StoreError> {
        if let Some(binding) = self.directory.get(sha256) {
            return Ok(binding);
        }
        let generation = self.directory.generation();
        let binding = self.load_certificate_binding(sha256).await?;
        self.directory.put(generation, sha256, binding.clone());
        Ok(binding)
    }

    async fn load_certificate_binding(&self, sha256: &str) -> Result<Option<CertificateBinding>, StoreError> {
        fetch!(
            self,
            fetch_optional,
            BindingRecord,
            "certificate binding",
            SELECT_CERTIFICATE_BINDING,
            [sha256]
        )
    }

    /// Removes a certificate binding ([`StoreError::NotFound`] if there is none).
    #[tracing::instrument(name = "store.unbind_certificate", skip_all)]
    pub async fn unbind_certificate(
        &self,
        sha256: &str,
        now: Timestamp,
        audit: Entry,
    ) -> Result<(), StoreError> {
        let _changing = self.directory.changing();
        audited_write!(self, "certificate binding", audit, now, tx => async {
            let n = sqlx::query(DELETE_CERTIFICATE_BINDING)
                .bind(sha256)
                .execute(&mut *tx)
                .await
                .map_err(|e| StoreError::from_sqlx("certificate binding", e))?
                .rows_affected();
            // Nothing removed, nothing to audit: the transaction rolls back.
            if n == 0 { Err(StoreError::NotFound("certificate binding")) } else { Ok(()) }
        }.await);
        Ok(())
    }
}

/// Reads, inside a write transaction, of the directory rows an audit entry
/// commits to (`row_commitments::commitments_in_tx`).
pub(crate) trait CommittedDirectoryRows {
    /// An age recipient key.
    async fn recipient_key_in_tx(&mut self, id: Uuid) -> Result<Option<RecipientKey>, StoreError>;
    /// A mandate.
    async fn mandate_in_tx(&mut self, id: Uuid) -> Result<Option<MandateRow>, StoreError>;
}

macro_rules! committed_directory_rows_for {
    ($conn:ty) => {
        impl CommittedDirectoryRows for $conn {
            async fn recipient_key_in_tx(&mut self, id: Uuid) -> Result<Option<RecipientKey>, StoreError> {
                fetch!(
                    tx self,
                    fetch_optional,
                    RecipientRecord,
                    "recipient key",
                    SELECT_RECIPIENT,
                    [id.to_string()]
                )
            }

            async fn mandate_in_tx(&mut self, id: Uuid) -> Result<Option<MandateRow>, StoreError> {
                fetch!(
                    tx self,
                    fetch_optional,
                    crate::records::MandateRecord,
                    "mandate",
                    crate::mandates::SELECT,
                    [id.to_string()]
                )
            }
        }
    };
}
committed_directory_rows_for!(sqlx::SqliteConnection);
committed_directory_rows_for!(sqlx::PgConnection);
