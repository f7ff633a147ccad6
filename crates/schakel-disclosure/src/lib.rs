//! Statistical disclosure control of the regional numbers (domain.md §7,
//! R13, R17): a two-way table of counts — e.g. handovers by gemeente and by
//! kind of sender, with its row, column and grand totals — published so that
//! no count below a threshold can be worked out from what is shown.
//!
//! Pure logic, no I/O. The anchors are the statistical offices' tools
//! (τ-ARGUS, sdcMicro, R `GaussSuppression`); this crate does what they call
//! primary and complementary (secondary) cell suppression, with an exact
//! check instead of a heuristic one:
//!
//! - **Primary suppression**: every count — cell or total — below the
//!   threshold is hidden and shown as [`Shown::Small`] (`<5`).
//! - **The attacker's view**: what is published, plus that a [`Shown::Small`]
//!   count lies in `0..threshold` and a [`Shown::Suppressed`] one (hidden to
//!   protect another) in `threshold..`. A table with its margins is a flow
//!   network (source → row → column → sink → source; every count an edge,
//!   every total the sum of its cells), so the counts consistent with what
//!   is published are the integer flows within those bounds. A hidden count
//!   can be worked out exactly when no other such flow gives it another
//!   value — that is, when no cycle of hidden edges in the residual network
//!   passes through it ([`unprotected`]). This is exact for integer counts:
//!   any other consistent table differs from the true one by such cycles.
//! - **Complementary suppression**: while a hidden count can be worked out,
//!   hide one more published count — the one that protects most, then a cell
//!   before a total, then the smallest value, then the first — and check
//!   again ([`protect`]). The choice depends only on the table, so the same
//!   period always yields the same published table.
//!
//! **Linked tables.** Two tables of the same rows whose row totals are the
//! same counts — handovers per gemeente by kind of sender, and the same
//! handovers per gemeente by outcome — are one flow network too: the first
//! table's cells flow from its columns into each row, the row total flows
//! through the row, and the second table's cells flow out of it to its
//! columns ([`protect_linked`], [`unprotected_linked`]). Hiding each table on
//! its own would not do: a row total hidden in one and shown in the other, or
//! narrowed by both, gives counts away. More than two tables linked by sums
//! are not covered: protect them as pairs only when no sum links them
//! otherwise, or publish one as a total.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::collections::VecDeque;

/// A two-way table of counts, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    rows: usize,
    cols: usize,
    cells: Vec<u64>,
}

/// Why a table cannot be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeError;

impl std::fmt::Display for ShapeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a table needs at least one row and one column, and rows × columns counts")
    }
}

impl std::error::Error for ShapeError {}

impl Table {
    /// A table of `rows` × `cols` counts given row by row.
    pub fn new(rows: usize, cols: usize, cells: Vec<u64>) -> Result<Self, ShapeError> {
        if rows == 0 || cols == 0 || rows.checked_mul(cols) != Some(cells.len()) {
            return Err(ShapeError);
        }
        Ok(Self { rows, cols, cells })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The count in row `r`, column `c`.
    pub fn cell(&self, r: usize, c: usize) -> u64 {
        self.cells[r * self.cols + c]
    }

    /// The total of row `r`.
    pub fn row_total(&self, r: usize) -> u64 {
        (0..self.cols).map(|c| self.cell(r, c)).sum()
    }

    /// The total of column `c`.
    pub fn col_total(&self, c: usize) -> u64 {
        (0..self.rows).map(|r| self.cell(r, c)).sum()
    }

    /// The grand total.
    pub fn total(&self) -> u64 {
        self.cells.iter().sum()
    }
}

/// A count as published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// The count itself.
    Value(u64),
    /// Below the threshold (`<5`): primary suppression.
    Small,
    /// Hidden so that a small count cannot be worked out: complementary
    /// suppression.
    Suppressed,
}

impl Shown {
    /// Whether the count is hidden.
    pub fn is_hidden(self) -> bool {
        !matches!(self, Self::Value(_))
    }
}

/// One count of a table: a cell or a total.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Quantity {
    /// The cell in row, column.
    Cell(usize, usize),
    /// A row's total.
    RowTotal(usize),
    /// A column's total.
    ColTotal(usize),
    /// The grand total.
    Total,
}

/// A table as published: every count with what is shown of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// Cells, row-major.
    pub cells: Vec<Shown>,
    /// Row totals.
    pub row_totals: Vec<Shown>,
    /// Column totals.
    pub col_totals: Vec<Shown>,
    /// The grand total.
    pub total: Shown,
}

/// The flow network of a table: nodes source 0, sink 1, rows, columns;
/// edges cells (row → column), row totals (source → row), column totals
/// (column → sink) and the grand total (sink → source).
struct Network {
    rows: usize,
    cols: usize,
    /// The columns of the second table of a linked pair (0 for one table).
    cols_b: usize,
    /// Per edge: from, to, flow (the true count).
    edges: Vec<(usize, usize, u64)>,
}

