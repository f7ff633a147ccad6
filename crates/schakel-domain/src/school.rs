//! School types, vso exit profiles and diploma levels (domain.md §2).

use crate::text_enum::text_enum;

text_enum! {
    /// The type of school a youth attends or attended (`school_career.school_type`).
    ///
    /// hbo and wo are listed so a request can *say* the youth is a student there;
    /// they are never senders of a school-initiated transfer (R18, R21). The
    /// same holds for regular secondary education (vo): a former vmbo, havo or
    /// vwo pupil without startkwalificatie is the Doorstroompunt's, but no vo
    /// school hands a youth over under this law (R4).
    pub enum SchoolType: "school_career.school_type" {
        /// Regular *voortgezet onderwijs* (vmbo, havo, vwo).
        Vo = "vo",
        /// *Praktijkonderwijs*.
        Pro = "pro",
        /// *Voortgezet speciaal onderwijs*.
        Vso = "vso",
        /// *Middelbaar beroepsonderwijs*.
        Mbo = "mbo",
        /// *Hoger beroepsonderwijs* (university of applied sciences).
        Hbo = "hbo",
        /// *Wetenschappelijk onderwijs* (university).
        Wo = "wo",
    }
}

impl SchoolType {
    /// Whether a school of this type may initiate a transfer under the school
    /// purposes (R4, R10). hbo/wo students ask the gemeente themselves (R18).
    pub const fn may_initiate_transfer(self) -> bool {
        matches!(self, Self::Pro | Self::Vso | Self::Mbo)
    }
}

text_enum! {
    /// The *uitstroomprofiel* of a vso pupil (`school_career.vso_exit_profile`).
    pub enum VsoExitProfile: "school_career.vso_exit_profile" {
        /// Towards further education (e.g. mbo); can obtain a startkwalificatie.
        Vervolgonderwijs = "vervolgonderwijs",
        /// Towards the labour market.
        Arbeidsmarkt = "arbeidsmarkt",
        /// Towards day activities (*dagbesteding*).
        Dagbesteding = "dagbesteding",
    }
}

impl VsoExitProfile {
    /// R19: pupils leaving vso with exit profile arbeidsmarkt or dagbesteding
    /// cannot become a *voortijdig schoolverlater* (vsv'er): they generally
    /// cannot obtain a startkwalificatie and the qualification duty does not
    /// apply to them, so the vso school stays responsible (seed 003, *Overig*).
    pub const fn can_become_vsv(self) -> bool {
        matches!(self, Self::Vervolgonderwijs)
    }
}

text_enum! {
    /// The level of the highest diploma obtained (`school_career.diploma_level`).
    pub enum DiplomaLevel: "school_career.diploma_level" {
        /// vmbo (any track): not a startkwalificatie.
        Vmbo = "vmbo",
        /// havo: a startkwalificatie.
        Havo = "havo",
        /// vwo: a startkwalificatie.
        Vwo = "vwo",
        /// mbo level 1, *entree*: **not** a startkwalificatie.
        MboEntree = "mbo_1",
        /// mbo level 2: a startkwalificatie.
        Mbo2 = "mbo_2",
        /// mbo level 3: a startkwalificatie.
        Mbo3 = "mbo_3",
        /// mbo level 4: a startkwalificatie.
        Mbo4 = "mbo_4",
        /// hbo bachelor or associate degree.
        Hbo = "hbo",
        /// wo bachelor or master.
        Wo = "wo",
    }
}

impl DiplomaLevel {
    /// Whether this diploma is (or implies) a *startkwalificatie*: havo, vwo or
    /// mbo 2, 3 or 4. mbo 1 (entree) and vmbo are not. An hbo or wo diploma is
    /// counted as one: admission to it required havo, vwo or mbo 4, or the
    /// higher diploma itself qualifies the youth beyond the minimum (interpretation).
    pub const fn is_startkwalificatie(self) -> bool {
        matches!(
            self,
            Self::Havo | Self::Vwo | Self::Mbo2 | Self::Mbo3 | Self::Mbo4 | Self::Hbo | Self::Wo
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn startkwalificatie_levels() {
        use DiplomaLevel as D;
        for d in [D::Havo, D::Vwo, D::Mbo2, D::Mbo3, D::Mbo4] {
            assert!(d.is_startkwalificatie(), "{d}");
        }
        for d in [D::MboEntree, D::Vmbo] {
            assert!(!d.is_startkwalificatie(), "{d}");
        }
    }

    #[test]
    fn parse_errors_name_the_field() {
        assert_eq!(
            "mbo1".parse::<DiplomaLevel>().unwrap_err().field,
            "school_career.diploma_level"
        );
        assert_eq!(
            "x".parse::<SchoolType>().unwrap_err().field,
            "school_career.school_type"
        );
        assert_eq!(
            VsoExitProfile::try_from("werk").unwrap_err().field,
            "school_career.vso_exit_profile"
        );
        for t in SchoolType::ALL {
            assert_eq!(t.as_str().parse::<SchoolType>().unwrap(), *t);
        }
    }

    #[test]
    fn r18_hbo_wo_never_initiate() {
        assert!(!SchoolType::Hbo.may_initiate_transfer());
        assert!(!SchoolType::Wo.may_initiate_transfer());
        assert!(SchoolType::Vso.may_initiate_transfer());
    }

    #[test]
    fn r19_only_vervolgonderwijs_can_become_vsv() {
        assert!(VsoExitProfile::Vervolgonderwijs.can_become_vsv());
        assert!(!VsoExitProfile::Arbeidsmarkt.can_become_vsv());
        assert!(!VsoExitProfile::Dagbesteding.can_become_vsv());
    }
}
