//! Realistic documents: the full overgangsdocument of
//! `docs/examples/overgangsdocument.json`, a minimal one, and a large one.

use schakel_proto::v1 as pb;

/// The gemeente's OIN in the demo region.
pub const GEMEENTE_OIN: &str = "00000001999990014000";
/// The purpose every benchmark transfer is sent under.
pub const PURPOSE: &str = "handover.school_to_gemeente";

/// Document sizes measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocSize {
    /// Identity and three short groups (the end-to-end tests' document).
    Small,
    /// The full overgangsdocument of the documentation (all eight groups).
    Full,
    /// The full document with long free texts (about 16 KiB).
    Large,
}

impl DocSize {
    /// Short name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Small => "small",
            Self::Full => "full",
            Self::Large => "large",
        }
    }
}

/// The `n`-th fictitious test BSN (9999xxxxx, passing the elfproef);
/// distinct for `n` below about 8,000.
pub fn bsn(n: u32) -> String {
    let mut seen = 0;
    for k in 0..10_000u32 {
        let body = format!("9999{k:04}");
        let sum: u32 = body
            .bytes()
            .enumerate()
            .map(|(i, b)| (9 - i as u32) * u32::from(b - b'0'))
            .sum();
        let check = sum % 11;
        if check < 10 {
            if seen == n {
                return format!("{body}{check}");
            }
            seen += 1;
        }
    }
    "999990019".into()
}

fn date(d: jiff::civil::Date) -> Option<pb::Date> {
    Some(pb::Date {
        year: i32::from(d.year()),
        month: i32::from(d.month()),
        day: i32::from(d.day()),
    })
}

fn ago(years: i16, days: i64) -> jiff::civil::Date {
    let today = schakel_domain::dates::amsterdam_date(jiff::Timestamp::now())
        .unwrap_or(jiff::civil::date(2026, 11, 27));
    today
        .checked_sub(jiff::Span::new().years(years))
        .and_then(|d| d.checked_sub(jiff::Span::new().days(days)))
        .unwrap_or(today)
}

fn group(name: &str, fields: &[(&str, String)]) -> pb::FieldGroup {
    pb::FieldGroup {
        name: name.into(),
        fields: fields
            .iter()
            .map(|(k, v)| pb::Field {
                key: (*k).into(),
                value: v.clone(),
            })
            .collect(),
    }
}

/// A text of about `len` characters (Dutch-looking, no personal data).
fn text(seed: &str, len: usize) -> String {
    let mut s = String::from(seed);
    while s.len() < len {
        s.push_str(" Afspraken worden schriftelijk vastgelegd en maandelijks besproken.");
    }
    s.truncate(len);
    s
}

/// The field groups of a document for the youth with `bsn`.
pub fn groups(size: DocSize, bsn: &str) -> Vec<pb::FieldGroup> {
    let born = ago(19, 30).to_string();
    let left = ago(0, 60).to_string();
    let s = |v: &str| v.to_owned();
    if size == DocSize::Small {
        return vec![
            group(
                "identity",
                &[
                    ("bsn", s(bsn)),
                    ("date_of_birth", born),
                    ("given_names", s("Quirijntje")),
                    ("surname", s("Testpersoon")),
                ],
            ),
            group(
                "contact.youth",
                &[("postcode", s("9711 AB")), ("city", s("Groningen"))],
            ),
            group(
                "school_career",
                &[("programme_crebo", s("25180")), ("diploma_level", s("mbo_2"))],
            ),
            group(
                "wishes",
                &[("desired_work", s("Monteur in de installatietechniek"))],
            ),
        ];
    }
    let long = |seed: &str, short: usize| {
        if size == DocSize::Large {
            text(seed, 1_800)
        } else {
            text(seed, short)
        }
    };
    vec![
        group(
            "identity",
            &[
                ("bsn", s(bsn)),
                ("given_names", s("Jip")),
                ("surname_prefix", s("van der")),
                ("surname", s("Testjongere")),
                ("date_of_birth", born),
            ],
        ),
        group(
            "contact.youth",
            &[
                ("street_address", s("Voorbeeldstraat 12")),
                ("postcode", s("9711 AB")),
                ("city", s("Groningen")),
                ("phone", s("06-12345678")),
                ("email", s("jip.testjongere@example.org")),
            ],
        ),
        group(
            "contact.school",
            &[
                ("school_name", s("ROC Demo Groningen")),
                ("brin", s("99XA")),
                ("contact_person", s("M. Voorbeeld (loopbaanbegeleider)")),
                ("contact_phone", s("050-1234567")),
                ("contact_email", s("loopbaanbegeleiding@roc-demo.example")),
                ("mentor", s("A. Testmentor")),
            ],
        ),
        group(
            "school_career",
            &[
                ("school_type", s("mbo")),
                ("programme_crebo", s("25255")),
                ("level", s("2")),
                ("track", s("bbl")),
                ("start_date", ago(2, 0).to_string()),
                ("leave_date", left.clone()),
                ("diploma_level", s("mbo_2")),
                ("diploma_date", left),
                ("startkwalificatie", s("true")),
                (
                    "return_to_education",
                    long(
                        "Niet aan de orde: de jongere heeft een diploma op niveau 2 (startkwalificatie) en wil aan het werk.",
                        220,
                    ),
                ),
            ],
        ),
        group(
            "skills",
            &[
                (
                    "skills",
                    long(
                        "Werkt nauwkeurig, houdt zich aan afspraken, betrouwbaar in ploegendienst",
                        160,
                    ),
                ),
                (
                    "work_experience",
                    long("Bbl-baan bij een groothandel, 18 maanden, 24 uur per week", 150),
                ),
                ("internships", s("Magazijn van een distributiecentrum (2025)")),
                ("certificates", s("VCA Basis")),
                ("certificates", s("Heftruckcertificaat")),
            ],
        ),
        group(
            "wishes",
            &[
                ("desired_work", s("Orderpicker of magazijnmedewerker")),
                ("sector", s("Logistiek")),
                ("hours_per_week", s("32")),
            ],
        ),
        group(
            "support_needs",
            &[
                (
                    "functional_needs",
                    long(
                        "Werkt het best met een vaste contactpersoon en duidelijke schriftelijke werkinstructies",
                        220,
                    ),
                ),
                ("job_coach", s("true")),
                ("workplace_adjustments", s("Vaste werktijden")),
                (
                    "guidance",
                    long("De eerste drie maanden wekelijks contact met een jobcoach", 160),
                ),
            ],
        ),
        group(
            "development",
            &[
                (
                    "options",
                    long("Kan doorgroeien naar niveau 3 naast het werk", 120),
                ),
                ("leerwerktraject", s("Medewerker logistiek niveau 3 (bbl)")),
                ("ontwikkelpad", s("Sectoraal ontwikkelpad logistiek")),
            ],
        ),
    ]
}