impl Network {
    fn of(t: &Table) -> Self {
        let (rows, cols) = (t.rows, t.cols);
        let row_node = |r: usize| 2 + r;
        let col_node = |c: usize| 2 + rows + c;
        let mut edges = Vec::with_capacity(rows * cols + rows + cols + 1);
        for r in 0..rows {
            for c in 0..cols {
                edges.push((row_node(r), col_node(c), t.cell(r, c)));
            }
        }
        for r in 0..rows {
            edges.push((0, row_node(r), t.row_total(r)));
        }
        for c in 0..cols {
            edges.push((col_node(c), 1, t.col_total(c)));
        }
        edges.push((1, 0, t.total()));
        Self {
            rows,
            cols,
            cols_b: 0,
            edges,
        }
    }

    /// Tables `a` and `b` of the same rows with the same row totals: source
    /// → a's columns → row in → row out → b's columns → sink → source. Edges
    /// in the order a's cells, b's cells, row totals, a's column totals,
    /// b's column totals, grand total.
    fn linked(a: &Table, b: &Table) -> Self {
        let rows = a.rows;
        let (ca, cb) = (a.cols, b.cols);
        let col_a = |c: usize| 2 + c;
        let row_in = |r: usize| 2 + ca + r;
        let row_out = |r: usize| 2 + ca + rows + r;
        let col_b = |c: usize| 2 + ca + 2 * rows + c;
        let mut edges = Vec::with_capacity(rows * (ca + cb) + rows + ca + cb + 1);
        for r in 0..rows {
            for c in 0..ca {
                edges.push((col_a(c), row_in(r), a.cell(r, c)));
            }
        }
        for r in 0..rows {
            for c in 0..cb {
                edges.push((row_out(r), col_b(c), b.cell(r, c)));
            }
        }
        for r in 0..rows {
            edges.push((row_in(r), row_out(r), a.row_total(r)));
        }
        for c in 0..ca {
            edges.push((0, col_a(c), a.col_total(c)));
        }
        for c in 0..cb {
            edges.push((col_b(c), 1, b.col_total(c)));
        }
        edges.push((1, 0, a.total()));
        Self {
            rows,
            cols: ca,
            cols_b: cb,
            edges,
        }
    }

    fn nodes(&self) -> usize {
        if self.cols_b == 0 {
            2 + self.rows + self.cols
        } else {
            2 + self.cols + 2 * self.rows + self.cols_b
        }
    }

    fn quantity(&self, e: usize) -> Quantity {
        let cells = self.rows * self.cols;
        if e < cells {
            Quantity::Cell(e / self.cols, e % self.cols)
        } else if e < cells + self.rows {
            Quantity::RowTotal(e - cells)
        } else if e < cells + self.rows + self.cols {
            Quantity::ColTotal(e - cells - self.rows)
        } else {
            Quantity::Total
        }
    }

    /// The residual network of the hidden edges: from each node, the arcs
    /// `(edge, next node)` along which a consistent table could differ —
    /// forward where the count could be larger, backward where smaller.
    fn residual(&self, shown: &[Shown], threshold: u64) -> Vec<Vec<(usize, usize)>> {
        let mut arcs = vec![Vec::new(); self.nodes()];
        for (e, &(u, v, f)) in self.edges.iter().enumerate() {
            if !shown[e].is_hidden() {
                continue;
            }
            let (lo, hi) = bounds(shown[e], threshold);
            if f < hi {
                arcs[u].push((e, v));
            }
            if f > lo {
                arcs[v].push((e, u));
            }
        }
        arcs
    }

    /// The hidden edges whose count no other consistent table changes: no
    /// residual path closes a cycle through the edge in either direction.
    fn determined(&self, shown: &[Shown], threshold: u64) -> Vec<usize> {
        let arcs = self.residual(shown, threshold);
        (0..self.edges.len())
            .filter(|&e| shown[e].is_hidden())
            .filter(|&e| {
                let (u, v, f) = self.edges[e];
                let (lo, hi) = bounds(shown[e], threshold);
                let up = f < hi && reachable(&arcs, v, u, e);
                let down = f > lo && reachable(&arcs, u, v, e);
                !(up || down)
            })
            .collect()
    }
}

/// Whether `to` can be reached from `from` along `arcs` without edge `skip`.
fn reachable(arcs: &[Vec<(usize, usize)>], from: usize, to: usize, skip: usize) -> bool {
    let mut seen = vec![false; arcs.len()];
    let mut queue = VecDeque::from([from]);
    seen[from] = true;
    while let Some(n) = queue.pop_front() {
        if n == to {
            return true;
        }
        for &(e, m) in &arcs[n] {
            if e != skip && !seen[m] {
                seen[m] = true;
                queue.push_back(m);
            }
        }
    }
    false
}

