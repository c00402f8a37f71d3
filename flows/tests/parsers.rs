//! The parsers against real tool output captured in `tests/data/` (Yosys 0.23, yowasp
//! nextpnr-ecp5 0.11.1; see the first line of each log). Each parse is checked against a second,
//! independent output of the same run: the `stat -json` cells against the log's text `stat`
//! table, the `--report` JSON against the log's utilisation table and `Max frequency` lines.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use systole_flows::nextpnr::{parse_log_fmax, parse_report};
use systole_flows::target::{Family, Target};
use systole_flows::yosys::{parse_stat_json, resources};

fn data(name: &str) -> (PathBuf, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("data").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (path, text)
}

/// The text `stat` table of a Yosys log: `  CELL  COUNT` lines after `Number of cells:`.
fn text_stat(log: &str) -> BTreeMap<String, u64> {
    let start = log.rfind("Number of cells:").unwrap_or(0);
    log[start..]
        .lines()
        .skip(1)
        .map_while(|l| {
            let mut w = l.split_whitespace();
            match (w.next(), w.next(), w.next()) {
                (Some(k), Some(n), None) => n.parse().ok().map(|n| (k.to_string(), n)),
                _ => None,
            }
        })
        .collect()
}

/// nextpnr's utilisation table: `Info: <tab> KIND: USED/ AVAILABLE PCT%`.
fn text_utilisation(log: &str) -> BTreeMap<String, (u64, u64)> {
    log.lines()
        .filter_map(|l| {
            let (kind, rest) = l.strip_prefix("Info:")?.split_once(':')?;
            let (used, rest) = rest.split_once('/')?;
            let avail = rest.split_whitespace().next()?;
            Some((kind.trim().to_string(), (used.trim().parse().ok()?, avail.parse().ok()?)))
        })
        .collect()
}

#[test]
fn yosys_stat_json_matches_the_logs_text_table_and_folds_into_xilinx_units() {
    let (path, json) = data("yosys_stat_xilinx_resnet_tiny_16x16.json");
    let cells = parse_stat_json(&json, &path).unwrap_or_else(|e| panic!("{e}"));
    let (_, log) = data("yosys_xilinx_resnet_tiny_16x16.log");
    let table = text_stat(&log);
    assert!(table.len() > 10, "the log excerpt has no stat table");
    assert_eq!(cells, table);

    // Headline numbers recomputed here from the table: LUT1..6 + SRL (1) + RAM64M (4 LUTs);
    // RAMB18 = half a RAMB36.
    let r = resources(Family::Xilinx7, &cells);
    let luts: u64 = (1..=6).map(|i| table.get(&format!("LUT{i}")).copied().unwrap_or(0)).sum::<u64>()
        + table.get("SRL16E").copied().unwrap_or(0)
        + table.get("SRLC32E").copied().unwrap_or(0)
        + 4 * table.get("RAM64M").copied().unwrap_or(0);
    assert_eq!(r.luts, luts);
    assert_eq!(r.ffs, table.get("FDRE").copied().unwrap_or(0) + table.get("FDSE").copied().unwrap_or(0));
    assert_eq!(r.dsps, table.get("DSP48E1").copied().unwrap_or(0));
    assert_eq!(r.brams, table.get("RAMB18E1").copied().unwrap_or(0) as f64 / 2.0);
    // The 16x16 engine maps more multipliers to DSP48E1 than a Zynq-7020 has: the overflow says so.
    let over = r.overflow(&Target::Xc7z020.capacity());
    assert!(over.iter().any(|o| o.starts_with("DSP")), "{over:?}");
}

#[test]
fn yosys_stat_errors_name_the_tool_the_log_and_what_is_missing() {
    let log = Path::new("work/yosys.log");
    let e = parse_stat_json("{\"modules\": {}}", log).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(e.contains("yosys") && e.contains("work/yosys.log") && e.contains("num_cells_by_type"), "{e}");
    let e = parse_stat_json("Warning: not json", log).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(e.contains("stat -json"), "{e}");
}

#[test]
fn nextpnr_report_matches_the_logs_utilisation_and_fmax() {
    let (path, report) = data("nextpnr_ecp5_uart_rx_report.json");
    let (_, log) = data("nextpnr_ecp5_uart_rx.log");
    let r = parse_report(&report, &log, "nextpnr-ecp5", &path).unwrap_or_else(|e| panic!("{e}"));
    let table = text_utilisation(&log);
    assert!(table.len() > 10, "the log excerpt has no utilisation table");
    for (kind, (used, available)) in &table {
        let got = r.utilisation.get(kind).unwrap_or_else(|| panic!("{kind} missing from the report"));
        assert_eq!((got.used, got.available), (*used, *available), "{kind}");
    }
    // The log prints the achieved Fmax rounded to 2 decimals; its last line is the routed one.
    let from_log = parse_log_fmax(&log);
    let fmax = r.fmax_mhz().unwrap_or(0.0);
    let logged = from_log.values().next().map_or(0.0, |c| c.achieved_mhz);
    assert!(fmax > 0.0 && (fmax - logged).abs() < 0.01, "report {fmax} MHz, log {logged} MHz");
    assert_eq!(r.fmax.values().next().map(|c| c.constraint_mhz), Some(100.0));
    let res = r.resources(Family::Ecp5);
    assert_eq!((res.luts, res.ffs), (table["TRELLIS_COMB"].0, table["TRELLIS_FF"].0));
}

#[test]
fn nextpnr_fmax_falls_back_to_the_log_and_errors_name_what_is_missing() {
    let (_, log) = data("nextpnr_ecp5_uart_rx.log");
    let no_fmax = "{\"utilization\": {\"TRELLIS_FF\": {\"used\": 1, \"available\": 2}}}";
    let r = parse_report(no_fmax, &log, "nextpnr-ecp5", Path::new("p.log")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.fmax, parse_log_fmax(&log));
    assert!(r.fmax_mhz().is_some());
    let e = parse_report("{}", "", "nextpnr-ecp5", Path::new("w/nextpnr-ecp5.log")).err().map(|e| e.to_string());
    let e = e.unwrap_or_default();
    assert!(e.contains("nextpnr-ecp5") && e.contains("w/nextpnr-ecp5.log") && e.contains("utilization"), "{e}");
}

#[test]
fn ecp5_stat_counts_luts_with_carry_halves() {
    let (path, json) = data("yosys_stat_ecp5_uart_rx.json");
    let cells = parse_stat_json(&json, &path).unwrap_or_else(|e| panic!("{e}"));
    let r = resources(Family::Ecp5, &cells);
    let get = |k: &str| cells.get(k).copied().unwrap_or(0);
    assert!(get("LUT4") > 0 && get("TRELLIS_FF") > 0, "{cells:?}");
    assert_eq!(r.luts, get("LUT4") + 2 * get("CCU2C") + 4 * get("TRELLIS_DPR16X4"));
    assert_eq!(r.ffs, get("TRELLIS_FF"));
}
