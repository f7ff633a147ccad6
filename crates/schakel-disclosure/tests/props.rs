//! Property tests against brute force: for random small tables, every table
//! a reader could hold consistent with what is published is enumerated, and
//! no hidden count may take a single value in all of them.
//!
//! The enumeration looks at tables within one of the true count in every
//! cell: any other consistent table differs from the true one by cycles of
//! unit changes (integer flows), so a count that can differ at all can
//! differ within that box — and the box keeps the search small and exact.

use proptest::prelude::*;
use schakel_disclosure::{
    NotLinked, Published, Quantity, Shown, Table, protect, protect_linked, unprotected, unprotected_linked,
};

fn bounds(s: Shown, threshold: u64) -> (u64, u64) {
    match s {
        Shown::Small => (0, threshold - 1),
        Shown::Suppressed => (threshold, u64::MAX),
        Shown::Value(v) => (v, v),
    }
}

fn fits(value: u64, s: Shown, threshold: u64) -> bool {
    let (lo, hi) = bounds(s, threshold);
    lo <= value && value <= hi
}

/// The hidden quantities that take one value only in every table
/// consistent with `p` (within one of the truth per cell).
fn determined_by_brute_force(t: &Table, p: &Published, threshold: u64) -> Vec<Quantity> {
    let (rows, cols) = (t.rows(), t.cols());
    let choices: Vec<Vec<u64>> = (0..rows * cols)
        .map(|i| {
            let (r, c) = (i / cols, i % cols);
            let v = t.cell(r, c);
            match p.cells[i] {
                Shown::Value(v) => vec![v],
                s => [v.wrapping_sub(1), v, v + 1]
                    .into_iter()
                    .filter(|&x| x <= v + 1 && fits(x, s, threshold))
                    .collect(),
            }
        })
        .collect();
    // Every quantity: the set of values seen in consistent tables.
    let mut seen: std::collections::BTreeMap<Quantity, std::collections::BTreeSet<u64>> = Default::default();
    let mut pick = vec![0usize; choices.len()];
    loop {
        let cells: Vec<u64> = pick.iter().zip(&choices).map(|(&k, c)| c[k]).collect();
        let alt = Table::new(rows, cols, cells).unwrap();
        let consistent = (0..rows).all(|r| fits(alt.row_total(r), p.row_totals[r], threshold))
            && (0..cols).all(|c| fits(alt.col_total(c), p.col_totals[c], threshold))
            && fits(alt.total(), p.total, threshold);
        if consistent {
            for r in 0..rows {
                for c in 0..cols {
                    seen.entry(Quantity::Cell(r, c))
                        .or_default()
                        .insert(alt.cell(r, c));
                }
                seen.entry(Quantity::RowTotal(r))
                    .or_default()
                    .insert(alt.row_total(r));
            }
            for c in 0..cols {
                seen.entry(Quantity::ColTotal(c))
                    .or_default()
                    .insert(alt.col_total(c));
            }
            seen.entry(Quantity::Total).or_default().insert(alt.total());
        }
        // Next combination.
        let mut i = 0;
        loop {
            if i == pick.len() {
                let hidden = |q: &Quantity| match *q {
                    Quantity::Cell(r, c) => p.cells[r * cols + c].is_hidden(),
                    Quantity::RowTotal(r) => p.row_totals[r].is_hidden(),
                    Quantity::ColTotal(c) => p.col_totals[c].is_hidden(),
                    Quantity::Total => p.total.is_hidden(),
                };
                return seen
                    .into_iter()
                    .filter(|(q, values)| hidden(q) && values.len() < 2)
                    .map(|(q, _)| q)
                    .collect();
            }
            pick[i] += 1;
            if pick[i] < choices[i].len() {
                break;
            }
            pick[i] = 0;
            i += 1;
        }
    }
}

fn table() -> impl Strategy<Value = (Table, u64)> {
    (1usize..=3, 1usize..=3, 3u64..=5).prop_flat_map(|(rows, cols, threshold)| {
        prop::collection::vec(0u64..=9, rows * cols)
            .prop_map(move |cells| (Table::new(rows, cols, cells).unwrap(), threshold))
    })
}

