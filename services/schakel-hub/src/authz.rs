//! Which function may call which service. One table, read by the
//! authentication layer before every RPC (DESIGN.md §1, R9).

use schakel_domain::FunctionKind;

/// Services every caller may use once its certificate is verified, even
/// without a directory binding: gRPC health and reflection.
pub fn is_open_service(service: &str) -> bool {
    matches!(
        service,
        "grpc.health.v1.Health"
            | "grpc.reflection.v1.ServerReflection"
            | "grpc.reflection.v1alpha.ServerReflection"
    )
}

/// Whether a caller acting as `function` may call `service` (the full gRPC
/// service name, e.g. `schakel.v1.InboxService`). Unknown services are
/// refused.
pub fn may_call(service: &str, function: FunctionKind) -> bool {
    use FunctionKind as F;
    match service {
        // Public directory information: every registered party.
        "schakel.v1.DirectoryService" => true,
        // Registering organisations, keys and certificates: the operator only.
        "schakel.v1.AdminService" => function == F::Admin,
        // Consent is recorded by the senders that need it (R4, R13).
        "schakel.v1.ConsentService" => matches!(function, F::School | F::Doorstroompunt),
        // Sending handovers: schools (R4, R10), the Doorstroompunt (R5, R8)
        // and the gemeente's Participatiewet function, which hands a youth to
        // the Doorstroompunt for guidance back to school (R7). Which purpose
        // each may send under is the policy's to decide (R9).
        "schakel.v1.TransferService" => {
            matches!(function, F::School | F::Doorstroompunt | F::Participatiewet)
        }
        // Receiving: the gemeente's functions. A school never reads an inbox.
        "schakel.v1.InboxService" => matches!(function, F::Participatiewet | F::Doorstroompunt),
        // Expertise requests and advice between gemeente and Doorstroompunt (R7).
        "schakel.v1.ExpertiseService" => matches!(function, F::Participatiewet | F::Doorstroompunt),
        // The audit trail: privacy officers of the organisation (DESIGN.md §4).
        "schakel.v1.AuditService" => function == F::PrivacyOfficer,
        // The region's numbers: its regional partners only, who call nothing
        // else but the directory (R17).
        "schakel.v1.RegionService" => function == F::RegionalPartner,
        _ => false,
    }
}

/// Whether a caller acting as `function` may call `method` of `service`:
/// [`may_call`] for the service, narrowed for the RPCs only one of its
/// functions may use (R7: the gemeente's Participatiewet function asks for
/// expertise, the Doorstroompunt advises). Refused here, a call is refused
/// and audited like any other authorisation failure.
pub fn may_call_method(service: &str, method: &str, function: FunctionKind) -> bool {
    use FunctionKind as F;
    if !may_call(service, function) {
        return false;
    }
    match (service, method) {
        ("schakel.v1.ExpertiseService", "RequestExpertise") => function == F::Participatiewet,
        ("schakel.v1.ExpertiseService", "GiveAdvice") => function == F::Doorstroompunt,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVICES: [&str; 8] = [
        "schakel.v1.DirectoryService",
        "schakel.v1.AdminService",
        "schakel.v1.ConsentService",
        "schakel.v1.TransferService",
        "schakel.v1.InboxService",
        "schakel.v1.ExpertiseService",
        "schakel.v1.AuditService",
        "schakel.v1.RegionService",
    ];

    #[test]
    fn r7_only_participatiewet_asks_and_only_the_doorstroompunt_advises() {
        let s = "schakel.v1.ExpertiseService";
        assert!(may_call_method(
            s,
            "RequestExpertise",
            FunctionKind::Participatiewet
        ));
        assert!(!may_call_method(
            s,
            "RequestExpertise",
            FunctionKind::Doorstroompunt
        ));
        assert!(may_call_method(s, "GiveAdvice", FunctionKind::Doorstroompunt));
        assert!(!may_call_method(s, "GiveAdvice", FunctionKind::Participatiewet));
        assert!(!may_call_method(s, "GiveAdvice", FunctionKind::School));
        assert!(may_call_method(
            s,
            "ListExpertiseRequests",
            FunctionKind::Participatiewet
        ));
    }

    #[test]
    fn school_cannot_read_an_inbox() {
        assert!(!may_call("schakel.v1.InboxService", FunctionKind::School));
        assert!(may_call("schakel.v1.TransferService", FunctionKind::School));
    }

    #[test]
    fn only_admin_calls_admin() {
        for f in FunctionKind::ALL {
            assert_eq!(may_call("schakel.v1.AdminService", f), f == FunctionKind::Admin);
        }
    }

    #[test]
    fn admin_is_no_party_to_case_data() {
        for s in SERVICES
            .iter()
            .filter(|s| !s.ends_with("AdminService") && !s.ends_with("DirectoryService"))
        {
            assert!(!may_call(s, FunctionKind::Admin), "{s}");
        }
    }

    #[test]
    fn privacy_officer_only_reads_audit_and_directory() {
        for s in SERVICES {
            let expected = s.ends_with("AuditService") || s.ends_with("DirectoryService");
            assert_eq!(may_call(s, FunctionKind::PrivacyOfficer), expected, "{s}");
        }
    }

    #[test]
    fn unknown_service_is_refused() {
        for f in FunctionKind::ALL {
            assert!(!may_call("schakel.v2.Whatever", f));
        }
    }
}