/// What the reader of a published table knows of a hidden count.
fn bounds(shown: Shown, threshold: u64) -> (u64, u64) {
    match shown {
        Shown::Small => (0, threshold.saturating_sub(1)),
        Shown::Suppressed => (threshold, u64::MAX),
        Shown::Value(v) => (v, v),
    }
}

fn publish(net: &Network, shown: Vec<Shown>) -> Published {
    let cells = net.rows * net.cols;
    Published {
        cells: shown[..cells].to_vec(),
        row_totals: shown[cells..cells + net.rows].to_vec(),
        col_totals: shown[cells + net.rows..cells + net.rows + net.cols].to_vec(),
        total: shown[cells + net.rows + net.cols],
    }
}

fn flatten(p: &Published) -> Vec<Shown> {
    let mut out = p.cells.clone();
    out.extend(&p.row_totals);
    out.extend(&p.col_totals);
    out.push(p.total);
    out
}

/// The hidden counts of `published` that a reader could work out exactly
/// from what it shows (empty when the table is protected). `published` must
/// be a publication of `table`.
pub fn unprotected(table: &Table, published: &Published, threshold: u64) -> Vec<Quantity> {
    let net = Network::of(table);
    net.determined(&flatten(published), threshold)
        .into_iter()
        .map(|e| net.quantity(e))
        .collect()
}

/// Publishes `table` with every count below `threshold` hidden (primary
/// suppression) and as few others as this greedy method finds so that no
/// hidden count can be worked out (complementary suppression).
///
/// Errs with the counts it could not protect, which happens only when even
/// hiding everything leaves one determined — the caller then publishes
/// nothing of the table.
pub fn protect(table: &Table, threshold: u64) -> Result<Published, Vec<Quantity>> {
    let net = Network::of(table);
    let cells = net.rows * net.cols;
    suppress(&net, cells, threshold)
        .map(|shown| publish(&net, shown))
        .map_err(|open| open.into_iter().map(|e| net.quantity(e)).collect())
}

/// Why two tables cannot be linked: other rows, or other row totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotLinked;

impl std::fmt::Display for NotLinked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("linked tables have the same rows and the same row totals")
    }
}

impl std::error::Error for NotLinked {}

fn check_linked(a: &Table, b: &Table) -> Result<(), NotLinked> {
    let same = a.rows == b.rows && (0..a.rows).all(|r| a.row_total(r) == b.row_total(r));
    if same { Ok(()) } else { Err(NotLinked) }
}

/// The two publications of a linked pair out of one list of shown counts
/// (the edge order of [`Network::linked`]); both carry the shared row and
/// grand totals.
fn publish_linked(net: &Network, shown: &[Shown]) -> (Published, Published) {
    let (rows, ca, cb) = (net.rows, net.cols, net.cols_b);
    let a_cells = rows * ca;
    let b_cells = rows * cb;
    let totals = a_cells + b_cells;
    let row_totals = shown[totals..totals + rows].to_vec();
    let col_a = shown[totals + rows..totals + rows + ca].to_vec();
    let col_b = shown[totals + rows + ca..totals + rows + ca + cb].to_vec();
    let total = shown[totals + rows + ca + cb];
    (
        Published {
            cells: shown[..a_cells].to_vec(),
            row_totals: row_totals.clone(),
            col_totals: col_a,
            total,
        },
        Published {
            cells: shown[a_cells..totals].to_vec(),
            row_totals,
            col_totals: col_b,
            total,
        },
    )
}

fn flatten_linked(a: &Published, b: &Published) -> Vec<Shown> {
    let mut out = a.cells.clone();
    out.extend(&b.cells);
    out.extend(&a.row_totals);
    out.extend(&a.col_totals);
    out.extend(&b.col_totals);
    out.push(a.total);
    out
}

/// Publishes two tables of the same rows whose row totals are the same
/// counts (see the module text) so that no hidden count of either can be
/// worked out from both together. The shared row and grand totals are
/// shown, or hidden, alike in both. Errs when the tables are not linked;
/// `Ok(None)` when even hiding everything leaves a count determined (then
/// publish nothing of either).
pub fn protect_linked(
    a: &Table,
    b: &Table,
    threshold: u64,
) -> Result<Option<(Published, Published)>, NotLinked> {
    check_linked(a, b)?;
    let net = Network::linked(a, b);
    let cells = net.rows * (net.cols + net.cols_b);
    Ok(suppress(&net, cells, threshold)
        .ok()
        .map(|shown| publish_linked(&net, &shown)))
}

