//! `schakel region stats`: a region's numbers for its regional partners
//! (R13, R17) — a readable table on a terminal, CSV (one row per count, with
//! whether it is shown) for the effectrapportage, or JSON.

use clap::Args;
use schakel_client::Hub;
use schakel_proto::v1 as pb;
use serde_json::{Value, json};

use crate::output::Out;

/// `schakel region stats`.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// A school year (2026/27: 1 August to 31 July) or a calendar quarter
    /// (2026-Q3). Other date ranges are not given (R17).
    #[arg(long)]
    period: String,
    /// One CSV row per count, with a column saying whether it is shown:
    /// for the effectrapportage.
    #[arg(long)]
    csv: bool,
}

/// What a published count shows: the number, `<5` or `x` (hidden to
/// protect another).
fn shown(c: Option<&pb::Count>, threshold: u64) -> String {
    match c.map(|c| (pb::CellStatus::try_from(c.status), c.value)) {
        Some((Ok(pb::CellStatus::Shown), v)) => v.to_string(),
        Some((Ok(pb::CellStatus::Small), _)) => format!("<{threshold}"),
        _ => "x".to_owned(),
    }
}

fn status(c: Option<&pb::Count>) -> &'static str {
    match c.map(|c| pb::CellStatus::try_from(c.status)) {
        Some(Ok(pb::CellStatus::Shown)) => "shown",
        Some(Ok(pb::CellStatus::Small)) => "small",
        _ => "suppressed",
    }
}

fn count_json(c: Option<&pb::Count>) -> Value {
    match c.map(|c| (pb::CellStatus::try_from(c.status), c.value)) {
        Some((Ok(pb::CellStatus::Shown), v)) => json!({"status": "shown", "value": v}),
        _ => json!({"status": status(c)}),
    }
}

/// A CSV field, quoted when it needs to be.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// Runs `region stats`.
pub async fn stats(hub: &Hub, a: StatsArgs, out: &mut Out) -> Result<(), tonic::Status> {
    let r = hub
        .region()
        .get_regional_numbers(pb::GetRegionalNumbersRequest { period: a.period })
        .await?
        .into_inner();
    let t = r.threshold;
    if out.is_json() {
        out.set(json!({
            "region_code": r.region_code,
            "region_name": r.region_name,
            "period": r.period,
            "first_day": crate::render::date(&r.first_day),
            "last_day": crate::render::date(&r.last_day),
            "provisional": r.provisional,
            "threshold": t,
            "tables": r.tables.iter().map(|tb| json!({
                "measure": tb.measure,
                "title": tb.title,
                "columns": tb.columns,
                "rows": tb.rows.iter().map(|row| json!({
                    "gemeentecode": row.gemeentecode,
                    "name": row.name,
                    "cells": row.cells.iter().map(|c| count_json(Some(c))).collect::<Vec<_>>(),
                    "total": count_json(row.total.as_ref()),
                })).collect::<Vec<_>>(),
                "column_totals": tb.column_totals.iter().map(|c| count_json(Some(c))).collect::<Vec<_>>(),
                "total": count_json(tb.total.as_ref()),
            })).collect::<Vec<_>>(),
            "refusal_shares": r.refusal_shares.iter().map(|s| json!({
                "gemeentecode": s.gemeentecode,
                "share": s.shown.then_some(s.share),
            })).collect::<Vec<_>>(),
        }));
        return Ok(());
    }
    if a.csv {
        outln!("region,period,provisional,measure,gemeentecode,gemeente,column,value,status");
        for tb in &r.tables {
            let line = |code: &str, name: &str, column: &str, c: Option<&pb::Count>| {
                let value = match c.map(|c| (pb::CellStatus::try_from(c.status), c.value)) {
                    Some((Ok(pb::CellStatus::Shown), v)) => v.to_string(),
                    _ => String::new(),
                };
                outln!(
                    "{},{},{},{},{},{},{},{},{}",
                    csv_field(&r.region_code),
                    csv_field(&r.period),
                    r.provisional,
                    csv_field(&tb.measure),
                    csv_field(code),
                    csv_field(name),
                    csv_field(column),
                    value,
                    status(c)
                );
            };
            for row in &tb.rows {
                for (col, c) in tb.columns.iter().zip(&row.cells) {
                    line(&row.gemeentecode, &row.name, col, Some(c));
                }
                line(&row.gemeentecode, &row.name, "total", row.total.as_ref());
            }
            for (col, c) in tb.columns.iter().zip(&tb.column_totals) {
                line("", "all gemeenten", col, Some(c));
            }
            line("", "all gemeenten", "total", tb.total.as_ref());
        }
        return Ok(());
    }
    outln!(
        "{} {} — {} ({} to {}){}",
        r.region_code,
        r.region_name,
        r.period,
        r.first_day
            .as_ref()
            .map(crate::render::date_text)
            .unwrap_or_default(),
        r.last_day
            .as_ref()
            .map(crate::render::date_text)
            .unwrap_or_default(),
        if r.provisional {
            ", provisional: the period is still running"
        } else {
            ""
        }
    );
    outln!("<{t}: fewer than {t}; x: hidden so that a small count cannot be worked out");
    for tb in &r.tables {
        outln!();
        outln!("{}", tb.title);
        let mut header = format!("{:<32}", "gemeente");
        for c in &tb.columns {
            header.push_str(&format!(" {c:>14}"));
        }
        header.push_str(&format!(" {:>8}", "total"));
        outln!("{header}");
        let print = |label: &str, cells: Vec<Option<&pb::Count>>, total: Option<&pb::Count>| {
            let mut line = format!("{label:<32}");
            for c in cells {
                line.push_str(&format!(" {:>14}", shown(c, t)));
            }
            line.push_str(&format!(" {:>8}", shown(total, t)));
            outln!("{line}");
        };
        for row in &tb.rows {
            let label = format!("{} {}", row.gemeentecode, row.name);
            print(&label, row.cells.iter().map(Some).collect(), row.total.as_ref());
        }
        print(
            "all gemeenten",
            tb.column_totals.iter().map(Some).collect(),
            tb.total.as_ref(),
        );
    }
    if !r.refusal_shares.is_empty() {
        outln!();
        outln!("Refusals among consent decisions (R13)");
        for s in &r.refusal_shares {
            let share = if s.shown {
                format!("{:.0}%", s.share * 100.0)
            } else {
                "x".to_owned()
            };
            outln!("{:<32} {share:>14}", s.gemeentecode);
        }
    }
    Ok(())
}