/// A publication of `t` hiding every small count and, where `extra` says
/// so, some others: what [`protect`] might have produced, or worse.
fn publication(t: &Table, threshold: u64, extra: &[bool]) -> Published {
    let mut k = 0;
    let mut show = |v: u64| {
        let hide = extra.get(k).copied().unwrap_or(false);
        k += 1;
        if v < threshold {
            Shown::Small
        } else if hide {
            Shown::Suppressed
        } else {
            Shown::Value(v)
        }
    };
    let mut cells = Vec::new();
    for r in 0..t.rows() {
        for c in 0..t.cols() {
            cells.push(show(t.cell(r, c)));
        }
    }
    let row_totals = (0..t.rows()).map(|r| show(t.row_total(r))).collect();
    let col_totals = (0..t.cols()).map(|c| show(t.col_total(c))).collect();
    let total = show(t.total());
    Published {
        cells,
        row_totals,
        col_totals,
        total,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// What `protect` publishes shows every count at or above the threshold
    /// truly, hides every count below it, and leaves no hidden count that a
    /// reader could work out.
    #[test]
    fn no_suppressed_count_can_be_recovered((t, threshold) in table()) {
        let p = protect(&t, threshold).expect("protectable");
        let check = publication(&t, threshold, &[]);
        for (got, plain) in [
            (&p.cells, &check.cells),
            (&p.row_totals, &check.row_totals),
            (&p.col_totals, &check.col_totals),
        ] {
            for (g, c) in got.iter().zip(plain) {
                match (g, c) {
                    (Shown::Small, Shown::Small) | (Shown::Suppressed, Shown::Value(_)) => {}
                    (Shown::Value(a), Shown::Value(b)) => prop_assert_eq!(a, b),
                    _ => prop_assert!(false, "{g:?} for {c:?}"),
                }
            }
        }
        prop_assert_eq!(determined_by_brute_force(&t, &p, threshold), Vec::<Quantity>::new());
        prop_assert!(unprotected(&t, &p, threshold).is_empty());
    }

    /// The exact check agrees with brute force on any publication, also
    /// ones that hide too little.
    #[test]
    fn the_check_is_exact(
        (t, threshold) in table(),
        extra in prop::collection::vec(any::<bool>(), 16),
    ) {
        let p = publication(&t, threshold, &extra);
        prop_assert_eq!(unprotected(&t, &p, threshold), determined_by_brute_force(&t, &p, threshold));
    }

    /// The same table always yields the same publication.
    #[test]
    fn publication_is_stable((t, threshold) in table()) {
        prop_assert_eq!(protect(&t, threshold), protect(&t.clone(), threshold));
    }
}

// ---- linked pairs: two tables of the same rows and row totals ----

/// A pair of tables of the same rows whose row totals agree: `b`'s last
/// column makes up each row's difference.
fn linked_pair() -> impl Strategy<Value = (Table, Table, u64)> {
    (1usize..=2, 1usize..=2, 1usize..=2, 3u64..=5).prop_flat_map(|(rows, ca, cb, threshold)| {
        (
            prop::collection::vec(0u64..=9, rows * ca),
            prop::collection::vec(0u64..=6, rows * cb),
        )
            .prop_filter_map("b cannot make up a row", move |(a_cells, mut b_cells)| {
                let a = Table::new(rows, ca, a_cells).unwrap();
                for r in 0..rows {
                    let others: u64 = b_cells[r * cb..r * cb + cb - 1].iter().sum();
                    b_cells[r * cb + cb - 1] = a.row_total(r).checked_sub(others)?;
                }
                Some((a, Table::new(rows, cb, b_cells).unwrap(), threshold))
            })
    })
}

/// The hidden counts of either table that take one value only in every
/// pair consistent with both publications (within one of the truth).
fn linked_determined_by_brute_force(
    a: &Table,
    b: &Table,
    pa: &Published,
    pb: &Published,
    threshold: u64,
) -> Vec<(usize, Quantity)> {
    let rows = a.rows();
    let (ca, cb) = (a.cols(), b.cols());
    let options = |t: &Table, p: &Published, i: usize, cols: usize| -> Vec<u64> {
        let v = t.cell(i / cols, i % cols);
        match p.cells[i] {
            Shown::Value(v) => vec![v],
            s => [v.wrapping_sub(1), v, v + 1]
                .into_iter()
                .filter(|&x| x <= v + 1 && fits(x, s, threshold))
                .collect(),
        }
    };
    let mut choices: Vec<Vec<u64>> = (0..rows * ca).map(|i| options(a, pa, i, ca)).collect();
    choices.extend((0..rows * cb).map(|i| options(b, pb, i, cb)));
    let mut seen: std::collections::BTreeMap<(usize, Quantity), std::collections::BTreeSet<u64>> =
        Default::default();
    let mut pick = vec![0usize; choices.len()];
    loop {
        let cells: Vec<u64> = pick.iter().zip(&choices).map(|(&k, c)| c[k]).collect();
        let alt_a = Table::new(rows, ca, cells[..rows * ca].to_vec()).unwrap();
        let alt_b = Table::new(rows, cb, cells[rows * ca..].to_vec()).unwrap();
        let consistent = (0..rows).all(|r| {
            alt_a.row_total(r) == alt_b.row_total(r) && fits(alt_a.row_total(r), pa.row_totals[r], threshold)
        }) && (0..ca).all(|c| fits(alt_a.col_total(c), pa.col_totals[c], threshold))
            && (0..cb).all(|c| fits(alt_b.col_total(c), pb.col_totals[c], threshold))
            && fits(alt_a.total(), pa.total, threshold);
        if consistent {
            for (k, (t, p)) in [(&alt_a, pa), (&alt_b, pb)].into_iter().enumerate() {
                for r in 0..rows {
                    for c in 0..t.cols() {
                        if p.cells[r * t.cols() + c].is_hidden() {
                            seen.entry((k, Quantity::Cell(r, c)))
                                .or_default()
                                .insert(t.cell(r, c));
                        }
                    }
                }
                for c in 0..t.cols() {
                    if p.col_totals[c].is_hidden() {
                        seen.entry((k, Quantity::ColTotal(c)))
                            .or_default()
                            .insert(t.col_total(c));
                    }
                }
            }
            for r in 0..rows {
                if pa.row_totals[r].is_hidden() {
                    seen.entry((0, Quantity::RowTotal(r)))
                        .or_default()
                        .insert(alt_a.row_total(r));
                }
            }
            if pa.total.is_hidden() {
                seen.entry((0, Quantity::Total))
                    .or_default()
                    .insert(alt_a.total());
            }
        }
        let mut i = 0;
        loop {
            if i == pick.len() {
                return seen
                    .into_iter()
                    .filter(|(_, values)| values.len() < 2)
                    .map(|(q, _)| q)
                    .collect();
            }
            pick[i] += 1;
            if pick[i] < choices[i].len() {
                break;
            }
            pick[i] = 0;
            i += 1;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(150))]

    /// A linked pair as `protect_linked` publishes it: every count shown is
    /// true, every small one hidden, the shared totals alike in both, and no
    /// hidden count of either can be worked out from both together — by the
    /// exact check and by brute force.
    #[test]
    fn no_count_of_a_linked_pair_can_be_recovered((a, b, threshold) in linked_pair()) {
        let (pa, pb) = protect_linked(&a, &b, threshold).expect("linked").expect("protectable");
        prop_assert_eq!(&pa.row_totals, &pb.row_totals);
        prop_assert_eq!(pa.total, pb.total);
        for (t, p) in [(&a, &pa), (&b, &pb)] {
            for (i, s) in p.cells.iter().enumerate() {
                let v = t.cell(i / t.cols(), i % t.cols());
                match s {
                    Shown::Value(x) => prop_assert_eq!(*x, v),
                    Shown::Small => prop_assert!(v < threshold),
                    Shown::Suppressed => prop_assert!(v >= threshold),
                }
            }
        }
        prop_assert_eq!(linked_determined_by_brute_force(&a, &b, &pa, &pb, threshold), Vec::new());
        prop_assert_eq!(unprotected_linked(&a, &b, (&pa, &pb), threshold).expect("linked"), Vec::new());
        // Protected apart, a pair can give a count away; together it cannot.
        prop_assert_eq!(protect_linked(&a, &b, threshold).expect("linked"), Some((pa, pb)));
    }

    /// The exact check of a pair agrees with brute force, also on
    /// publications that protect each table only on its own.
    #[test]
    fn the_linked_check_is_exact((a, b, threshold) in linked_pair()) {
        let (Ok(pa), Ok(pb)) = (protect(&a, threshold), protect(&b, threshold)) else {
            return Ok(());
        };
        // Give both the same view of the shared totals (the stricter one).
        let (mut pa, mut pb) = (pa, pb);
        for r in 0..a.rows() {
            if pa.row_totals[r].is_hidden() || pb.row_totals[r].is_hidden() {
                let s = if a.row_total(r) < threshold { Shown::Small } else { Shown::Suppressed };
                pa.row_totals[r] = s;
                pb.row_totals[r] = s;
            }
        }
        if pa.total.is_hidden() || pb.total.is_hidden() {
            let s = if a.total() < threshold { Shown::Small } else { Shown::Suppressed };
            pa.total = s;
            pb.total = s;
        }
        let mut exact = unprotected_linked(&a, &b, (&pa, &pb), threshold).expect("linked");
        exact.sort();
        prop_assert_eq!(exact, linked_determined_by_brute_force(&a, &b, &pa, &pb, threshold));
    }
}

#[test]
fn tables_with_other_row_totals_are_not_linked() {
    let a = Table::new(1, 2, vec![3, 4]).unwrap();
    let b = Table::new(1, 1, vec![8]).unwrap();
    assert_eq!(protect_linked(&a, &b, 5), Err(NotLinked));
}