/// The hidden counts of a linked pair that a reader of both could work out
/// exactly, as (table 0 or 1, quantity); shared totals are named for
/// table 0. Empty when the pair is protected.
pub fn unprotected_linked(
    a: &Table,
    b: &Table,
    published: (&Published, &Published),
    threshold: u64,
) -> Result<Vec<(usize, Quantity)>, NotLinked> {
    check_linked(a, b)?;
    let net = Network::linked(a, b);
    let (rows, ca, cb) = (net.rows, net.cols, net.cols_b);
    let name = |e: usize| {
        let (a_cells, b_cells) = (rows * ca, rows * cb);
        if e < a_cells {
            (0, Quantity::Cell(e / ca, e % ca))
        } else if e < a_cells + b_cells {
            let i = e - a_cells;
            (1, Quantity::Cell(i / cb, i % cb))
        } else if e < a_cells + b_cells + rows {
            (0, Quantity::RowTotal(e - a_cells - b_cells))
        } else if e < a_cells + b_cells + rows + ca {
            (0, Quantity::ColTotal(e - a_cells - b_cells - rows))
        } else if e < a_cells + b_cells + rows + ca + cb {
            (1, Quantity::ColTotal(e - a_cells - b_cells - rows - ca))
        } else {
            (0, Quantity::Total)
        }
    };
    Ok(net
        .determined(&flatten_linked(published.0, published.1), threshold)
        .into_iter()
        .map(name)
        .collect())
}

/// Primary and complementary suppression on `net` (its first `cells` edges
/// are cells, the rest totals): the shown counts, or the edges left
/// determined when nothing more can be hidden.
fn suppress(net: &Network, cells: usize, threshold: u64) -> Result<Vec<Shown>, Vec<usize>> {
    let mut shown: Vec<Shown> = net
        .edges
        .iter()
        .map(|&(_, _, f)| {
            if f < threshold {
                Shown::Small
            } else {
                Shown::Value(f)
            }
        })
        .collect();
    loop {
        let open = net.determined(&shown, threshold);
        if open.is_empty() {
            return Ok(shown);
        }
        // The published count whose hiding leaves the fewest determined,
        // then a cell before a total, then the smallest, then the first.
        let best = (0..shown.len())
            .filter(|&e| !shown[e].is_hidden())
            .map(|e| {
                let mut trial = shown.clone();
                trial[e] = Shown::Suppressed;
                let left = net.determined(&trial, threshold).len();
                (left, e >= cells, net.edges[e].2, e)
            })
            .min();
        match best {
            Some((_, _, _, e)) => shown[e] = Shown::Suppressed,
            None => return Err(open),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lone_small_cell_takes_a_rectangle_with_it() {
        // 2 × 2, one small cell: its row and column totals would give it
        // away, so three more cells go (the rectangle), never the small one
        // alone.
        let t = Table::new(2, 2, vec![3, 10, 12, 20]).unwrap();
        let p = protect(&t, 5).unwrap();
        assert_eq!(p.cells[0], Shown::Small);
        assert!(p.cells.iter().all(|s| s.is_hidden()), "{p:?}");
        assert_eq!(p.total, Shown::Value(45));
        assert!(unprotected(&t, &p, 5).is_empty());
    }

    #[test]
    fn a_table_without_small_counts_is_published_whole() {
        let t = Table::new(2, 3, vec![5, 6, 7, 8, 9, 10]).unwrap();
        let p = protect(&t, 5).unwrap();
        assert!(flatten(&p).iter().all(|s| !s.is_hidden()));
    }

    #[test]
    fn hiding_only_the_small_cell_is_seen_through() {
        let t = Table::new(2, 2, vec![3, 10, 12, 20]).unwrap();
        let naive = Published {
            cells: vec![Shown::Small, Shown::Value(10), Shown::Value(12), Shown::Value(20)],
            row_totals: vec![Shown::Value(13), Shown::Value(32)],
            col_totals: vec![Shown::Value(15), Shown::Value(30)],
            total: Shown::Value(45),
        };
        assert_eq!(unprotected(&t, &naive, 5), vec![Quantity::Cell(0, 0)]);
    }

    #[test]
    fn a_region_sized_table_is_protected() {
        // 20 gemeenten × 5 kinds of sender, many small counts.
        let cells = (0..100u64).map(|i| (i * 7 + 3) % 13).collect();
        let t = Table::new(20, 5, cells).unwrap();
        let p = protect(&t, 5).unwrap();
        assert!(unprotected(&t, &p, 5).is_empty());
        assert_eq!(protect(&t, 5).unwrap(), p, "the same table, the same publication");
    }

    #[test]
    fn shapes_are_checked() {
        assert_eq!(Table::new(0, 2, vec![]), Err(ShapeError));
        assert_eq!(Table::new(2, 2, vec![1, 2, 3]), Err(ShapeError));
    }
}
