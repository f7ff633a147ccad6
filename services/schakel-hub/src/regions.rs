//! The region table: gemeente → arbeidsmarktregio and Doorstroompuntregio.
//! Loaded from a CSV file the operator can replace (data/regions/README.md).

use std::collections::BTreeMap;

use schakel_domain::GemeenteCode;

/// The regions of one gemeente.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GemeenteRegions {
    /// CBS gemeentecode.
    pub gemeentecode: GemeenteCode,
    /// Name as in the table.
    pub gemeentenaam: String,
    /// Arbeidsmarktregio code, e.g. `AM01`.
    pub am_code: String,
    /// Arbeidsmarktregio name.
    pub am_naam: String,
    /// Doorstroompuntregio (RMC) code as DUO numbers them, e.g. `03`.
    pub rmc_code: String,
    /// Doorstroompuntregio name.
    pub rmc_naam: String,
}

/// Why the region table was refused.
#[derive(Debug, thiserror::Error)]
pub enum RegionError {
    /// A row could not be read.
    #[error("region table line {line}: {reason}")]
    Row {
        /// 1-based line number in the file.
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// The header does not name the expected columns.
    #[error("region table header must start with {expected}")]
    Header {
        /// The expected header.
        expected: &'static str,
    },
}

/// All gemeenten of the table, by code.
#[derive(Debug, Clone, Default)]
pub struct RegionTable {
    by_code: BTreeMap<String, GemeenteRegions>,
    am_names: BTreeMap<String, String>,
    rmc_names: BTreeMap<String, String>,
}

const HEADER: &str =
    "gemeentecode,gemeentenaam,am_code,arbeidsmarktregio,rmc_regio_code_duo,rmc_regio_naam_duo";

/// The table shipped with schakel (data/regions/).
pub const BUILTIN_CSV: &str = include_str!("../../../data/regions/gemeente_am_rmc_2026_derived.csv");

impl RegionTable {
    /// Parses the CSV text; every row must be complete and every code valid.
    pub fn parse(csv_text: &str) -> Result<Self, RegionError> {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(csv_text.as_bytes());
        let header = rdr.headers().map_err(|e| RegionError::Row {
            line: 1,
            reason: e.to_string(),
        })?;
        if !header.iter().collect::<Vec<_>>().join(",").starts_with(HEADER) {
            return Err(RegionError::Header { expected: HEADER });
        }
        let mut table = Self::default();
        for rec in rdr.records() {
            let rec = rec.map_err(|e| RegionError::Row {
                line: e.position().map(|p| p.line()).unwrap_or(0),
                reason: e.to_string(),
            })?;
            let line = rec.position().map(|p| p.line()).unwrap_or(0);
            let field = |i: usize, name: &str| -> Result<String, RegionError> {
                let v = rec.get(i).unwrap_or("").trim();
                if v.is_empty() {
                    return Err(RegionError::Row {
                        line,
                        reason: format!("{name} is empty"),
                    });
                }
                Ok(v.to_owned())
            };
            let code = field(0, "gemeentecode")?;
            let gemeentecode: GemeenteCode =
                code.parse()
                    .map_err(|e: schakel_domain::DomainError| RegionError::Row {
                        line,
                        reason: e.to_string(),
                    })?;
            let row = GemeenteRegions {
                gemeentecode,
                gemeentenaam: field(1, "gemeentenaam")?,
                am_code: field(2, "am_code")?,
                am_naam: field(3, "arbeidsmarktregio")?,
                rmc_code: field(4, "rmc_regio_code_duo")?,
                rmc_naam: field(5, "rmc_regio_naam_duo")?,
            };
            table.am_names.insert(row.am_code.clone(), row.am_naam.clone());
            table.rmc_names.insert(row.rmc_code.clone(), row.rmc_naam.clone());
            if table.by_code.insert(code, row).is_some() {
                return Err(RegionError::Row {
                    line,
                    reason: "gemeentecode appears twice".into(),
                });
            }
        }
        Ok(table)
    }

    /// The regions of a gemeente.
    pub fn get(&self, code: &GemeenteCode) -> Option<&GemeenteRegions> {
        self.by_code.get(code.as_str())
    }

    /// The name of an arbeidsmarktregio code.
    pub fn am_name(&self, code: &str) -> Option<&str> {
        self.am_names.get(code).map(String::as_str)
    }

    /// The name of a Doorstroompuntregio code.
    pub fn rmc_name(&self, code: &str) -> Option<&str> {
        self.rmc_names.get(code).map(String::as_str)
    }

    /// Number of gemeenten.
    pub fn len(&self) -> usize {
        self.by_code.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.by_code.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_table_has_342_gemeenten_in_35_am_and_40_rmc_regions() {
        let t = RegionTable::parse(BUILTIN_CSV).unwrap();
        assert_eq!(t.len(), 342);
        assert_eq!(t.am_names.len(), 35);
        assert_eq!(t.rmc_names.len(), 40);
        let gr = t.get(&"GM0014".parse().unwrap()).unwrap();
        assert_eq!(gr.am_code, "AM01");
        assert_eq!(gr.rmc_code, "03");
    }

    #[test]
    fn bad_rows_name_their_line() {
        let csv =
            format!("{HEADER},opmerking\nGM0014,GRONINGEN,AM01,Groningen,03,X,\nGM14,BAD,AM01,G,03,X,\n");
        let e = RegionTable::parse(&csv).unwrap_err();
        assert!(e.to_string().contains("line 3"), "{e}");
        let dup = format!("{HEADER}\nGM0014,A,AM01,G,03,X\nGM0014,A,AM01,G,03,X\n");
        assert!(
            RegionTable::parse(&dup)
                .unwrap_err()
                .to_string()
                .contains("twice")
        );
        assert!(matches!(
            RegionTable::parse("a,b\n1,2\n"),
            Err(RegionError::Header { .. })
        ));
    }
}