/// The group names of a document (for the consent's scope).
pub fn group_names(size: DocSize) -> Vec<String> {
    groups(size, &bsn(0)).into_iter().map(|g| g.name).collect()
}

/// The youth's facts: an mbo student with a diploma two months ago, 19.
pub fn subject(bsn: &str) -> pb::SubjectFacts {
    pb::SubjectFacts {
        bsn: bsn.into(),
        date_of_birth: date(ago(19, 30)),
        school_type: pb::SchoolType::Mbo as i32,
        leaving_date: date(ago(0, 60)),
        diploma_date: date(ago(0, 60)),
        startkwalificatie: pb::Startkwalificatie::Achieved as i32,
        ..Default::default()
    }
}

/// The recipient: the demo gemeente's Participatiewet function.
pub fn recipient() -> Option<pb::PartyRef> {
    Some(pb::PartyRef {
        oin: GEMEENTE_OIN.into(),
        function: pb::FunctionKind::Participatiewet as i32,
    })
}

/// Consent of the (adult) youth for every group of a `size` document.
pub fn consent(bsn: &str, key: &str, size: DocSize) -> pb::RecordConsentRequest {
    pb::RecordConsentRequest {
        idempotency_key: key.into(),
        status: pb::ConsentStatus::Given as i32,
        subject: Some(pb::ConsentSubject {
            bsn: bsn.into(),
            date_of_birth: date(ago(19, 30)),
        }),
        giver: pb::ConsentGiver::Youth as i32,
        scope: Some(pb::ConsentScope {
            purpose: PURPOSE.into(),
            recipient: recipient(),
            groups: group_names(size),
        }),
        method: pb::ConsentMethod::Digital as i32,
        ..Default::default()
    }
}

/// A handover of a `size` document (key filled in per call).
pub fn handover(bsn: &str, consent_id: &str, size: DocSize) -> pb::SubmitRequest {
    pb::SubmitRequest {
        idempotency_key: String::new(),
        purpose: PURPOSE.into(),
        recipient: recipient(),
        subject: Some(subject(bsn)),
        groups: groups(size, bsn),
        consent_id: consent_id.into(),
        return_to_education: pb::ReturnToEducation::NotPossible as i32,
        client_reference: "dossier-A17".into(),
        ..Default::default()
    }
}

/// The groups as the hub seals them (plaintext documents per group).
pub fn plaintexts(size: DocSize) -> Vec<schakel_crypto::GroupPlaintext> {
    groups(size, &bsn(0))
        .into_iter()
        .map(|g| schakel_crypto::GroupPlaintext {
            group: g.name,
            fields: g
                .fields
                .into_iter()
                .map(|f| schakel_crypto::PlainField {
                    key: f.key,
                    value: f.value,
                })
                .collect(),
        })
        .collect()
}
