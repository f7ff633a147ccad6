//! `schakel`: the command line of the schakel hub for schools, gemeenten,
//! privacy officers and the hub operator. Human-readable output by default,
//! `--json` for scripts. Exit codes: 0 success, 1 refused or failed call,
//! 2 usage or local problem.

mod output;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use schakel_client::{Hub, Profile};
use schakel_proto::v1 as pb;

use output::{Out, print_organisation, status_message};

/// Talk to a schakel hub.
#[derive(Debug, Parser)]
#[command(name = "schakel", version, about)]
struct Cli {
    /// Profile directory (profile.toml, certificate, key, CA).
    #[arg(long, env = "SCHAKEL_PROFILE", global = true)]
    profile: Option<PathBuf>,
    /// Override the hub address of the profile, e.g. https://localhost:7443.
    #[arg(long, env = "SCHAKEL_HUB", global = true)]
    hub: Option<String>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show who this profile's certificate is: organisation, function, keys.
    Whoami,
    /// Look up an organisation by OIN, gemeentecode or BRIN.
    Org {
        /// OIN (20 digits), gemeentecode (GM0363) or BRIN (01AB).
        key: String,
    },
    /// List registered organisations (the public directory).
    Orgs {
        /// Only this kind.
        #[arg(long, value_enum)]
        kind: Option<Kind>,
        /// Also deactivated organisations.
        #[arg(long)]
        include_inactive: bool,
    },
    /// Show the arbeidsmarktregio and Doorstroompuntregio of a gemeente.
    Region {
        /// Gemeentecode, e.g. GM0014.
        gemeentecode: String,
    },
    /// Hub operator commands (the admin profile only).
    #[command(subcommand)]
    Admin(AdminCommand),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Kind {
    ProSchool,
    VsoSchool,
    MboSchool,
    Gemeente,
    Admin,
}

impl Kind {
    fn pb(self) -> pb::OrgKind {
        match self {
            Self::ProSchool => pb::OrgKind::ProSchool,
            Self::VsoSchool => pb::OrgKind::VsoSchool,
            Self::MboSchool => pb::OrgKind::MboSchool,
            Self::Gemeente => pb::OrgKind::Gemeente,
            Self::Admin => pb::OrgKind::Admin,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Function {
    School,
    Doorstroompunt,
    Participatiewet,
    PrivacyOfficer,
    Admin,
}

impl Function {
    fn pb(self) -> i32 {
        (match self {
            Self::School => pb::FunctionKind::School,
            Self::Doorstroompunt => pb::FunctionKind::Doorstroompunt,
            Self::Participatiewet => pb::FunctionKind::Participatiewet,
            Self::PrivacyOfficer => pb::FunctionKind::PrivacyOfficer,
            Self::Admin => pb::FunctionKind::Admin,
        }) as i32
    }
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Register an organisation. A gemeente's regions come from the region table.
    RegisterOrg {
        /// OIN, 20 digits.
        #[arg(long)]
        oin: String,
        /// Kind of organisation.
        #[arg(long, value_enum)]
        kind: Kind,
        /// Name.
        #[arg(long)]
        name: String,
        /// BRIN code (schools).
        #[arg(long, default_value = "")]
        brin: String,
        /// CBS gemeentecode (gemeenten).
        #[arg(long, default_value = "")]
        gemeentecode: String,
        /// Doorstroompuntregio code (schools).
        #[arg(long, default_value = "")]
        doorstroompunt_regio: String,
        /// Arbeidsmarktregio code (schools).
        #[arg(long, default_value = "")]
        arbeidsmarktregio: String,
    },
    /// Change an organisation; only the options given change.
    UpdateOrg {
        /// OIN of the organisation.
        #[arg(long)]
        oin: String,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        /// New BRIN code.
        #[arg(long)]
        brin: Option<String>,
        /// New gemeentecode.
        #[arg(long)]
        gemeentecode: Option<String>,
        /// New Doorstroompuntregio (schools).
        #[arg(long)]
        doorstroompunt_regio: Option<String>,
        /// New arbeidsmarktregio (schools).
        #[arg(long)]
        arbeidsmarktregio: Option<String>,
        /// Activate (true) or deactivate (false).
        #[arg(long)]
        active: Option<bool>,
    },
    /// Give an organisation a function.
    AddFunction {
        /// OIN of the organisation.
        #[arg(long)]
        oin: String,
        /// The function.
        #[arg(long, value_enum)]
        function: Function,
    },
    /// Register an age X25519 recipient for a function.
    RegisterKey {
        /// OIN of the organisation.
        #[arg(long)]
        oin: String,
        /// The function.
        #[arg(long, value_enum)]
        function: Function,
        /// The age1… recipient.
        #[arg(long)]
        recipient: String,
    },
    /// Revoke an age recipient; it is never used again.
    RevokeKey {
        /// The key id (UUID).
        key_id: String,
    },
    /// Bind a client certificate to an organisation's function.
    BindCert {
        /// OIN of the organisation (must equal the certificate's serialNumber).
        #[arg(long)]
        oin: String,
        /// The function the certificate acts as.
        #[arg(long, value_enum)]
        function: Function,
        /// PEM certificate file.
        #[arg(long)]
        cert: PathBuf,
    },
    /// Remove a certificate binding.
    UnbindCert {
        /// Hex SHA-256 of the certificate.
        sha256: String,
    },
}

async fn connect(cli: &Cli) -> anyhow::Result<Hub> {
    let dir = cli
        .profile
        .as_ref()
        .context("give --profile DIR (or set SCHAKEL_PROFILE)")?;
    let mut profile = Profile::load(dir)?;
    if let Some(hub) = &cli.hub {
        profile = profile.with_hub(hub.clone());
    }
    Ok(profile.connect().await?)
}

/// Runs the command; `Ok(Err(status))` is a call the hub refused.
async fn run(cli: Cli, out: &mut Out) -> anyhow::Result<Result<(), tonic::Status>> {
    let hub = connect(&cli).await?;
    let result = match cli.command {
        Command::Whoami => match hub.directory().who_am_i(pb::WhoAmIRequest {}).await {
            Ok(r) => {
                out.whoami(&r.into_inner());
                Ok(())
            }
            Err(s) => Err(s),
        },
        Command::Org { key } => {
            use pb::get_organisation_request::Key;
            let key = if key.starts_with("GM") {
                Key::Gemeentecode(key)
            } else if key.len() == 4 {
                Key::Brin(key)
            } else {
                Key::Oin(key)
            };
            hub.directory()
                .get_organisation(pb::GetOrganisationRequest { key: Some(key) })
                .await
                .map(|r| print_organisation(out, r.into_inner().organisation.as_ref()))
        }
        Command::Region { gemeentecode } => hub
            .directory()
            .get_region(pb::GetRegionRequest { gemeentecode })
            .await
            .map(|r| out.region(&r.into_inner())),
        Command::Orgs {
            kind,
            include_inactive,
        } => list_organisations(&hub, kind, include_inactive, out).await,
        Command::Admin(cmd) => admin(&hub, cmd, out).await?,
    };
    Ok(result)
}

async fn list_organisations(
    hub: &Hub,
    kind: Option<Kind>,
    include_inactive: bool,
    out: &mut Out,
) -> Result<(), tonic::Status> {
    let mut all = Vec::new();
    let mut page_token = String::new();
    loop {
        let req = pb::ListOrganisationsRequest {
            kind: kind.map(|k| k.pb() as i32).unwrap_or(0),
            include_inactive,
            page_size: 200,
            page_token: page_token.clone(),
            ..Default::default()
        };
        let r = hub.directory().list_organisations(req).await?.into_inner();
        all.extend(r.organisations);
        if r.next_page_token.is_empty() {
            break;
        }
        page_token = r.next_page_token;
    }
    out.organisations(&all);
    Ok(())
}

async fn admin(hub: &Hub, cmd: AdminCommand, out: &mut Out) -> anyhow::Result<Result<(), tonic::Status>> {
    let mut admin = hub.admin();
    let r = match cmd {
        AdminCommand::RegisterOrg {
            oin,
            kind,
            name,
            brin,
            gemeentecode,
            doorstroompunt_regio,
            arbeidsmarktregio,
        } => {
            let req = pb::RegisterOrganisationRequest {
                oin,
                kind: kind.pb() as i32,
                name,
                brin,
                gemeentecode,
                doorstroompunt_regio,
                arbeidsmarktregio,
            };
            admin
                .register_organisation(req)
                .await
                .map(|r| print_organisation(out, r.into_inner().organisation.as_ref()))
        }
        AdminCommand::UpdateOrg {
            oin,
            name,
            brin,
            gemeentecode,
            doorstroompunt_regio,
            arbeidsmarktregio,
            active,
        } => {
            let req = pb::UpdateOrganisationRequest {
                oin,
                name,
                brin,
                gemeentecode,
                doorstroompunt_regio,
                arbeidsmarktregio,
                active,
            };
            admin
                .update_organisation(req)
                .await
                .map(|r| print_organisation(out, r.into_inner().organisation.as_ref()))
        }
        AdminCommand::AddFunction { oin, function } => admin
            .add_function(pb::AddFunctionRequest {
                oin,
                function: function.pb(),
            })
            .await
            .map(|r| print_organisation(out, r.into_inner().organisation.as_ref())),
        AdminCommand::RegisterKey {
            oin,
            function,
            recipient,
        } => {
            let req = pb::RegisterRecipientRequest {
                oin,
                function: function.pb(),
                age_recipient: recipient,
                valid_from: None,
                valid_until: None,
            };
            admin
                .register_recipient(req)
                .await
                .map(|r| out.recipient(r.into_inner().recipient.as_ref()))
        }
        AdminCommand::RevokeKey { key_id } => admin
            .revoke_recipient(pb::RevokeRecipientRequest { key_id })
            .await
            .map(|r| out.recipient(r.into_inner().recipient.as_ref())),
        AdminCommand::BindCert { oin, function, cert } => {
            let certificate_pem =
                std::fs::read_to_string(&cert).with_context(|| format!("reading {}", cert.display()))?;
            admin
                .bind_certificate(pb::BindCertificateRequest {
                    oin,
                    function: function.pb(),
                    certificate_pem,
                })
                .await
                .map(|r| out.line("certificate_sha256", &r.into_inner().certificate_sha256))
        }
        AdminCommand::UnbindCert { sha256 } => admin
            .unbind_certificate(pb::UnbindCertificateRequest {
                certificate_sha256: sha256.clone(),
            })
            .await
            .map(|_| out.line("unbound", &sha256)),
    };
    Ok(r)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut out = Out::new(cli.json);
    match run(cli, &mut out).await {
        Ok(Ok(())) => {
            out.flush();
            ExitCode::SUCCESS
        }
        Ok(Err(status)) => {
            eprint!("{}", status_message(&status));
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("schakel: {e:#}");
            ExitCode::from(2)
        }
    }
}
